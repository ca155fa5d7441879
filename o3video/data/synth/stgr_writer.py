"""Questions → STGR records (docs/design.md §2), with the synthetic world's conventions:

* reasoning boxes are normalised [0, 1] corners and the record says so (`box_format: xyxy_norm`);
* `key_frames` (spatio-temporal QA, and general MCQ whose reasoning cites evidence) are the frames the reasoning cites, `time` their exact presentation time in the
  video, `path` the saved PNG of the rendered frame, relative to the dataset directory;
* `key_items` hold, per key frame, the normalised box of every object the reasoning cites there;
* visual QA answers are `<obj>name</obj><box>[x1,y1,x2,y2]</box>` in the image's own pixels, with
  `image_size` = [W, H].
"""

from __future__ import annotations

from typing import Any

from o3video.data.synth.questions.base import Question
from o3video.data.synth.scene_plan import ScenePlan
from o3video.data.synth.text import normalised, render_parts, span_text
from o3video.geometry import BoxFormat
from o3video.grammar import Claim, render_claim
from o3video.tasks import Task


def video_path(scene_id: str) -> str:
    return f"videos/{scene_id}.mp4"


def frame_path(scene_id: str, frame: int) -> str:
    return f"frames/{scene_id}/{frame:05d}.png"


def frames_needed(q: Question) -> list[int]:
    """The rendered frames a record of `q` refers to (key frames, or the visual-QA image)."""
    if q.task is Task.VISUAL:
        return [int(q.image_frame)]  # type: ignore[arg-type]
    return q.key_frames  # spatio-temporal QA, and general MCQ whose reasoning cites evidence


def answer_text(q: Question, plan: ScenePlan) -> str:
    if q.task is Task.TEMPORAL:
        return span_text(q.span, plan)  # type: ignore[arg-type]
    if q.task is Task.TEMPORAL_MCQ:
        return f"{q.option}\n{span_text(q.span, plan)}"  # type: ignore[arg-type]
    if q.task is Task.VISUAL:
        return render_claim(Claim(q.target.name, (tuple(q.target.box),)))  # type: ignore[union-attr]
    return q.answer


def _key_annotations(q: Question, plan: ScenePlan) -> tuple[list[dict], dict[str, dict[str, list]]]:
    frames = [{"idx": f, "time": plan.time_of(f), "path": frame_path(plan.scene_id, f)} for f in q.key_frames]
    items: dict[str, dict[str, list]] = {}
    for m in q.mentions:
        boxes = items.setdefault(str(m.frame), {}).setdefault(m.name, [])
        box = [round(v, 6) for v in normalised(m.box, plan)]
        if box not in boxes:
            boxes.append(box)
    return frames, items


def stgr_record(q: Question, plan: ScenePlan, *, record_id: str, sft: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": record_id,
        "task": q.task.value,
        "source": f"synth-{plan.preset}",
        "question": q.question,
        "answer": answer_text(q, plan),
    }
    if q.task is Task.VISUAL:
        record["image_path"] = frame_path(plan.scene_id, int(q.image_frame))  # type: ignore[arg-type]
        record["image_size"] = [plan.width, plan.height]
    else:
        record["video_path"] = video_path(plan.scene_id)
    if q.task is Task.VISUAL or q.mentions:
        record["box_format"] = BoxFormat.XYXY_NORM.value
    if q.task is not Task.VISUAL and q.mentions:
        record["key_frames"], record["key_items"] = _key_annotations(q, plan)
    if sft:
        record["reasoning_process"] = render_parts(q.reasoning, plan, pixels=False, with_time=q.task is not Task.VISUAL)
    return record
