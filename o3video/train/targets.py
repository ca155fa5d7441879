"""The assistant turn SFT teaches for an STGR record: `<think>reasoning</think><answer>answer</answer>`,
with every box converted to the pixels of the frames the model saw and the answer in the form the
task asks for (DESIGN §2) — not the released ground-truth string, which for some tasks is a
different notation (`"[S, E]"` becomes `From <t>S</t>s to <t>E</t>s`)."""

from __future__ import annotations

from typing import Any

from o3video.data.stgr import reasoning_in_pixels
from o3video.geometry import rescale_box
from o3video.grammar import Claim, parse_answer_box, parse_temporal_truth, render_claim, render_span
from o3video.tasks import Task, parse_task


def target_answer(record: dict[str, Any], input_size: tuple[float, float]) -> str:
    """The text inside `<answer>` for `record`, boxes in model-input pixels."""
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
        return render_claim(Claim(name, (rescale_box(box, original, input_size),)))
    return answer


def target_completion(record: dict[str, Any], input_size: tuple[float, float]) -> str:
    """`<think>…</think><answer>…</answer>` for `record`; the reasoning's boxes in model-input pixels."""
    think = reasoning_in_pixels(record, input_size).strip()
    return f"<think>{think}</think><answer>{target_answer(record, input_size)}</answer>"


__all__ = ["target_answer", "target_completion"]
