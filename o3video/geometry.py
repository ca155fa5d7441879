"""Boxes, coordinate spaces, IoU and temporal IoU. Pure Python, no heavy dependencies.

A box is `[x_min, y_min, x_max, y_max]` unless its `BoxFormat` says otherwise. Sizes are `(W, H)`.
Scores never reward degenerate input: a reversed, zero-area, non-finite or wrong-length box or span
scores 0. Conversions, which must not silently produce coordinates, raise `GeometryError` instead, also
when a result would not fit a finite float. An int too large for a float counts as non-finite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

Size = tuple[float, float]

# The per-frame pixel budget of a model input (the paper's: 128 tokens of 28x28 pixels), read by Qwen-VL's
# resize rule (`o3video.video.resize`). Here, with no heavy imports, so CLI defaults and configs can name it.
MAX_PIXELS = 128 * 28 * 28
MIN_PIXELS = 4 * 28 * 28


class GeometryError(ValueError):
    """A box, span or size that cannot be converted (wrong length, non-finite, non-positive size)."""


class BoxFormat(StrEnum):
    XYXY_NORM = "xyxy_norm"  # corners normalised to [0, 1] (Gemini-annotated sources, STGR key_items)
    XYXY_1000 = "xyxy_1000"  # corners on a 0–1000 scale
    CXCYWH_1000 = "cxcywh_1000"  # centre and size on a 0–1000 scale (VideoEspresso)
    XYXY_PIXELS = "xyxy_px"  # absolute pixels of a given frame size


class BoxConvention(StrEnum):
    """How a model writes the boxes it answers (docs/design.md §4b): a property of the model family, not of the data.

    Qwen2.5-VL (and Open-o3 Video) answers absolute pixels of its resized input frame; Qwen3-VL answers
    corners on a 0–1000 scale of the image. Both are xyxy; `convention_to_pixels` / `pixels_to_convention`
    move between a convention and the input frame's pixels."""

    PIXELS = "pixels"
    RELATIVE_1000 = "relative_1000"

    @property
    def box_format(self) -> BoxFormat:
        return BoxFormat.XYXY_PIXELS if self is BoxConvention.PIXELS else BoxFormat.XYXY_1000

    @property
    def description(self) -> str:
        """How tables and captions name it: `model-input px` or `0-1000`."""
        return "model-input px" if self is BoxConvention.PIXELS else "0-1000"


# How each model family (a config's `model_type`) writes the boxes it answers (docs/design.md §4b).
FAMILY_BOX_CONVENTIONS: dict[str, BoxConvention] = {
    "qwen2_vl": BoxConvention.PIXELS,
    "qwen2_5_vl": BoxConvention.PIXELS,
    "qwen3_vl": BoxConvention.RELATIVE_1000,
    "qwen3_vl_moe": BoxConvention.RELATIVE_1000,
}


# The choices of `--box-convention` and of the training config's `box_convention`: `auto` reads the model.
AUTO_CONVENTION = "auto"
CONVENTION_CHOICES = (AUTO_CONVENTION, *(c.value for c in BoxConvention))
CONVENTION_HELP = ("how the model writes boxes: auto (from its config: Qwen2/2.5-VL pixels of the input frame, "
                   "Qwen3-VL 0-1000), pixels, or relative_1000")


def finite_float(value: object) -> float | None:
    """`value` as a finite float, or None: not a number, NaN, ±inf, or an int too large for a float
    (`float(10**400)` raises OverflowError, not ValueError)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _finite(values: object, length: int) -> tuple[float, ...] | None:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != length:
        return None
    out = tuple(finite_float(v) for v in values)
    return None if None in out else out  # type: ignore[return-value]


def _converted(values: list[float], box: object, *sizes: object) -> list[float]:
    """A conversion's result, checked: huge finite input can overflow to ±inf on the way."""
    if not all(math.isfinite(v) for v in values):
        raise GeometryError(f"box {box!r} converted with size(s) {sizes!r} does not fit finite numbers")
    return values


def check_box(box: object) -> tuple[float, float, float, float]:
    """The box as 4 finite floats, or GeometryError saying what is wrong with it."""
    values = _finite(box, 4)
    if values is None:
        raise GeometryError(f"box {box!r} is not 4 finite numbers")
    return values  # type: ignore[return-value]


def check_size(size: object) -> Size:
    values = _finite(size, 2)
    if values is None or values[0] <= 0 or values[1] <= 0:
        raise GeometryError(f"frame size {size!r} is not two positive numbers (W, H)")
    return values  # type: ignore[return-value]


def box_area(box: object) -> float:
    """Area of an xyxy box; 0 for reversed, empty or invalid boxes."""
    values = _finite(box, 4)
    if values is None:
        return 0.0
    x1, y1, x2, y2 = values
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)


