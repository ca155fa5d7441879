"""Benchmark records checked before a run: every record has the fields its prompts and metrics read, of
the right kind, so a bad record is a one-line error naming the file, the record and the field before any
model is loaded, not a `KeyError` halfway through a run. Pure Python.

Each `*_problems(record)` returns `"field: what is wrong"` strings, like `o3video.data.stgr.validate_record`;
`check_records` reads a file and raises on the first bad record.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from o3video.data.vstar import ground_truth_boxes
from o3video.errors import InputError
from o3video.eval.grounding import grounding_truth
from o3video.geometry import BoxConvention
from o3video.io import read_json_records

Problems = Callable[[dict[str, Any]], list[str]]
_VIDEO_KEYS = ("video_path", "vid", "video", "videoID", "video_id")  # what `records_io.find_video` reads


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text_fields(record: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [f"{name}: missing or not a non-empty string, got {record.get(name)!r}"
            for name in names if not isinstance(record.get(name), str) or not record[name].strip()]


def _video(record: dict[str, Any]) -> list[str]:
    if any(record.get(k) for k in _VIDEO_KEYS):
        return []
    return ["video_path: missing (the record names its video by video_path or vid)"]


def _positive_numbers(record: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [f"{name}: must be a number > 0, got {record.get(name)!r}"
            for name in names if not (_number(record.get(name)) and record[name] > 0)]


def _span(record: dict[str, Any], name: str) -> list[str]:
    span = record.get(name)
    if isinstance(span, list) and len(span) == 2 and all(_number(v) for v in span) and span[0] <= span[1]:
        return []
    return [f"{name}: must be [start, end] in seconds with start <= end, got {span!r}"]


def _boxes(record: dict[str, Any]) -> list[str]:
    if not isinstance(record.get("bboxes"), list):
        return [f"bboxes: must be a list of boxes, got {record.get('bboxes')!r}"]
    problems = []
    for i, box in enumerate(ground_truth_boxes(record)):
        if not isinstance(box, dict):
            problems.append(f"bboxes[{i}]: must be an object with timestamp, xmin, ymin, xmax, ymax")
            continue
        bad = [k for k in ("timestamp", "xmin", "ymin", "xmax", "ymax") if not _number(box.get(k))]
        if bad:
            problems.append(f"bboxes[{i}]: {', '.join(bad)} must be numbers")
    return problems


def _box_convention(record: dict[str, Any]) -> list[str]:
    """A results record's `box_convention` (absent: pixels, as files written before it was recorded)."""
    value = record.get("box_convention")
    if value is None or value in [c.value for c in BoxConvention]:
        return []
    return [f"box_convention: must be one of {', '.join(c.value for c in BoxConvention)}, got {value!r}"]


def vstar_problems(record: dict[str, Any]) -> list[str]:
    """What V-STaR's five prompts, its baseline and its metrics read (`o3video.data.vstar`)."""
    problems = _text_fields(record, ("question", "answer", "temporal_question", "spatial_question"))
    problems += _positive_numbers(record, ("fps", "frame_count", "width", "height"))
    return problems + _span(record, "timestamps") + _boxes(record) + _video(record) + _box_convention(record)


def mcq_problems(record: dict[str, Any]) -> list[str]:
    """A multiple-choice question: its text, its answer letter's field, and its video."""
    problems = _text_fields(record, ("question",))
    if not isinstance(record.get("answer"), str):
        problems.append(f"answer: missing or not a string, got {record.get('answer')!r}")
    options = record.get("options") or record.get("candidates")
    if options is not None and not isinstance(options, (list, dict)):
        problems.append(f"options: must be a list or an object, got {type(options).__name__}")
    return problems + _video(record)


def grounding_problems(record: dict[str, Any]) -> list[str]:
    """A temporal-grounding query (`query`, `sentence`, `question` or `caption`), its span, its video."""
    problems = []
    if not any(isinstance(record.get(k), str) and record[k].strip() for k in ("query", "sentence", "question", "caption")):
        problems.append("question: missing (a grounding record needs a query, sentence, question or caption)")
    if grounding_truth(record) is None:
        problems.append("span: missing or unreadable (span, timestamp(s) or an answer '[S, E]')")
    return problems + _video(record)


def check_records(path: str | Path, problems_of: Problems,
                  skip: Callable[[dict[str, Any]], bool] = lambda record: False) -> list[dict[str, Any]]:
    """The records of `path`, each checked by `problems_of` (records for which `skip` is true are not);
    the first bad one is an `InputError` naming the file, the record and the field, and so is a file
    without any."""
    records = []
    for entry in read_json_records(path):
        if entry.error is not None:
            raise InputError(f"{path}:{entry.line}: {entry.error}")
        if not isinstance(entry.value, dict):
            raise InputError(f"{path}: {entry.where}: must be a JSON object, got {type(entry.value).__name__}")
        problems = [] if skip(entry.value) else problems_of(entry.value)
        if problems:
            raise InputError(f"{path}: {entry.where}: " + "; ".join(problems))
        records.append(entry.value)
    if not records:
        raise InputError(f"{path}: no records (an empty file or an empty list)")
    return records


__all__ = ["check_records", "grounding_problems", "mcq_problems", "vstar_problems"]
