"""What the pictures show: each grounded claim tied to the sampled frame it points at, with its colour.

Frames are any objects with `.timestamp` (seconds) and `.image` (a PIL image at the model-input size,
the frame the claimed boxes refer to, in the model's box convention: its pixels, or 0–1000 of it) —
`o3video.video.Frame` is one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image

from o3video.geometry import BoxConvention, clamp_box, convention_to_pixels, rescale_box
from o3video.grammar import Box, Claim, Completion, parse
from o3video.viz.palette import RGB, assign_colors, object_key
from o3video.viz.segments import format_time


@runtime_checkable
class FrameLike(Protocol):
    timestamp: float
    image: Image.Image


@dataclass(frozen=True)
class DrawnBox:
    """One claimed box: as claimed (in the model's box convention), in the frame's pixels, and as drawn (clipped
    to the frame; None if wholly outside it)."""

    claimed: Box
    pixels: Box  # the claimed box in pixels of the frame it is drawn on
    drawn: Box | None
    source: Box | None  # the claimed box in original-video pixels, when the source size is known

    @property
    def clipped(self) -> bool:
        return self.drawn is not None and self.drawn != _ordered(self.pixels)


@dataclass(frozen=True)
class EvidenceItem:
    """One grounded claim and the frame it is drawn on."""

    number: int  # 1-based, in citation order; the label tying panel, timeline marker and table row
    claim: Claim
    color: RGB
    frame_index: int | None  # the frame nearest the cited time; None when it cannot be placed in time
    boxes: tuple[DrawnBox, ...]

    @property
    def key(self) -> str:
        return object_key(self.claim.object)

    @property
    def label(self) -> str:
        name = self.claim.object or "(unnamed)"
        if self.claim.time is None:
            return name
        return f"{name} @ {format_time(self.claim.time)} s"


@dataclass(frozen=True)
class Evidence:
    """Everything the renderers need, derived once from the completion and the frames."""

    completion: Completion
    frames: list[FrameLike]
    duration: float
    items: list[EvidenceItem]
    colors: dict[str, RGB]  # object key -> colour
    loose_times: list[float]  # times in <think> cited outside any claim
    box_convention: BoxConvention = BoxConvention.PIXELS  # what the claimed boxes are in

    @property
    def placed(self) -> list[EvidenceItem]:
        return [item for item in self.items if item.frame_index is not None]

    @property
    def unplaced(self) -> list[EvidenceItem]:
        return [item for item in self.items if item.frame_index is None]


def check_frames(frames: Sequence[object]) -> list[FrameLike]:
    """The frames as a list, or ValueError naming the first one without a finite time or a PIL image."""
    frames = list(frames)
    if not frames:
        raise ValueError("no frames to draw the evidence on")
    for i, frame in enumerate(frames):
        timestamp = getattr(frame, "timestamp", None)
        if not isinstance(timestamp, (int, float)) or not math.isfinite(timestamp):
            raise ValueError(f"frame {i}: .timestamp must be a finite number of seconds, got {timestamp!r}")
        if not isinstance(getattr(frame, "image", None), Image.Image):
            raise ValueError(f"frame {i}: .image must be a PIL image, got {type(getattr(frame, 'image', None)).__name__}")
    return frames  # type: ignore[return-value]


def nearest_frame(frames: Sequence[FrameLike], time: float) -> int:
    """Index of the frame whose timestamp is closest to `time` (the earlier one on a tie)."""
    return min(range(len(frames)), key=lambda i: (abs(frames[i].timestamp - time), i))


def _ordered(box: Box) -> Box:
    x1, y1, x2, y2 = box
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _drawn_box(box: Box, size: tuple[int, int], source_size: tuple[float, float] | None,
               convention: BoxConvention) -> DrawnBox:
    pixels = tuple(convention_to_pixels(box, convention, size))
    clipped = tuple(clamp_box(_ordered(pixels), size))  # type: ignore[arg-type]
    visible = clipped[2] > clipped[0] and clipped[3] > clipped[1]
    source = tuple(rescale_box(pixels, size, source_size)) if source_size is not None else None
    return DrawnBox(claimed=box, pixels=pixels, drawn=clipped if visible else None, source=source)  # type: ignore[arg-type]


def _frame_for(claim: Claim, frames: Sequence[FrameLike]) -> int | None:
    if claim.time is not None:
        return nearest_frame(frames, claim.time)
    return 0 if len(frames) == 1 else None  # a single image needs no time to be placed


def collect_evidence(
    frames: Sequence[object],
    completion: str | Completion,
    *,
    duration: float,
    source_size: tuple[float, float] | None = None,
    box_convention: BoxConvention | str = BoxConvention.PIXELS,
) -> Evidence:
    """Tie every claim of `completion` (parsed here if it is text) to its frame and colour; its boxes are read
    in `box_convention` (the model's, `o3video.models.box_convention_of`) on the frame they are drawn on."""
    convention = BoxConvention(box_convention)
    frames = check_frames(frames)
    if not isinstance(duration, (int, float)) or not math.isfinite(duration) or duration < 0:
        raise ValueError(f"duration must be a finite number of seconds >= 0, got {duration!r}")
    parsed = completion if isinstance(completion, Completion) else parse(completion)
    colors = assign_colors(claim.object for claim in parsed.claims)
    items = []
    for number, claim in enumerate(parsed.claims, start=1):
        index = _frame_for(claim, frames)
        size = frames[index if index is not None else 0].image.size
        boxes = tuple(_drawn_box(box, size, source_size, convention) for box in claim.boxes)
        items.append(EvidenceItem(number, claim, colors[object_key(claim.object)], index, boxes))
    loose = Counter(parsed.times) - Counter(c.time for c in parsed.claims if c.time is not None)
    loose_times = sorted(loose.elements())
    return Evidence(parsed, frames, float(duration), items, colors, loose_times, convention)
