"""The pictures' font at a given size: the first installed of a few well-kept fonts that cover accented letters
(and CJK), found where Pillow looks for fonts (`/usr/share/fonts` on Debian: `fonts-noto-cjk`,
`fonts-dejavu-core`), else Pillow's bundled default (Latin letters only). Emoji have no glyph in any of them
and are drawn as boxes."""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

TITLE = 20
BODY = 16
CAPTION = 14
SMALL = 13


# In order of preference: Noto Sans CJK covers Latin, Greek, Cyrillic and CJK; DejaVu Sans all but CJK.
FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "DejaVuSans.ttf")


@lru_cache(maxsize=None)
def font(size: int) -> Font:
    """The first installed of `FONT_FILES` at `size` px, else Pillow's default font (its fixed bitmap font
    when FreeType is not available)."""
    for name in FONT_FILES:
        try:
            return ImageFont.truetype(name, size)
        except (ImportError, OSError):  # not installed, or Pillow built without FreeType
            continue
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