def box_iou(a: object, b: object) -> float:
    """Intersection over union of two xyxy boxes in the same space; 0 when either is degenerate."""
    area_a, area_b = box_area(a), box_area(b)
    if area_a <= 0.0 or area_b <= 0.0:
        return 0.0
    ax1, ay1, ax2, ay2 = _finite(a, 4)  # type: ignore[misc]
    bx1, by1, bx2, by2 = _finite(b, 4)  # type: ignore[misc]
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = area_a + area_b - inter
    return min(1.0, inter / union) if union > 0 else 0.0


def temporal_iou(a: object, b: object) -> float:
    """IoU of two spans `[start, end]` in seconds; 0 when either is reversed, empty or invalid."""
    sa, sb = _finite(a, 2), _finite(b, 2)
    if sa is None or sb is None or sa[1] <= sa[0] or sb[1] <= sb[0]:
        return 0.0
    inter = max(0.0, min(sa[1], sb[1]) - max(sa[0], sb[0]))
    union = max(sa[1], sb[1]) - min(sa[0], sb[0])
    return min(1.0, inter / union) if union > 0 else 0.0


def to_pixels(box: object, fmt: BoxFormat | str, size: object) -> list[float]:
    """Convert a box in `fmt` to xyxy pixels of a frame of `size` = (W, H)."""
    x1, y1, x2, y2 = check_box(box)
    w, h = check_size(size)
    return _converted(_to_pixels(x1, y1, x2, y2, BoxFormat(fmt), w, h), box, size)


def _to_pixels(x1: float, y1: float, x2: float, y2: float, fmt: BoxFormat, w: float, h: float) -> list[float]:
    if fmt is BoxFormat.XYXY_PIXELS:
        return [x1, y1, x2, y2]
    if fmt is BoxFormat.XYXY_NORM:
        return [x1 * w, y1 * h, x2 * w, y2 * h]
    if fmt is BoxFormat.XYXY_1000:
        return [x1 * w / 1000, y1 * h / 1000, x2 * w / 1000, y2 * h / 1000]
    cx, cy, bw, bh = x1 * w / 1000, y1 * h / 1000, x2 * w / 1000, y2 * h / 1000
    return [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]


def from_pixels(box: object, fmt: BoxFormat | str, size: object) -> list[float]:
    """Convert an xyxy pixel box of a frame of `size` to `fmt` (the inverse of `to_pixels`)."""
    x1, y1, x2, y2 = check_box(box)
    w, h = check_size(size)
    return _converted(_from_pixels(x1, y1, x2, y2, BoxFormat(fmt), w, h), box, size)


def _from_pixels(x1: float, y1: float, x2: float, y2: float, fmt: BoxFormat, w: float, h: float) -> list[float]:
    if fmt is BoxFormat.XYXY_PIXELS:
        return [x1, y1, x2, y2]
    if fmt is BoxFormat.XYXY_NORM:
        return [x1 / w, y1 / h, x2 / w, y2 / h]
    if fmt is BoxFormat.XYXY_1000:
        return [x1 * 1000 / w, y1 * 1000 / h, x2 * 1000 / w, y2 * 1000 / h]
    return [(x1 + x2) / 2 * 1000 / w, (y1 + y2) / 2 * 1000 / h, (x2 - x1) * 1000 / w, (y2 - y1) * 1000 / h]


def convention_to_pixels(box: object, convention: BoxConvention | str, input_size: object) -> list[float]:
    """A box a model answered in `convention` as xyxy pixels of its input frame of `input_size` = (W, H)."""
    return to_pixels(box, BoxConvention(convention).box_format, input_size)


def pixels_to_convention(box: object, convention: BoxConvention | str, input_size: object) -> list[float]:
    """An xyxy pixel box of the input frame of `input_size` as a model of `convention` writes it."""
    return from_pixels(box, BoxConvention(convention).box_format, input_size)


def rescale_box(box: object, from_size: object, to_size: object) -> list[float]:
    """Map an xyxy pixel box from a frame of `from_size` to the same place in a frame of `to_size`."""
    x1, y1, x2, y2 = check_box(box)
    fw, fh = check_size(from_size)
    tw, th = check_size(to_size)
    sx, sy = tw / fw, th / fh
    return _converted([x1 * sx, y1 * sy, x2 * sx, y2 * sy], box, from_size, to_size)


def clamp_box(box: object, size: object) -> list[float]:
    """Clip an xyxy pixel box to the frame `[0, W] × [0, H]` (the result may be empty)."""
    x1, y1, x2, y2 = check_box(box)
    w, h = check_size(size)
    return [min(max(x1, 0.0), w), min(max(y1, 0.0), h), min(max(x2, 0.0), w), min(max(y2, 0.0), h)]
