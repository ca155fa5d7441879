"""Word-wrapped text made of styled segments, drawn with Pillow.

Object mentions get a light tint of their object's colour behind them and a solid underline in that
colour, times tied to an object get the tint, boxes are grey: the reader can follow each mention to
the box of the same colour. Used for the reasoning, the answer and plain captions alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from o3video.viz.fonts import Font, line_height
from o3video.viz.palette import BACKGROUND, INK, MUTED, RGB, tint
from o3video.viz.segments import Kind, Segment

UNDERLINE = 2
_TOKEN_RE = re.compile(r"\n|[^\S\n]+|[^\s]+")
NEUTRAL_TINT: RGB = (228, 228, 228)


@dataclass(frozen=True)
class Run:
    """A piece of one segment placed on one line."""

    text: str
    segment: int  # index into the segment list
    x: float
    width: float


@dataclass(frozen=True)
class Mention:
    """Where an object mention was drawn (text-block coordinates), for tests and image maps."""

    key: str
    rect: tuple[int, int, int, int]


def _split_long(word: str, f: Font, width: float) -> list[str]:
    """Break a word wider than the line into pieces that fit (at least one character each)."""
    pieces, current = [], ""
    for ch in word:
        if current and f.getlength(current + ch) > width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    return pieces + [current] if current else pieces


def wrap(parts: Sequence[Segment], f: Font, width: float) -> list[list[Run]]:
    """Lay `parts` out in lines no wider than `width`; spaces at line ends are dropped."""
    lines: list[list[Run]] = [[]]
    x = 0.0
    for index, part in enumerate(parts):
        for token in _TOKEN_RE.findall(part.text):
            if token == "\n":
                lines.append([])
                x = 0.0
                continue
            if token.isspace():
                if lines[-1]:
                    w = f.getlength(" ")
                    lines[-1].append(Run(" ", index, x, w))
                    x += w
                continue
            for piece in _split_long(token, f, width):
                w = f.getlength(piece)
                if x + w > width and lines[-1]:
                    while lines[-1] and lines[-1][-1].text == " ":
                        lines[-1].pop()
                    lines.append([])
                    x = 0.0
                lines[-1].append(Run(piece, index, x, w))
                x += w
    for line in lines:
        while line and line[-1].text == " ":
            line.pop()
    return lines


def _groups(line: list[Run]) -> list[list[Run]]:
    """Consecutive runs of one line that belong to the same segment, or spaces between them."""
    groups: list[list[Run]] = []
    for run in line:
        if groups and groups[-1][-1].segment == run.segment:
            groups[-1].append(run)
        else:
            groups.append([run])
    return groups


def _style(part: Segment, colors: dict[str, RGB]) -> tuple[RGB, RGB | None, RGB | None]:
    """(text colour, background or None, underline colour or None) of a segment."""
    color = colors.get(part.key) if part.key is not None else None
    if part.kind is Kind.OBJECT:
        return INK, tint(color, 0.3) if color else NEUTRAL_TINT, color
    if part.kind is Kind.TIME:
        return INK, tint(color, 0.3) if color else NEUTRAL_TINT, None
    if part.kind is Kind.BOX:
        return MUTED, None, None
    return INK, None, None


def draw_text(
    parts: Sequence[Segment],
    f: Font,
    width: int,
    colors: dict[str, RGB] | None = None,
    *,
    ink: RGB | None = None,
    max_lines: int | None = None,
    background: RGB = BACKGROUND,
) -> tuple[Image.Image, list[Mention]]:
    """Render the segments wrapped to `width` px; returns the block and where coloured mentions are."""
    colors = colors or {}
    parts = list(parts)
    lines = wrap(parts, f, width)
    if max_lines is not None and len(lines) > max_lines:
        hidden = len(lines) - (max_lines - 1)
        parts.append(Segment(f"… {hidden} more lines not shown", Kind.BOX))
        lines = lines[: max_lines - 1] + [[Run(parts[-1].text, len(parts) - 1, 0.0, f.getlength(parts[-1].text))]]
    step = line_height(f)
    image = Image.new("RGB", (width, max(1, step * len(lines))), background)
    draw = ImageDraw.Draw(image)
    mentions: list[Mention] = []
    for row, line in enumerate(lines):
        top = row * step
        for group in _groups(line):
            part = parts[group[0].segment]
            text_color, fill, underline = _style(part, colors)
            x0, x1 = round(group[0].x), round(group[-1].x + group[-1].width)
            if fill is not None:
                draw.rectangle((x0 - 1, top + 1, x1 + 1, top + step - 2), fill=fill)
            if underline is not None:
                draw.rectangle((x0 - 1, top + step - 2 - UNDERLINE, x1 + 1, top + step - 2), fill=underline)
                mentions.append(Mention(part.key or "", (x0 - 1, top + 1, x1 + 1, top + step - 2)))
            for run in group:
                draw.text((run.x, top + 2), run.text, font=f, fill=ink if ink and part.kind is Kind.TEXT else text_color)
    return image, mentions


def plain(text: str) -> list[Segment]:
    return [Segment(text)]
