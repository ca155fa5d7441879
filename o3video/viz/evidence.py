"""The evidence picture: where and when the model says its evidence is, on one page.

Top to bottom: the question and answer; one panel per grounded claim (the sampled frame nearest the
cited time, the claim's boxes in its object's colour, labelled `name @ T s`); the timeline (0 …
duration, a tick per sampled frame, a numbered marker per cited time); the reasoning with every
grounded mention highlighted in its object's colour; format notes from the parser. Without claims the
sampled frames are shown as a strip under "no grounded evidence cited".

`draw_evidence` also returns the layout (canvas rectangles of each panel's frame, of the timeline,
of each highlighted mention), so callers and tests can find things without guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from o3video.geometry import BoxConvention
from o3video.grammar import Completion
from o3video.viz import blocks
from o3video.viz.layout import MARGIN, Rect, Stack
from o3video.viz.richtext import Mention
from o3video.viz.shown_claims import Evidence, EvidenceItem, FrameLike, collect_evidence
from o3video.viz.timeline import TimelineGeometry
from o3video.viz.truth import GroundTruth, truth_panels, truth_spans

WIDTH = 1056
CONTENT = WIDTH - 2 * MARGIN
COLUMNS = 3
GAP = 24
PANEL_WIDTH = (CONTENT - GAP * (COLUMNS - 1)) // COLUMNS
PANEL_MAX_HEIGHT = 360
MAX_PANELS = 12
THUMB_COLUMNS = 8
THUMB_GAP = 8
MAX_THUMBS = 16
NO_EVIDENCE = "No grounded evidence cited. Sampled frames:"


@dataclass(frozen=True)
class PanelPlacement:
    """A frame drawn on the canvas: which frame, where, at what scale, for which claim (None: a thumbnail)."""

    frame_index: int
    frame_rect: Rect
    scale: float  # canvas px per model-input px
    item: EvidenceItem | None

    def to_canvas(self, x: float, y: float) -> tuple[float, float]:
        """Canvas position of model-input pixel position (x, y) of this frame."""
        return self.frame_rect.x0 + x * self.scale, self.frame_rect.y0 + y * self.scale


@dataclass(frozen=True)
class TimelinePlacement:
    rect: Rect
    geometry: TimelineGeometry

    def x_of(self, time: float) -> float:
        """Canvas x of `time` seconds on the axis."""
        return self.rect.x0 + self.geometry.x_of(time)


@dataclass(frozen=True)
class EvidenceLayout:
    size: tuple[int, int]
    panels: list[PanelPlacement]
    timeline: TimelinePlacement | None  # None when there is no time axis (one image, no duration)
    mentions: list[Mention]  # highlighted object mentions in the reasoning, canvas coordinates
    truth_spans: Rect | None = None  # the ground-truth span beside the answered one, when a truth was given
    truth_panels: list[PanelPlacement] = field(default_factory=list)  # frames with a ground-truth box (item None)


@dataclass(frozen=True)
class RenderedEvidence:
    image: Image.Image
    layout: EvidenceLayout
    evidence: Evidence


def _grid(stack: Stack, cells: list[tuple[blocks.Panel, int, EvidenceItem | None]], columns: int, width: int, gap: int) -> list[PanelPlacement]:
    """Lay panels out in rows of `columns`; each row is one block of the stack."""
    placements = []
    for start in range(0, len(cells), columns):
        row = cells[start : start + columns]
        height = max(panel.image.height for panel, _, _ in row)
        strip = Image.new("RGB", (CONTENT, height), (255, 255, 255))
        for col, (panel, _, _) in enumerate(row):
            strip.paste(panel.image, (col * (width + gap), 0))
        x, y = stack.add(strip)
        for col, (panel, index, item) in enumerate(row):
            rect = panel.frame_rect.moved(x + col * (width + gap), y)
            placements.append(PanelPlacement(index, rect, panel.scale, item))
    return placements


def _claim_panels(stack: Stack, evidence: Evidence) -> list[PanelPlacement]:
    placed = evidence.placed
    shown = placed[:MAX_PANELS]
    cells = [(blocks.claim_panel(evidence, item, PANEL_WIDTH, PANEL_MAX_HEIGHT), item.frame_index, item) for item in shown]
    placements = _grid(stack, cells, COLUMNS, PANEL_WIDTH, GAP)  # type: ignore[arg-type]
    notes = []
    if len(placed) > len(shown):
        notes.append(f"{len(placed) - len(shown)} more claims not drawn (from claim {shown[-1].number + 1} on).")
    if evidence.unplaced:
        names = ", ".join(f"{item.number} {item.claim.object or '(unnamed)'}" for item in evidence.unplaced)
        notes.append(f"Not placed in time (no <t> cited, several frames): {names}.")
    if notes:
        stack.add(blocks.note(" ".join(notes), CONTENT))
    return placements


def _thumbnails(stack: Stack, evidence: Evidence) -> list[PanelPlacement]:
    message = NO_EVIDENCE if not evidence.items else "No claim can be placed in time. Sampled frames:"
    stack.add(blocks.note(message, CONTENT), gap=6)
    count = len(evidence.frames)
    indices = sorted(set(np.linspace(0, count - 1, min(count, MAX_THUMBS)).round().astype(int).tolist()))
    width = (CONTENT - THUMB_GAP * (THUMB_COLUMNS - 1)) // THUMB_COLUMNS
    cells = [(blocks.thumbnail(evidence, i, width, width), i, None) for i in indices]
    return _grid(stack, cells, THUMB_COLUMNS, width, THUMB_GAP)


TRUTH_TITLE = "Ground truth (green) beside the answer (red)"


def _truth(stack: Stack, evidence: Evidence, truth: GroundTruth,
           answer: str | None) -> tuple[Rect | None, list[PanelPlacement]]:
    """The ground-truth block: the spans on one axis, then the frames of the ground-truth boxes."""
    stack.add(blocks.heading(TRUTH_TITLE, CONTENT), gap=2)
    spans = None
    if truth.span is not None:
        answered = blocks.answer_span(evidence, answer)
        strip = truth_spans(truth, evidence, answered, blocks.timeline_span(evidence), CONTENT)
        x, y = stack.add(strip)
        spans = Rect(x, y, x + strip.width, y + strip.height)
    panels = truth_panels(evidence, truth, PANEL_WIDTH, PANEL_MAX_HEIGHT)
    cells = [(panel, index, None) for panel, index in panels]
    return spans, _grid(stack, cells, COLUMNS, PANEL_WIDTH, GAP)  # type: ignore[arg-type]


def compose(evidence: Evidence, *, question: str, answer: str | None = None, reference: str | None = None,
            truth: GroundTruth | None = None) -> RenderedEvidence:
    """Lay out and draw the summary picture of already collected `evidence`; with `truth` (a record's), the
    ground-truth span and boxes beside the answered ones."""
    stack = Stack(WIDTH)
    stack.add(blocks.header(evidence, CONTENT, question=question, answer=answer, reference=reference))
    stack.rule()
    panels = _claim_panels(stack, evidence) if evidence.placed else _thumbnails(stack, evidence)
    timeline = None
    if blocks.timeline_span(evidence) > 0:
        shaded = "; shaded: the answered span" if blocks.answer_span(evidence, answer) else ""
        cited = ", numbered markers the cited times" if evidence.items or evidence.loose_times else ""
        title = f"Timeline: ticks are the sampled frames{cited}{shaded}"
        stack.add(blocks.heading(title, CONTENT), gap=2)
        strip, geometry = blocks.timeline(evidence, CONTENT, answer=answer)
        x, y = stack.add(strip)
        timeline = TimelinePlacement(Rect(x, y, x + strip.width, y + strip.height), geometry)
    spans, truth_placed = None, []
    if truth is not None and not truth.empty:
        spans, truth_placed = _truth(stack, evidence, truth, answer)
    stack.rule()
    text, mentions = blocks.reasoning(evidence, CONTENT)
    x, y = stack.add(text)
    mentions = [Mention(m.key, (m.rect[0] + x, m.rect[1] + y, m.rect[2] + x, m.rect[3] + y)) for m in mentions]
    notes = blocks.problems(evidence, CONTENT)
    if notes is not None:
        stack.add(notes)
    image = stack.render()
    layout = EvidenceLayout(image.size, panels, timeline, mentions, spans, truth_placed)
    return RenderedEvidence(image, layout, evidence)


def draw_evidence(
    frames: Sequence[FrameLike],
    completion: str | Completion,
    *,
    question: str,
    duration: float,
    answer: str | None = None,
    reference: str | None = None,
    source_size: tuple[float, float] | None = None,
    box_convention: BoxConvention | str = BoxConvention.PIXELS,
    truth: GroundTruth | None = None,
) -> RenderedEvidence:
    """The evidence picture with its layout. `answer` overrides the completion's <answer> text (e.g. a
    voted answer); `reference` is a ground-truth answer to show beside it; `source_size` (W, H) of the
    original video adds each box in original pixels to the captions; `box_convention` is what the completion's
    boxes are in (the model's: pixels of the frames, or 0–1000 of them); `truth` is the record's ground truth,
    drawn beside the answer (`o3video.viz.truth`)."""
    evidence = collect_evidence(frames, completion, duration=duration, source_size=source_size, box_convention=box_convention)
    return compose(evidence, question=question, answer=answer, reference=reference, truth=truth)


def render_evidence(frames: Sequence[FrameLike], completion: str | Completion, **options: Any) -> Image.Image:
    """The evidence picture (RGB): `draw_evidence`'s image, with its arguments (`question`, `duration`, ...)."""
    return draw_evidence(frames, completion, **options).image
