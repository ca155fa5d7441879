"""The timeline strip: 0 … duration, a tick for every sampled frame, a numbered marker per cited time.

Cited times are placed proportionally (`TimelineGeometry.x_of`); a time past the end is pinned to the
end. Badges of markers that would overlap are stacked. An answered span (temporal QA: two or more
times in the answer) is shaded on the axis. Key frames (inserted annotated frames) get taller ticks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from o3video.viz.fonts import SMALL, Font, font
from o3video.viz.palette import BACKGROUND, MUTED, RGB, text_color_on, tint
from o3video.viz.segments import format_time

SIDE = 36  # room left and right of the axis for the end labels
BADGE = 16  # marker number badge, square side
TOP = 6
AXIS_HALF = 4
MARKER_W = 3
SCALE_ROOM = 40  # ticks and labels under the axis
SPAN_FILL: RGB = (190, 215, 245)
AXIS_FILL: RGB = (235, 235, 235)
TICK: RGB = (150, 150, 150)
KEY_TICK: RGB = (60, 60, 60)


@dataclass(frozen=True)
class Marker:
    time: float
    color: RGB
    number: int | None = None  # badge text; None for a time cited outside a claim
    faded: bool = False


@dataclass(frozen=True)
class TimelineGeometry:
    """Where the axis lies inside the strip (strip coordinates); `x_of` maps seconds to x."""

    width: int
    height: int
    span: float
    axis_y: int

    @property
    def x0(self) -> int:
        return SIDE

    @property
    def x1(self) -> int:
        return self.width - SIDE

    def x_of(self, time: float) -> float:
        fraction = min(max(time / self.span, 0.0), 1.0) if self.span > 0 else 0.0
        return self.x0 + fraction * (self.x1 - self.x0)


def nice_step(span: float, target: int = 6) -> float:
    """A round label spacing (1, 2 or 5 × 10^k) giving about `target` labels over `span`."""
    raw = span / max(1, target)
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))


def _badge_levels(xs: Sequence[float]) -> list[int]:
    """Stack badges whose x positions would overlap: level 0 is nearest the axis."""
    levels: list[int] = []
    rows: list[list[float]] = []
    for x in xs:
        level = next((i for i, row in enumerate(rows) if all(abs(x - o) > BADGE + 2 for o in row)), len(rows))
        if level == len(rows):
            rows.append([])
        rows[level].append(x)
        levels.append(level)
    return levels


def draw_timeline(
    width: int,
    span: float,
    frame_times: Sequence[float],
    markers: Sequence[Marker],
    *,
    key_frames: Sequence[bool] = (),
    answer_span: tuple[float, float] | None = None,
) -> tuple[Image.Image, TimelineGeometry]:
    """The strip as an image `width` px wide, and its geometry."""
    # emphasised markers drawn last, claims over loose times
    ordered = sorted(markers, key=lambda m: (not m.faded, m.number is not None, m.time))
    probe = TimelineGeometry(width, 0, span, 0)
    numbered = _badge_levels([probe.x_of(m.time) for m in ordered if m.number is not None])
    levels = [numbered.pop(0) if m.number is not None else 0 for m in ordered]
    axis_y = TOP + (max(levels, default=0) + 1) * (BADGE + 2) + 4 + AXIS_HALF
    geometry = TimelineGeometry(width, axis_y + AXIS_HALF + SCALE_ROOM, span, axis_y)
    image = Image.new("RGB", (width, geometry.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    f = font(SMALL)
    top, bottom = axis_y - AXIS_HALF, axis_y + AXIS_HALF
    draw.rectangle((geometry.x0, top, geometry.x1, bottom), fill=AXIS_FILL, outline=(200, 200, 200))
    if answer_span is not None:
        a, b = sorted(answer_span)
        draw.rectangle((round(geometry.x_of(a)), top, round(geometry.x_of(b)), bottom), fill=SPAN_FILL)
    for i, t in enumerate(frame_times):
        x = round(geometry.x_of(t))
        is_key = i < len(key_frames) and key_frames[i]
        draw.line((x, bottom + 2, x, bottom + (12 if is_key else 8)), fill=KEY_TICK if is_key else TICK)
    _draw_scale(draw, geometry, f)
    for marker, level in zip(ordered, levels):  # all bars first, so no bar crosses another marker's badge
        _draw_bar(draw, geometry, marker, level)
    for marker, level in zip(ordered, levels):
        _draw_badge(draw, geometry, marker, level, f)
    return image, geometry


def _draw_scale(draw: ImageDraw.ImageDraw, geometry: TimelineGeometry, f: Font) -> None:
    y = geometry.axis_y + AXIS_HALF + 16
    if geometry.span <= 0:
        draw.text((geometry.x0, y), "0 s", font=f, fill=MUTED, anchor="ma")
        return
    step = nice_step(geometry.span)
    count = int(geometry.span / step + 1e-9)
    for k in range(count + 1):
        draw.text((geometry.x_of(k * step), y), f"{format_time(k * step)} s", font=f, fill=MUTED, anchor="ma")
    if geometry.span - count * step > 0.35 * step:  # label the exact end unless a label is already near it
        draw.text((geometry.x1, y), f"{format_time(geometry.span)} s", font=f, fill=MUTED, anchor="ma")


def _marker_color(marker: Marker) -> RGB:
    return tint(marker.color, 0.35) if marker.faded else marker.color


def _badge_bottom(geometry: TimelineGeometry, level: int) -> int:
    return geometry.axis_y - AXIS_HALF - 4 - level * (BADGE + 2)


def _draw_bar(draw: ImageDraw.ImageDraw, geometry: TimelineGeometry, marker: Marker, level: int) -> None:
    x, half = round(geometry.x_of(marker.time)), MARKER_W // 2
    top = _badge_bottom(geometry, level) if marker.number is not None else geometry.axis_y - AXIS_HALF - 10
    draw.rectangle((x - half, top, x + half, geometry.axis_y + AXIS_HALF + 2), fill=_marker_color(marker))


def _draw_badge(draw: ImageDraw.ImageDraw, geometry: TimelineGeometry, marker: Marker, level: int, f: Font) -> None:
    if marker.number is None:
        return
    x, bottom, color = round(geometry.x_of(marker.time)), _badge_bottom(geometry, level), _marker_color(marker)
    draw.rectangle((x - BADGE // 2, bottom - BADGE, x + BADGE // 2, bottom), fill=color)
    draw.text((x, bottom - BADGE // 2), str(marker.number), font=f, fill=text_color_on(color), anchor="mm")
