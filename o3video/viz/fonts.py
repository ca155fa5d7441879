"""Pillow's bundled default font at a given size (no font files, no downloads)."""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

TITLE = 20
BODY = 16
CAPTION = 14
SMALL = 13


@lru_cache(maxsize=None)
def font(size: int) -> Font:
    """The default font at `size` px; Pillow's fixed bitmap font when FreeType is not available."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):  # Pillow built without FreeType
        return ImageFont.load_default()


def line_height(f: Font, leading: int = 6) -> int:
    """Distance between baselines of consecutive lines."""
    if isinstance(f, ImageFont.FreeTypeFont):
        ascent, descent = f.getmetrics()
        return ascent + descent + leading
    return f.getbbox("Ag")[3] + leading
