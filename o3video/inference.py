"""Grounded inference on one video: sample frames, ask through the shared prompt builder, parse the
evidence, and report every cited box as the model wrote it (in its box convention), in model-input pixels and in
original-video pixels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from o3video.answer import VideoModel
from o3video.geometry import BoxConvention, clamp_box, convention_to_pixels, rescale_box
from o3video.grammar import Completion, parse
from o3video.tasks import Task


@dataclass
class Evidence:
    """One grounded claim: the object, when, and where (as answered, and in both pixel spaces)."""

    object: str
    time: float | None
    box_answered: list[float]  # as the model wrote it, in its box convention (`InferenceResult.box_convention`)
    box_input: list[float]  # pixels of the frame the model saw, clamped to it
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
    box_convention: str  # how the model writes boxes: pixels (of the input frame) or relative_1000
    frame_times: list[float]
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evidence_of(completion: Completion, input_size: tuple[int, int], source_size: tuple[int, int],
                box_convention: BoxConvention | str = BoxConvention.PIXELS) -> list[Evidence]:
    """Every box of every claim as answered (in `box_convention`), then clamped to the frame in both pixel spaces."""
    out = []
    for claim in completion.claims:
        for box in claim.boxes:
            inside = clamp_box(convention_to_pixels(box, box_convention, input_size), input_size)
            original = rescale_box(inside, input_size, source_size)
            out.append(Evidence(claim.object, claim.time, [round(v, 1) for v in box], [round(v, 1) for v in inside],
                                [round(v, 1) for v in original]))
    return out


def answer_video(
    model: VideoModel,
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
    progress: bool = False,
) -> tuple[InferenceResult, Any]:
    """Answer `question` about `video` with `model` (a `o3video.answer.VideoModel`, in-process or served);
    returns the result and the sampled frames (for pictures). The per-frame pixel budget is the model's
    (`load_video_model(..., max_pixels=...)` sets it), and so is the box convention (`box_convention=` there
    overrides it); `instruction` replaces the task's answer-format line as in `build_messages`. With `progress`,
    bars on stderr show the frames being sampled and the tokens being generated (out of `max_new_tokens`)."""
    from o3video.answer import Question, ask_frames, video_frames
    from o3video.progress import ProgressBar

    task = Task(task)
    with ProgressBar(1, desc=f"sampling {num_frames} frames", unit="video", disable=not progress) as bar:
        # frames at the size the model's processor keeps as it is: the size the cited boxes refer to
        frames = video_frames(video, model, num_frames=num_frames, mode=mode, cache_dir=cache_dir)
        bar.update()
    with ProgressBar(max_new_tokens, desc="generating", unit="tokens", disable=not progress) as bar:
        (completion,) = ask_frames(model, frames.frames, [Question(question, task, instruction)],
                                   duration=frames.duration, max_new_tokens=max_new_tokens, temperature=temperature,
                                   on_tokens=bar.update if progress else None)
    parsed = parse(completion)
    convention = model.box_convention
    result = InferenceResult(
        video=str(video), question=question, task=task.value, completion=completion,
        answer=parsed.answer, think=parsed.think,
        evidence=evidence_of(parsed, frames.input_size, frames.source_size, convention),
        input_size=tuple(frames.input_size), source_size=tuple(frames.source_size),
        duration=frames.duration, box_convention=convention.value, frame_times=[f.timestamp for f in frames.frames],
        problems=parsed.problems,
    )
    return result, frames
