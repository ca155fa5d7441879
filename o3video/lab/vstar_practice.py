"""V-STaR-format practice records: the benchmark's five prompts, asked about *training* videos, written
as STGR records so that SFT and RL read them like any other record.

Why: a model trained from scratch (the tiny demo model) has no instruction following, so it cannot
answer V-STaR's *where* prompts in their JSON form, or its *when* prompts in their wording, without
having seen them. Qwen2.5-VL has; its recipe does not use these. They come from videos of a world
drawn with another seed than the test split, so no test video is ever trained on.

Per V-STaR annotation, five records (wording from `o3video.data.vstar.vstar_prompts`, the
same the evaluation asks). *what* reasons with the first and last sentences of the annotation's
chain (what to look for, what was seen); *when* with the span's two ends (`It starts at <t>S</t>s and lasts until <t>E</t>s.`); *where* cites the object's box at
every second the answer lists, in the answer's order (`The <obj>X</obj><box>[…]</box>at<t>a</t>s, the … and the
<obj>X</obj><box>[…]</box>at<t>c</t>s.`), so that the answer's JSON is a copy of boxes the reasoning has just
localised. With the first and last boxes only, a small model's JSON boxes did not follow its reasoning
(docs/experiments/where-answers.md).

* what   -> `General video QA Free-form`, answer the annotation's answer;
* when_1, when_2 -> `temporal QA`, answer `"[S, E]"`;
* where_1, where_2 -> `temporal-spatial free-form QA`, answer the JSON `{"<second>": [x1,y1,x2,y2]}` the
  benchmark asks for (model-input pixels; SFT targets and RL rewards convert it to the model's box convention,
  `o3video.train.targets`, `o3video.rewards`), the ground-truth boxes as key frames/items, so the
  thinking rewards see them. Their key frames stay out of the prompt (`insert_key_frames: false`):
  the evaluation shows uniform frames only, and an inserted frame would give the answer's seconds away.
  In RL their accuracy term is the IoU of the answered boxes (`o3video.rewards.where_accuracy`): ROUGE, the free-form
  rule, would compare digit strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from o3video.geometry import rescale_box
from o3video.grammar import Claim, map_boxes, render_claim, render_time
from o3video.tasks import Task

KINDS = ("what", "when_1", "where_1", "where_2", "when_2")


def _chain_text(chain: str, original: tuple[float, float], size: tuple[int, int]) -> str:
    """The annotation's `<think>` chain without its tags, boxes moved to model-input pixels."""
    text = chain.strip()
    if text.startswith("<think>"):
        text = text[len("<think>") :]
    if text.endswith("</think>"):
        text = text[: -len("</think>")]
    return map_boxes(text.strip(), lambda b: rescale_box(b, original, size))


def _where_answer(annotation: dict[str, Any], original: tuple[float, float], size: tuple[int, int]) -> str:
    from o3video.data.vstar import ground_truth_boxes, render_spatial_answer, second_key

    boxes = {}
    for gt in ground_truth_boxes(annotation):
        boxes[second_key(gt["timestamp"])] = rescale_box([gt["xmin"], gt["ymin"], gt["xmax"], gt["ymax"]], original, size)
    return render_spatial_answer(boxes)


def _what_reasoning(chain: str) -> str:
    sentences = re.split(r"(?<=\.)\s+", chain.strip())
    return sentences[0] if len(sentences) < 2 else f"{sentences[0]} {sentences[-1]}"


def _where_reasoning(annotation: dict[str, Any], original: tuple[float, float], size: tuple[int, int]) -> str:
    from o3video.data.vstar import ground_truth_boxes

    boxes = ground_truth_boxes(annotation)
    name = str(annotation.get("object", "object"))
    cites = []
    for gt in boxes:
        box = rescale_box([gt["xmin"], gt["ymin"], gt["xmax"], gt["ymax"]], original, size)
        cites.append(render_claim(Claim(name, (tuple(box),), float(gt["timestamp"]))))
    listed = cites[0] if len(cites) < 2 else ", the ".join(cites[:-1]) + " and the " + cites[-1]
    return f"The {listed}."


def _key_evidence(annotation: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Ground-truth boxes as STGR key_frames / key_items (boxes normalised to [0, 1])."""
    from o3video.data.vstar import ground_truth_boxes

    w, h = float(annotation["width"]), float(annotation["height"])
    frames, items = [], {}
    for i, gt in enumerate(ground_truth_boxes(annotation)):
        idx = int(gt.get("frame_index", i))
        frames.append({"idx": idx, "time": float(gt["timestamp"])})
        box = [gt["xmin"] / w, gt["ymin"] / h, gt["xmax"] / w, gt["ymax"] / h]
        items[str(idx)] = {str(annotation.get("object", "object")): [[round(min(max(v, 0.0), 1.0), 6) for v in box]]}
    return frames, items


def practice_records(
    annotations: Iterable[dict[str, Any]],
    *,
    frame_kwargs: dict[str, int] | None = None,
    kinds: Sequence[str] = KINDS,
    source: str = "vstar-practice",
) -> list[dict[str, Any]]:
    """STGR records for the V-STaR prompts of `kinds` on each annotation (which must carry `video_path`).

    Answers are written in the pixels of the frames the model will see: `frame_kwargs` is the
    processor's resize rule (`o3video.models.frame_settings`; default Qwen2.5-VL's at 128*28*28 pixels)."""
    from o3video.data.vstar import vstar_prompts
    from o3video.video.resize import input_size

    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown V-STaR prompt kinds {sorted(unknown)}; choose from {KINDS}")
    records = []
    for n, annotation in enumerate(annotations):
        if not annotation.get("video_path"):
            raise ValueError(f"V-STaR annotation {n} ({annotation.get('vid')}): no video_path")
        original = (float(annotation["width"]), float(annotation["height"]))
        size = input_size((int(annotation["width"]), int(annotation["height"])), **(frame_kwargs or {}))
        chain = _chain_text(str(annotation.get("chain") or ""), original, size)
        start, end = annotation["timestamps"]
        span = f"It starts at {render_time(start)} and lasts until {render_time(end)}."
        for prompt in vstar_prompts(annotation):
            if prompt.kind not in kinds:
                continue
            record: dict[str, Any] = {
                "id": f"{source}-{n:05d}-{prompt.kind}",
                "task": prompt.task.value,
                "source": source,
                "vstar_kind": prompt.kind,
                "question": prompt.question,
                "instruction": prompt.instruction,
                "video_path": annotation["video_path"],
                "reasoning_process": chain,
                "box_format": "xyxy_px",
                "image_size": [size[0], size[1]],  # the reasoning's boxes are already model-input pixels
            }
            if prompt.task is Task.TEMPORAL:
                record["answer"] = f"[{float(start)}, {float(end)}]"
                record["reasoning_process"] = span
            elif prompt.task is Task.SPATIO_TEMPORAL:
                record["answer"] = _where_answer(annotation, original, size)
                record["reasoning_process"] = _where_reasoning(annotation, original, size)
                record["key_frames"], record["key_items"] = _key_evidence(annotation)
                record["insert_key_frames"] = False
            else:
                record["answer"] = str(annotation["answer"])
                record["reasoning_process"] = _what_reasoning(chain)
            records.append(record)
    return records




__all__ = ["KINDS", "practice_records"]
