"""Asking a model about a video, the one way inference, the evaluators and test-time scaling do it:
frames sampled at the model's own input size (`video_frames`), chat messages from the one prompt
builder (`o3video.video.prompt.build_messages`), then `o3video.models.generate` (`ask_frames`).

The frames are sampled at the size the processor keeps as it is, so the boxes a model cites refer to the
frames returned here (in its box convention, `o3video.models.box_convention_of`: their pixels, or 0–1000);
the prompt states that convention. Heavy imports (torch, the video decoder) happen inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from o3video.tasks import Task


class Asked(Protocol):
    """One question about the frames: the text, the task that frames it, and its answer-format line
    (None: the task's own; "": none). `o3video.data.vstar.VStarPrompt` is one."""

    question: str
    task: Task
    instruction: str | None


@dataclass(frozen=True)
class Question:
    question: str
    task: Task = Task.SPATIO_TEMPORAL
    instruction: str | None = None


def video_frames(video: str | Path, processor: Any, *, num_frames: int, mode: str = "exact",
                 cache_dir: str | Path | None = None, blank: bool = False) -> Any:
    """`num_frames` frames of `video` (a `SampledFrames`) at the processor's input size (its resize rule);
    blank ones, times and sizes kept, for the blind baseline."""
    from o3video.models import frame_settings
    from o3video.video import blank_frames, sample_frames

    sampled = sample_frames(video, num_frames, mode=mode, cache_dir=cache_dir, **frame_settings(processor))
    return blank_frames(sampled) if blank else sampled


def _generate(model: Any, processor: Any, frames: Any, questions: Sequence[Asked], duration: float | None,
              **sampling: Any) -> list[list[str]]:
    from o3video.models import box_convention_of, generate
    from o3video.video.prompt import build_messages

    convention = box_convention_of(model)  # the prompt states the coordinates the model answers in
    batch = [build_messages(frames, q.question, q.task, duration=duration, instruction=q.instruction, box_convention=convention)
             for q in questions]
    return generate(model, processor, batch, **sampling)


def ask_frames(model: Any, processor: Any, frames: Any, questions: Sequence[Asked], *, duration: float | None = None,
               max_new_tokens: int = 512, temperature: float = 0.0) -> list[str]:
    """One completion per question about the same `frames` (a `SampledFrames` or a list of frames, then
    with `duration`), asked in one batch; greedy unless `temperature` > 0."""
    completions = _generate(model, processor, frames, questions, duration, max_new_tokens=max_new_tokens,
                            temperature=temperature)
    return [c[0] for c in completions]


def sample_answers(model: Any, processor: Any, frames: Any, question: Asked, *, n: int, duration: float | None = None,
                   temperature: float = 1.0, max_new_tokens: int = 512) -> list[str]:
    """`n` sampled completions of one question about `frames` (test-time scaling)."""
    (completions,) = _generate(model, processor, frames, [question], duration, max_new_tokens=max_new_tokens,
                               temperature=temperature, num_return_sequences=n)
    return completions


__all__ = ["Asked", "Question", "ask_frames", "sample_answers", "video_frames"]
