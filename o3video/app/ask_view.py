"""The Ask view: a question about a video, answered by a model that loads once and stays loaded, shown as
the evidence picture (every cited box on its frame at its time, the cited times on a timeline over the
sampled frames), a table of the evidence in original-video pixels, and the reasoning with each object
highlighted in its box's colour. The asking is `o3video.inference.answer_video`, as `o3video infer`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.answer import VideoModel
from o3video.errors import InputError
from o3video.inference import InferenceResult
from o3video.viz import RenderedEvidence

Loader = Callable[[str], VideoModel]
EVIDENCE_COLUMNS = ("object", "time (s)", "box as answered", "box, original px")


def default_loader(spec: str) -> VideoModel:
    """`o3video.answer.load_video_model` with its defaults: a checkpoint, a hub id, or `openai:BASE_URL:MODEL`."""
    from o3video.answer import load_video_model

    return load_video_model(spec)


class ModelShelf:
    """Models by spec, each loaded on first use and kept (one load at a time)."""

    def __init__(self, loader: Loader = default_loader) -> None:
        self._loader = loader
        self._models: dict[str, VideoModel] = {}
        self._lock = threading.Lock()

    def get(self, spec: str) -> VideoModel:
        spec = spec.strip()
        if not spec:
            raise InputError("model: give a checkpoint path, a hub id or openai:BASE_URL:MODEL")
        with self._lock:
            if spec not in self._models:
                self._models[spec] = self._loader(spec)
            return self._models[spec]

    @property
    def loaded(self) -> list[str]:
        return list(self._models)


@dataclass
class Answered:
    result: InferenceResult
    rendered: RenderedEvidence  # the evidence picture and where each claim, the timeline and the mentions are
    evidence_rows: list[list[Any]]  # EVIDENCE_COLUMNS
    reasoning_html: str  # the reasoning, objects highlighted in their boxes' colours


def reasoning_html(completion: str, colors: dict[str, Any]) -> str:
    """The completion's <think> (else the whole text) as HTML, mentions marked in their objects' colours."""
    from o3video.grammar import parse
    from o3video.viz.page import rich_html
    from o3video.viz.segments import segments

    parsed = parse(completion)
    text = parsed.think if parsed.think is not None else parsed.text
    return f'<div style="white-space: pre-wrap">{rich_html(segments(text), colors)}</div>'


def ask(shelf: ModelShelf, video: str | Path, question: str, model: str, *, frames: int = 16,
        max_new_tokens: int = 512, progress: Callable[[float, str], None] | None = None) -> Answered:
    """Answer `question` about `video` with the model `model` names (from `shelf`) on `frames` sampled frames."""
    from o3video.inference import answer_video
    from o3video.video import probe
    from o3video.viz import draw_evidence

    step = progress or (lambda fraction, what: None)
    if not video:
        raise InputError("video: pick or upload a video")
    if not question or not question.strip():
        raise InputError("question: empty")
    if int(frames) < 1:
        raise InputError(f"frames: must be >= 1, got {frames}")
    probe(video)  # a missing or corrupt video is named before the model loads
    step(0.1, "loading the model (once)")
    loaded = shelf.get(model)
    step(0.4, "sampling frames and generating")
    result, sampled = answer_video(loaded, video, question, num_frames=int(frames), max_new_tokens=max_new_tokens)
    step(0.9, "drawing the evidence")
    rendered = draw_evidence(sampled.frames, result.completion, question=question, duration=result.duration,
                             source_size=result.source_size, box_convention=result.box_convention)
    rows = [[e.object, e.time, e.box_answered, e.box_original] for e in result.evidence]
    return Answered(result, rendered, rows, reasoning_html(result.completion, rendered.evidence.colors))


__all__ = ["EVIDENCE_COLUMNS", "Answered", "ModelShelf", "ask", "default_loader", "reasoning_html"]
