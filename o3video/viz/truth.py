"""The ground truth beside the answer, in the evidence picture: a record's span on the same axis as the
answered span, and each ground-truth box (green) on the sampled frame nearest its time, with the boxes the
completion cites on that frame (red). Drawn with `o3video.viz.compare`, so it reads like the app's
Results view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image

from o3video.geometry import rescale_box
from o3video.viz.blocks import Panel, heading, stack_vertically
from o3video.viz.compare import PREDICTED, TRUTH, LabelledBox, LabelledSpan, draw_boxes, draw_spans
from o3video.viz.frame_drawing import fit_scale
from o3video.viz.layout import Rect
from o3video.viz.segments import format_time
from o3video.viz.shown_claims import Evidence, nearest_frame

MAX_BOX_FRAMES = 6


@dataclass(frozen=True)
class TimedBox:
    time: float  # seconds
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the truth's `size`


@dataclass(frozen=True)
class GroundTruth:
    """What a record says the answer is: a span in seconds and boxes at given times, in pixels of `size`
    (the original video's W, H). Either may be absent."""

    span: tuple[float, float] | None = None
    boxes: tuple[TimedBox, ...] = ()
    size: tuple[float, float] | None = None  # needed to place `boxes` on the frames

    @property
    def empty(self) -> bool:
        return self.span is None and not (self.boxes and self.size)


def vstar_truth(record: dict[str, Any]) -> GroundTruth:
    """A V-STaR record's ground truth: `timestamps`, `bboxes` and the video's `width` × `height`."""
    from o3video.data.vstar import ground_truth_boxes

    span = record.get("timestamps")
    boxes = tuple(TimedBox(float(b["timestamp"]), (b["xmin"], b["ymin"], b["xmax"], b["ymax"]))
                  for b in ground_truth_boxes(record))
    size = (record["width"], record["height"]) if record.get("width") and record.get("height") else None
    return GroundTruth((float(span[0]), float(span[1])) if span and len(span) == 2 else None, boxes, size)


def cited_span(evidence: Evidence) -> tuple[float, float] | None:
    """The first to the last time the completion's claims cite; None without a cited time."""
    times = [item.claim.time for item in evidence.items if item.claim.time is not None]
    return (min(times), max(times)) if times else None


def truth_spans(truth: GroundTruth, evidence: Evidence, answered: tuple[float, float] | None, duration: float,
                width: int) -> Image.Image:
    """The ground-truth span on one axis 0 … `duration` s (at least to the truth's end) with the answered span,
    or, when the answer states none, the span of the cited times."""
    shown = LabelledSpan("answer", answered, PREDICTED[0])
    if answered is None and cited_span(evidence) is not None:
        shown = LabelledSpan("cited times", cited_span(evidence), PREDICTED[0])
    rows = [LabelledSpan("ground truth", truth.span, TRUTH), shown]
    return draw_spans(rows, max(duration, *(truth.span or ()), 1e-6), width=width)


def truth_panels(evidence: Evidence, truth: GroundTruth, width: int, max_height: int) -> list[tuple[Panel, int]]:
    """For each ground-truth box (the first `MAX_BOX_FRAMES`), a panel of the sampled frame nearest its time with
    the box in green and the completion's boxes cited on that frame in red, captioned with both times; and the
    index of that frame."""
    if not truth.boxes or truth.size is None:
        return []
    out = []
    for gt in truth.boxes[:MAX_BOX_FRAMES]:
        index = nearest_frame(evidence.frames, gt.time)
        frame = evidence.frames[index]
        boxes = [LabelledBox("truth", rescale_box(gt.box, truth.size, frame.image.size), TRUTH)]
        cited = [(item.number, b.pixels) for item in evidence.placed if item.frame_index == index for b in item.boxes]
        boxes += [LabelledBox(f"cited {number}", pixels, PREDICTED[0]) for number, pixels in cited]
        picture = draw_boxes(frame.image, boxes, max_size=(width, max_height))
        words = f"{len(cited)} cited box(es) on it" if cited else "no box cited on it"
        text = heading(f"truth at {format_time(gt.time)} s; frame at {format_time(frame.timestamp)} s, {words}", width)
        scale = fit_scale(frame.image.size, width, max_height)
        out.append((Panel(stack_vertically([picture, text], width, 4), Rect(0, 0, picture.width, picture.height),
                          scale), index))
    return out


__all__ = ["GroundTruth", "TimedBox", "cited_span", "truth_panels", "truth_spans", "vstar_truth"]
