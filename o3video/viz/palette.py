"""Colours for grounded objects: one distinct colour per object name, reused for its boxes,
its timeline markers and its highlighted mentions in the reasoning text."""

from __future__ import annotations

import colorsys
from collections.abc import Iterable

RGB = tuple[int, int, int]

# ColorBrewer Set1 (yellow darkened so labels stay legible on white): saturated, mutually distinct,
# and none of them grey, so they stand out on both video frames and the white page.
_BASE: tuple[RGB, ...] = (
    (228, 26, 28),
    (55, 126, 184),
    (77, 175, 74),
    (152, 78, 163),
    (255, 127, 0),
    (166, 86, 40),
    (247, 129, 191),
    (0, 160, 160),
    (190, 170, 0),
)
_GOLDEN = 0.618033988749895

BACKGROUND: RGB = (255, 255, 255)
INK: RGB = (30, 30, 30)
MUTED: RGB = (110, 110, 110)
RULE: RGB = (220, 220, 220)
NEUTRAL_MARK: RGB = (80, 80, 80)  # times cited outside a claim
WARNING: RGB = (180, 80, 0)


def object_key(name: str) -> str:
    """Names that differ only in case or spacing are the same object (`Red  Car` = `red car`)."""
    return " ".join(name.lower().split())


def nth_color(index: int) -> RGB:
    """The palette colour `index`; past the base palette, hues spaced by the golden ratio."""
    if index < len(_BASE):
        return _BASE[index]
    hue = (index * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.8, 0.85)
    return round(r * 255), round(g * 255), round(b * 255)


def assign_colors(names: Iterable[str]) -> dict[str, RGB]:
    """Object key -> colour, in order of first appearance."""
    colors: dict[str, RGB] = {}
    for name in names:
        key = object_key(name)
        if key not in colors:
            colors[key] = nth_color(len(colors))
    return colors


def hex_color(color: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def tint(color: RGB, strength: float) -> RGB:
    """`color` blended with white; `strength` 1 is the colour itself, 0 is white."""
    return tuple(round(255 + (c - 255) * strength) for c in color)  # type: ignore[return-value]


def text_color_on(color: RGB) -> RGB:
    """Black or white, whichever reads better on `color` (relative luminance threshold)."""
    r, g, b = (c / 255 for c in color)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return (0, 0, 0) if luminance > 0.55 else (255, 255, 255)
