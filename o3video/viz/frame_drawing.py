"""A frame scaled for display with one claim's boxes outlined in the claim's colour and labelled.

Boxes are in pixels of the frame as the model saw it (`frame.image`); they are clipped to the frame,
drawn with a thin dark contour so they stay visible on light and dark video, and the first box gets a
tag `name @ T s` placed just outside it (above, else below, else inside), kept within the frame.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from o3video.viz.fonts import CAPTION, font
from o3video.viz.palette import RGB, text_color_on
from o3video.viz.shown_claims import EvidenceItem

LINE = 3  # box outline width, display pixels
CONTOUR: RGB = (20, 20, 20)
TAG_PAD = 3


def fit_scale(size: tuple[int, int], max_width: int, max_height: int) -> float:
    """Largest scale at which an image of `size` fits in `max_width` × `max_height`."""
    w, h = size
    return min(max_width / w, max_height / h)


def scaled_frame(image: Image.Image, scale: float) -> Image.Image:
    w, h = image.size
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    rgb = image.convert("RGB")
    return rgb if size == rgb.size else rgb.resize(size, Image.Resampling.BICUBIC)


def display_rect(box: tuple[float, float, float, float], scale: float) -> tuple[int, int, int, int]:
    """Outer pixel rectangle (inclusive) of a model-input box once the frame is scaled by `scale`."""
    x1, y1, x2, y2 = box
    return round(x1 * scale), round(y1 * scale), max(round(x1 * scale), round(x2 * scale) - 1), max(
        round(y1 * scale), round(y2 * scale) - 1
    )


def _tag_position(rect: tuple[int, int, int, int], tag: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    (x0, y0, _, y1), (tw, th), (w, h) = rect, tag, size
    x = min(max(x0 - LINE // 2, 0), max(0, w - tw))
    if y0 - 1 - th >= 0:
        return x, y0 - 1 - th
    if y1 + 2 + th <= h:
        return x, y1 + 2
    return x, y0 + LINE + 1


def draw_claim(image: Image.Image, item: EvidenceItem, scale: float, *, emphasis: bool = True) -> Image.Image:
    """`image` scaled by `scale` with `item`'s boxes and label drawn on it."""
    out = scaled_frame(image, scale)
    draw = ImageDraw.Draw(out)
    drawn = [b.drawn for b in item.boxes if b.drawn is not None]
    width = LINE if emphasis else 2
    for box in drawn:
        x0, y0, x1, y1 = display_rect(box, scale)
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=CONTOUR, width=1)
        draw.rectangle((x0, y0, x1, y1), outline=item.color, width=width)
    if drawn:
        f = font(CAPTION)
        left, top, right, bottom = draw.textbbox((0, 0), item.label, font=f)
        tag = (right - left + 2 * TAG_PAD, bottom + TAG_PAD)
        x, y = _tag_position(display_rect(drawn[0], scale), tag, out.size)
        draw.rectangle((x, y, x + tag[0] - 1, y + tag[1] - 1), fill=item.color)
        draw.text((x + TAG_PAD, y + TAG_PAD // 2), item.label, font=f, fill=text_color_on(item.color))
    return out
