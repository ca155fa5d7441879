"""Asking a model about a video, the one way inference, the evaluators and test-time scaling do it:
frames sampled at the model's own input size (`video_frames`), chat messages from the one prompt
builder (`o3video.video.prompt.build_messages`), then the model's `ask` / `sample` (`ask_frames`,
`sample_answers`).

The model is a `VideoModel`: the in-process `LocalModel` (a transformers model and its processor) or a
`o3video.served.ServedModel` (any OpenAI-compatible server, `openai:BASE_URL:MODEL`); `load_video_model`
opens either from its name. Evaluators and `infer` never ask which one they have.

The frames are sampled at the size the model's processor keeps as it is, so the boxes a model cites refer
to the frames returned here, in the model's box convention (`VideoModel.box_convention`: their pixels for
Qwen2.5-VL, 0-1000 for Qwen3-VL), which the prompt states. Heavy imports (torch, the video decoder) happen
inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from o3video.geometry import AUTO_CONVENTION, MAX_PIXELS, BoxConvention
from o3video.tasks import Task

Messages = list[dict[str, Any]]  # chat messages as `build_messages` writes them


class VideoModel(Protocol):
    """What the evaluators and `infer` ask: completions of `build_messages` conversations, and the frame
    settings (`factor`, `min_pixels`, `max_pixels`) its processor keeps frames as they are at."""

    name: str
    concurrent: bool  # whether several records may be asked at once (from threads)
    frame_settings: dict[str, int]
    box_convention: BoxConvention  # how its boxes are written: input-frame pixels or 0-1000

    def ask(self, batch: Sequence[Messages], *, max_new_tokens: int, temperature: float = 0.0,
            on_tokens: Callable[[int], None] | None = None) -> list[str]:
        """One completion per conversation; greedy unless `temperature` > 0. `on_tokens(n)`, where the model can
        tell, is called as generation adds `n` tokens (a served model's reply arrives whole: it is not called)."""
        ...

    def sample(self, messages: Messages, *, n: int, temperature: float, max_new_tokens: int,
               seed: int | None = None) -> list[str]:
        """`n` sampled completions of one conversation; `seed` makes them repeatable."""
        ...


class LocalModel:
    """A `VideoModel` in this process: a transformers model and its processor (`o3video.models.load_model`)."""

    concurrent = False

    def __init__(self, model: Any, processor: Any, name: str = "local") -> None:
        from o3video.models import frame_settings

        self.model, self.processor, self.name = model, processor, name
        self.frame_settings = frame_settings(processor)

    @property
    def box_convention(self) -> BoxConvention:
        """The model's own (`o3video.models.box_convention_of`: its config, or an override set on it)."""
        from o3video.models import box_convention_of

        return box_convention_of(self.model)

    def ask(self, batch: Sequence[Messages], *, max_new_tokens: int, temperature: float = 0.0,
            on_tokens: Callable[[int], None] | None = None) -> list[str]:
        from o3video.models import generate
        from o3video.models.token_counter import TokenCounter

        completions = generate(self.model, self.processor, list(batch), max_new_tokens=max_new_tokens,
                               temperature=temperature, streamer=TokenCounter(on_tokens) if on_tokens else None)
        return [c[0] for c in completions]

    def sample(self, messages: Messages, *, n: int, temperature: float, max_new_tokens: int,
               seed: int | None = None) -> list[str]:
        import torch

        from o3video.models import generate

        if seed is not None:
            torch.manual_seed(seed)
        (completions,) = generate(self.model, self.processor, [messages], max_new_tokens=max_new_tokens,
                                  temperature=temperature, num_return_sequences=n)
        return completions


def load_video_model(spec: str, *, max_pixels: int = MAX_PIXELS, family: str | None = None, retries: int = 4,
                     timeout: float = 120.0, dtype: str = "auto", device_map: str | None = None,
                     box_convention: str = AUTO_CONVENTION) -> VideoModel:
    """The model `spec` names: `openai:BASE_URL:MODEL` is a served model (`o3video.served`; `family`,
    `retries` and `timeout` are its options), anything else a checkpoint path or hub id loaded here
    (`dtype`, `device_map`). `max_pixels` is the per-frame pixel budget either way; `box_convention`
    overrides the one the model's family or config implies."""
    from o3video.served import is_served

    if is_served(spec):
        from o3video.served import ServedModel

        return ServedModel.from_spec(spec, max_pixels=max_pixels, family=family, retries=retries, timeout=timeout,
                                     box_convention=box_convention)
    from o3video.models import load_model
    from o3video.models.load import transformers_bars_off

    with transformers_bars_off():  # no weight-loading bar above a one-line error
        model, processor = load_model(spec, dtype=dtype, device_map=device_map, max_pixels=max_pixels,
                                      box_convention=box_convention)
    return LocalModel(model, processor, name=spec)


def set_video_model_convention(model: VideoModel, choice: str) -> VideoModel:
    """Override an already loaded model's box convention (`auto` leaves it as it is)."""
    if isinstance(model, LocalModel):
        from o3video.models import set_box_convention

        set_box_convention(model.model, choice)
    elif choice != AUTO_CONVENTION:
        model.box_convention = BoxConvention(choice)
    return model


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


def video_frames(video: str | Path, model: VideoModel, *, num_frames: int, mode: str = "exact",
                 cache_dir: str | Path | None = None, blank: bool = False) -> Any:
    """`num_frames` frames of `video` (a `SampledFrames`) at the model's input size (its resize rule);
    blank ones, times and sizes kept, for the blind baseline."""
    from o3video.video import blank_frames, sample_frames

    sampled = sample_frames(video, num_frames, mode=mode, cache_dir=cache_dir, **model.frame_settings)
    return blank_frames(sampled) if blank else sampled


def _messages(frames: Any, question: Asked, duration: float | None, convention: BoxConvention) -> Messages:
    """The conversation of one question; its system prompt states the coordinates the model answers in."""
    from o3video.video.prompt import build_messages

    return build_messages(frames, question.question, question.task, duration=duration, instruction=question.instruction,
                          box_convention=convention)


def ask_frames(model: VideoModel, frames: Any, questions: Sequence[Asked], *, duration: float | None = None,
               max_new_tokens: int = 512, temperature: float = 0.0,
               on_tokens: Callable[[int], None] | None = None) -> list[str]:
    """One completion per question about the same `frames` (a `SampledFrames` or a list of frames, then
    with `duration`); greedy unless `temperature` > 0; `on_tokens` as in `VideoModel.ask`."""
    batch = [_messages(frames, q, duration, model.box_convention) for q in questions]
    told = {"on_tokens": on_tokens} if on_tokens is not None else {}
    return model.ask(batch, max_new_tokens=max_new_tokens, temperature=temperature, **told)


def sample_answers(model: VideoModel, frames: Any, question: Asked, *, n: int, duration: float | None = None,
                   temperature: float = 1.0, max_new_tokens: int = 512, seed: int | None = None) -> list[str]:
    """`n` sampled completions of one question about `frames` (test-time scaling); `seed` makes them repeatable."""
    return model.sample(_messages(frames, question, duration, model.box_convention), n=n, temperature=temperature,
                        max_new_tokens=max_new_tokens, seed=seed)


__all__ = ["Asked", "LocalModel", "Messages", "Question", "VideoModel", "ask_frames", "load_video_model",
           "sample_answers", "set_video_model_convention", "video_frames"]
