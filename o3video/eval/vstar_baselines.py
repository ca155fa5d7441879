"""Answers that ignore the video, for V-STaR: what every model must beat before it can be said to see.

* `whole`: the whole video as the span, the whole frame as the box at every second.
* `centre`: the middle half of the video as the span, the centre quarter of the frame as the box.
* `frequent`: the answers' statistics from a prior annotation file (the training split, never the
  test split): the most frequent *what* answer, the mean span and the mean box, each relative to the
  video's length and frame size.

Each returns the result fields of one record, in the benchmark's own names, so the results file
scores like any model's. The blind *model* (trained and evaluated on blank frames) is the other half
of the blind baselines: `EvalRunConfig.blank_frames`, `DataConfig.blank_frames`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from o3video.data.vstar import ground_truth_boxes, video_length

BASELINES = ("whole", "centre", "frequent")


@dataclass(frozen=True)
class AnswerPrior:
    """Answer statistics of a training split: the most frequent *what* answer, the mean span as fractions
    of the video's length, and the mean box as fractions of the frame."""

    what: str
    span: tuple[float, float]
    box: tuple[float, float, float, float]


def answer_prior(records: list[dict[str, Any]]) -> AnswerPrior:
    answers = Counter(str(r.get("answer", "")).strip() for r in records if str(r.get("answer", "")).strip())
    spans, boxes = [], []
    for record in records:
        length = video_length(record)
        start, end = record["timestamps"]
        spans.append((start / length, end / length))
        w, h = float(record["width"]), float(record["height"])
        boxes += [(b["xmin"] / w, b["ymin"] / h, b["xmax"] / w, b["ymax"] / h) for b in ground_truth_boxes(record)]
    mean = lambda rows, n: tuple(sum(r[i] for r in rows) / len(rows) for i in range(n)) if rows else (0.0,) * n  # noqa: E731
    return AnswerPrior(what=answers.most_common(1)[0][0] if answers else "", span=mean(spans, 2), box=mean(boxes, 4))


def _answers(record: dict[str, Any], what: str, span: tuple[float, float], box: tuple[float, ...]) -> dict[str, Any]:
    """Result fields: `span` and `box` are fractions of the video's length and frame size; the box is
    given at every whole second of the span, for both chains."""
    length, w, h = video_length(record), float(record["width"]), float(record["height"])
    start, end = span[0] * length, span[1] * length
    pixels = [round(box[0] * w, 1), round(box[1] * h, 1), round(box[2] * w, 1), round(box[3] * h, 1)]
    boxes = {str(s): pixels for s in range(math.ceil(start), math.floor(end) + 1)}
    return {"answer_vqa": what, "answer_temporal": [round(start, 2), round(end, 2)],
            "answer_temporal_2": [round(start, 2), round(end, 2)], "answer_spatial": boxes, "answer_spatial_2": boxes}


def baseline_answers(kind: str, record: dict[str, Any], prior: AnswerPrior | None = None) -> dict[str, Any]:
    """The `kind` baseline's answers to one record (`frequent` needs the training split's `prior`)."""
    if kind == "whole":
        return _answers(record, "", (0.0, 1.0), (0.0, 0.0, 1.0, 1.0))
    if kind == "centre":
        return _answers(record, "", (0.25, 0.75), (0.25, 0.25, 0.75, 0.75))
    if kind == "frequent":
        if prior is None:
            raise ValueError("the frequent-answer baseline needs the training split's answers (a prior)")
        return _answers(record, prior.what, prior.span, prior.box)
    raise ValueError(f"unknown baseline {kind!r}; choose one of {BASELINES}")


__all__ = ["BASELINES", "AnswerPrior", "answer_prior", "baseline_answers"]
