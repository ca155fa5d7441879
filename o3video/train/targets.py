"""The assistant turn SFT teaches for an STGR record: `<think>reasoning</think><answer>answer</answer>`,
with every box converted to the frames the model saw, written in the model's box convention (pixels of
those frames, or 0–1000 of them: docs/design.md §4b), and the answer in the form the task asks for (docs/design.md §2) —
not the released ground-truth string, which for some tasks is a different notation (`"[S, E]"` becomes
`From <t>S</t>s to <t>E</t>s`)."""

from __future__ import annotations

from typing import Any

from o3video.data.stgr import reasoning_for_model
from o3video.data.vstar import parse_spatial_answer, render_spatial_answer
from o3video.geometry import BoxConvention, pixels_to_convention, rescale_box
from o3video.grammar import Claim, parse_answer_box, parse_temporal_truth, render_claim, render_span
from o3video.tasks import Task, parse_task

Size = tuple[float, float]


def target_answer(record: dict[str, Any], input_size: Size, box_convention: BoxConvention | str = BoxConvention.PIXELS) -> str:
    """The text inside `<answer>` for `record`, boxes in `box_convention` on the model-input frame."""
    task = parse_task(record.get("task"))
    answer = str(record["answer"]).strip()
    if task.is_temporal:
        letter, span = parse_temporal_truth(answer, with_option=task is Task.TEMPORAL_MCQ)
        if span is None:
            raise ValueError(f"record {record.get('id', '?')}: unreadable {task.value} answer {answer!r}")
        text = render_span(*span)
        return f"{text}.\nCorrect Option: {letter}" if task is Task.TEMPORAL_MCQ else text
    if task is Task.VISUAL:
        box = parse_answer_box(answer)
        if box is None:
            raise ValueError(f"record {record.get('id', '?')}: visual QA answer has no box: {answer!r}")
        original = record.get("image_size") or input_size
        name = answer.split("<obj>", 1)[1].split("</obj>", 1)[0] if "<obj>" in answer else "object"
        pixels = rescale_box(box, original, input_size)
        return render_claim(Claim(name, (pixels_to_convention(pixels, box_convention, input_size),)))
    if str(record.get("vstar_kind") or "").startswith("where"):
        return _where_answer(answer, record.get("image_size") or input_size, input_size, box_convention)
    return answer


def _where_answer(answer: str, size: Size, input_size: Size, box_convention: BoxConvention | str) -> str:
    """A V-STaR practice *where* answer (JSON boxes in pixels of the record's `image_size`, the frame size the
    record was written for) on this model's input frame, in `box_convention`."""
    boxes = parse_spatial_answer(answer)
    return render_spatial_answer({k: pixels_to_convention(rescale_box(b, size, input_size), box_convention, input_size)
                                  for k, b in boxes.items()})


def target_completion(record: dict[str, Any], input_size: Size, box_convention: BoxConvention | str = BoxConvention.PIXELS) -> str:
    """`<think>…</think><answer>…</answer>` for `record`; every box in `box_convention` on the model-input frame."""
    think = reasoning_for_model(record, input_size, box_convention).strip()
    return f"<think>{think}</think><answer>{target_answer(record, input_size, box_convention)}</answer>"


__all__ = ["target_answer", "target_completion"]
