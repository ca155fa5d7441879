"""V-STaR-format benchmark records (docs/design.md §4) and the MCQ / temporal-grounding test records.

A V-STaR record carries the *what* question and answer, the *when* question and its span in
seconds, both *where* questions, and one box of the object per whole second inside the span, in
pixels of the original video (`xmin, ymin, xmax, ymax`, exclusive ends), with the frame index and
timestamp of that second. `domain` is the preset; `event` says what kind of event the chain is about.
"""

from __future__ import annotations

import math
from typing import Any

from o3video.data.synth.questions.base import Question, SceneFacts
from o3video.data.synth.questions.vstar_questions import VStarItem, vstar_items
from o3video.data.synth.stgr_writer import answer_text, video_path
from o3video.data.synth.text import render_parts, span_seconds


def whole_second_boxes(facts: SceneFacts, obj: int, span: tuple[int, int]) -> list[dict[str, Any]]:
    """The object's visible box at every whole second inside the span (seconds where it is wholly
    hidden are left out, as V-STaR leaves out frames without the object)."""
    plan = facts.plan
    start, end = span_seconds(span, plan)
    out = []
    for second in range(math.ceil(start), math.floor(end) + 1):
        frame = second * plan.fps
        box = facts.box(obj, frame)
        if box is None:
            continue
        # an int, as the benchmark writes it: the official scorers key answers by str(timestamp), "4" not "4.0"
        out.append({"timestamp": second, "frame_index": frame,
                    "xmin": box[0], "ymin": box[1], "xmax": box[2], "ymax": box[3]})
    return out


def vstar_record(item: VStarItem, facts: SceneFacts) -> dict[str, Any] | None:
    """The V-STaR record of `item`, or None when no whole second of its span shows the object."""
    plan = facts.plan
    boxes = whole_second_boxes(facts, item.obj, item.span)
    if not boxes:
        return None
    start, end = span_seconds(item.span, plan)
    return {
        "vid": plan.scene_id,
        "video_path": video_path(plan.scene_id),
        "domain": plan.preset,
        "event": item.kind,
        "fps": float(plan.fps),
        "width": plan.width,
        "height": plan.height,
        "frame_count": plan.num_frames,
        "question": item.question,
        "answer": item.answer,
        "temporal_question": item.temporal_question,
        "timestamps": [start, end],
        "spatial_question": item.spatial_question,
        "spatial_question_2": item.spatial_question_2,
        "bboxes": boxes,
        "object": item.object_name,
        "chain": f"<think>{render_parts(item.chain, plan, pixels=True)}</think>",
    }


def scene_vstar_records(facts: SceneFacts) -> list[tuple[VStarItem, dict[str, Any]]]:
    """Each V-STaR item the scene asks, with its record; items no whole second of which shows the object
    are left out."""
    pairs = [(item, vstar_record(item, facts)) for item in vstar_items(facts)]
    return [(item, record) for item, record in pairs if record is not None]


def benchmark_record(q: Question, facts: SceneFacts, *, record_id: str) -> dict[str, Any]:
    """An MCQ or temporal-grounding test record: the STGR fields without reasoning, plus the
    video's duration and the domain."""
    plan = facts.plan
    return {
        "id": record_id,
        "task": q.task.value,
        "source": f"synth-{plan.preset}",
        "domain": plan.preset,
        "question": q.question,
        "answer": answer_text(q, plan),
        "video_path": video_path(plan.scene_id),
        "duration": plan.duration,
    }
