"""Pictures that set answers against the truth: labelled boxes on one frame (a ground-truth box and the
predicted ones, or a sample's key items), and spans on one time axis (the ground-truth span and each
predicted span), each in its own colour.

Boxes are in pixels of the image they are drawn on; they are clipped to it and outlined like the
evidence pictures' claims (`frame_drawing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from o3video.geometry import clamp_box
from o3video.viz.fonts import CAPTION, SMALL, font
from o3video.viz.frame_drawing import (
    CONTOUR,
    LINE,
    display_rect,
    fit_scale,
    scaled_frame,
)
from o3video.viz.palette import BACKGROUND, INK, MUTED, RGB, RULE, text_color_on
from o3video.viz.segments import format_time

TRUTH: RGB = (77, 175, 74)  # ground truth: green
PREDICTED: tuple[RGB, ...] = ((228, 26, 28), (55, 126, 184))  # chain 1 red, chain 2 blue
ROW = 26
LABEL_WIDTH = 150
SIDE = 24


@dataclass(frozen=True)
class LabelledBox:
    label: str
    box: Sequence[float]  # x1, y1, x2, y2 in pixels of the image it is drawn on
    color: RGB


@dataclass(frozen=True)
class LabelledSpan:
    label: str
    span: Sequence[float] | None  # [start, end] seconds; None or [] when there is none
    color: RGB


def draw_boxes(image: Image.Image, boxes: Sequence[LabelledBox], *,
               max_size: tuple[int, int] = (480, 360)) -> Image.Image:
    """`image` scaled to fit `max_size` with each box outlined in its colour and tagged with its label."""
    scale = fit_scale(image.size, *max_size)
    out = scaled_frame(image, scale)
    draw = ImageDraw.Draw(out)
    f = font(CAPTION)
    for item in boxes:
        cx0, cy0, cx1, cy1 = clamp_box(item.box, image.size)
        if cx1 <= cx0 or cy1 <= cy0:  # wholly outside the frame
            continue
        x0, y0, x1, y1 = display_rect((cx0, cy0, cx1, cy1), scale)
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=CONTOUR, width=1)
        draw.rectangle((x0, y0, x1, y1), outline=item.color, width=LINE)
        left, top, right, bottom = draw.textbbox((0, 0), item.label, font=f)
        ty = y0 - bottom - 2 if y0 - bottom - 2 >= 0 else min(y1 + 2, out.height - bottom)
        draw.rectangle((x0, ty, x0 + right - left + 4, ty + bottom), fill=item.color)
        draw.text((x0 + 2, ty), item.label, font=f, fill=text_color_on(item.color))
    return out


def span_x(span_seconds: float, duration: float, width: int) -> float:
    """x of a time on the span picture's axis (`draw_spans` of the same `duration` and `width`)."""
    left, right = LABEL_WIDTH, width - SIDE
    fraction = min(max(span_seconds / duration, 0.0), 1.0) if duration > 0 else 0.0
    return left + fraction * (right - left)


def span_row_y(row: int) -> int:
    """Middle y of row `row` of the span picture."""
    return row * ROW + ROW // 2


def draw_spans(spans: Sequence[LabelledSpan], duration: float, *, width: int = 720) -> Image.Image:
    """One row per span on a shared axis 0 … `duration` s (a bar from start to end, "no span" when absent),
    with a scale underneath."""
    height = ROW * len(spans) + 24
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    f = font(SMALL)
    for row, item in enumerate(spans):
        y = span_row_y(row)
        draw.text((4, y - 8), item.label, font=f, fill=INK)
        draw.line((span_x(0, duration, width), y, span_x(duration, duration, width), y), fill=RULE, width=1)
        if item.span and len(item.span) == 2:
            start, end = sorted(float(v) for v in item.span)
            x0, x1 = span_x(start, duration, width), span_x(end, duration, width)
            draw.rectangle((x0, y - 7, max(x1, x0 + 2), y + 7), fill=item.color)
        else:
            draw.text((span_x(0, duration, width) + 4, y - 8), "no span", font=f, fill=MUTED)
    axis = ROW * len(spans) + 4
    for tick in range(6):
        seconds = duration * tick / 5
        x = span_x(seconds, duration, width)
        draw.line((x, axis, x, axis + 4), fill=MUTED)
        draw.text((x - 8, axis + 6), f"{format_time(seconds)} s", font=f, fill=MUTED)
    return image


__all__ = ["PREDICTED", "TRUTH", "LabelledBox", "LabelledSpan", "draw_boxes", "draw_spans", "span_row_y", "span_x"]
