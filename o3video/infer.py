"""Grounded inference on one video: sample frames, ask through the shared prompt builder, parse the
evidence, and report every cited box in both model-input and original-video pixels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from o3video.geometry import clamp_box, rescale_box
from o3video.grammar import Completion, parse
from o3video.tasks import Task


@dataclass
class Evidence:
    """One grounded claim: the object, when, and where (both coordinate spaces)."""

    object: str
    time: float | None
    box_input: list[float]  # pixels of the frame the model saw
    box_original: list[float]  # pixels of the original video frame


@dataclass
class InferenceResult:
    video: str
    question: str
    task: str
    completion: str
    answer: str | None
    think: str | None
    evidence: list[Evidence]
    input_size: tuple[int, int]
    source_size: tuple[int, int]
    duration: float
    frame_times: list[float]
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evidence_of(completion: Completion, input_size: tuple[int, int], source_size: tuple[int, int]) -> list[Evidence]:
    """Every box of every claim, clamped to the frame, in both spaces."""
    out = []
    for claim in completion.claims:
        for box in claim.boxes:
            inside = clamp_box(box, input_size)
            original = rescale_box(inside, input_size, source_size)
            out.append(Evidence(claim.object, claim.time, [round(v, 1) for v in inside], [round(v, 1) for v in original]))
    return out


def answer_video(
    model: Any,
    processor: Any,
    video: str | Path,
    question: str,
    *,
    task: Task | str = Task.SPATIO_TEMPORAL,
    num_frames: int = 16,
    mode: str = "exact",
    max_new_tokens: int = 512,
    temperature: float = 0.0,
    cache_dir: str | Path | None = None,
    instruction: str | None = None,
) -> tuple[InferenceResult, Any]:
    """Answer `question` about `video`; returns the result and the sampled frames (for pictures).
    The per-frame pixel budget is the processor's (`load_model(..., max_pixels=...)` sets it);
    `instruction` replaces the task's answer-format line as in `build_messages`."""
    from o3video.answer import Question, ask_frames, video_frames

    task = Task(task)
    # frames at the size the processor keeps as it is: the size the cited boxes refer to
    frames = video_frames(video, processor, num_frames=num_frames, mode=mode, cache_dir=cache_dir)
    (completion,) = ask_frames(model, processor, frames.frames, [Question(question, task, instruction)], duration=frames.duration,
                               max_new_tokens=max_new_tokens, temperature=temperature)
    parsed = parse(completion)
    result = InferenceResult(
        video=str(video), question=question, task=task.value, completion=completion,
        answer=parsed.answer, think=parsed.think,
        evidence=evidence_of(parsed, frames.input_size, frames.source_size),
        input_size=tuple(frames.input_size), source_size=tuple(frames.source_size),
        duration=frames.duration, frame_times=[f.timestamp for f in frames.frames], problems=parsed.problems,
    )
    return result, frames
