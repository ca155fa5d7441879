"""The o3video_synth_mcq task's functions: the record's video, its question with options, letter accuracy."""

from __future__ import annotations

import os
from typing import Any

from o3video.grammar import parse_option_letter


def doc_to_visual(doc: dict[str, Any]) -> list[str]:
    """The record's video, its path relative to the synth directory (the working directory)."""
    return [os.path.abspath(doc["video_path"])]


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, str] | None = None) -> str:
    kwargs = lmms_eval_specific_kwargs or {}
    return f"{kwargs.get('pre_prompt', '')}{doc['question']}{kwargs.get('post_prompt', '')}"


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """1.0 when the answer is the right option letter (`B`, `B.`, `(B)`)."""
    return {"accuracy": float(parse_option_letter(results[0]) == doc["answer"])}
