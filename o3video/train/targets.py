"""The assistant turn SFT teaches for an STGR record: `<think>reasoning</think><answer>answer</answer>`,
with every box converted to the pixels of the frames the model saw and the answer in the form the
task asks for (DESIGN §2) — not the released ground-truth string, which for some tasks is a
different notation (`"[S, E]"` becomes `From <t>S</t>s to <t>E</t>s`)."""

from __future__ import annotations

from typing import Any

from o3video.data.stgr import reasoning_in_pixels
from o3video.geometry import rescale_box
from o3video.grammar import parse_answer_box, parse_temporal_truth, render_box
from o3video.tasks import Task, parse_task


def format_time(seconds: float) -> str:
    """Seconds as the targets write them: at least one decimal, at most two (`3.0`, `3.25`)."""
    text = f"{float(seconds):.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def render_span(start: float, end: float) -> str:
    return f"From <t>{format_time(start)}</t>s to <t>{format_time(end)}</t>s"


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
        return f"<obj>{name}</obj>{render_box(rescale_box(box, original, input_size))}"
    return answer


def target_completion(record: dict[str, Any], input_size: tuple[float, float]) -> str:
    """`<think>…</think><answer>…</answer>` for `record`; the reasoning's boxes in model-input pixels."""
    think = reasoning_in_pixels(record, input_size).strip()
    return f"<think>{think}</think><answer>{target_answer(record, input_size)}</answer>"


__all__ = ["format_time", "render_span", "target_answer", "target_completion"]
