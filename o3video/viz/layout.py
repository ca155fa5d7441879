"""Rectangles and a vertical stack of blocks: how the summary picture is put together and where
each part ended up (tests and callers locate panels and the timeline from this, never by guessing)."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from o3video.viz.palette import BACKGROUND, RULE

MARGIN = 24
SECTION_GAP = 14


@dataclass(frozen=True)
class Rect:
    """Pixel rectangle: x0, y0 inclusive; x1, y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def moved(self, dx: int, dy: int) -> Rect:
        return Rect(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)


@dataclass
class Stack:
    """Blocks placed top to bottom at a fixed left margin; `add` says where a block went."""

    width: int
    blocks: list[tuple[Image.Image, int, int]] = field(default_factory=list)
    y: int = MARGIN

    def add(self, image: Image.Image, *, gap: int = SECTION_GAP, x: int = MARGIN) -> tuple[int, int]:
        top_left = (x, self.y)
        self.blocks.append((image, x, self.y))
        self.y += image.height + gap
        return top_left

    def rule(self) -> None:
        self.add(Image.new("RGB", (self.width - 2 * MARGIN, 1), RULE))

    def render(self) -> Image.Image:
        height = max((y + image.height for image, _, y in self.blocks), default=MARGIN) + MARGIN
        canvas = Image.new("RGB", (self.width, height), BACKGROUND)
        for image, x, y in self.blocks:
            canvas.paste(image, (x, y))
        return canvas
