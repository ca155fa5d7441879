"""STGR records, read exactly as released (docs/design.md §2): validation, loading, and box conventions.

A record is a plain dict that round-trips to JSON. Fields kept as released: `task`, `source`,
`question`, `answer`, `reasoning_process` (SFT only), `video_path` or `image_path`, `key_frames`
(`[{"idx", "time", "path"}]`), `key_items` (`{"<idx>": {"<object>": [[x1,y1,x2,y2], ...]}}`, boxes
normalised to [0, 1]) and `image_size` (`[W, H]`, the original image size for visual QA).
Extra fields are kept untouched. This module is pure Python (no torch, no video decoding).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from o3video.errors import InputError
from o3video.geometry import BoxConvention, BoxFormat, pixels_to_convention, rescale_box, to_pixels
from o3video.grammar import map_boxes, parse_answer_box, parse_option_letter, parse_temporal_truth
from o3video.io import read_json_records
from o3video.tasks import Task, parse_task

# Tolerance for normalised key_items boxes slightly outside [0, 1] from annotation rounding.
_NORM_SLACK = 0.01


class RecordError(InputError):
    """A malformed STGR record; the message names the file, the record index and the field."""


@dataclass
class SkippedRecord:
    index: int  # 0-based position of the record in the file
    line: int | None  # 1-based line number for JSON lines files
    problems: list[str]


@dataclass
class STGRFile:
    """What `load_stgr` read: the valid records, and the ones skipped with their problems."""

    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)


# --- validation ---------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_answer(task: Task, answer: str) -> list[str]:
    if task.is_temporal:
        letter, span = parse_temporal_truth(answer, with_option=task is Task.TEMPORAL_MCQ)
        form = "'X\\n[S, E]'" if task is Task.TEMPORAL_MCQ else "'[S, E]'"
        if span is None or span[1] < span[0] or (task is Task.TEMPORAL_MCQ and letter is None):
            return [f"answer: {task.value} needs {form} with S <= E, got {answer!r}"]
    elif task is Task.GENERAL_MCQ:
        if parse_option_letter(answer) is None:
            return [f"answer: MCQ needs an option letter, got {answer!r}"]
    elif task is Task.VISUAL:
        if parse_answer_box(answer) is None:
            return [f"answer: visual QA needs '<box>[x1,y1,x2,y2]</box>', got {answer!r}"]
    elif not answer.strip():
        return ["answer: empty"]
    return []


def _check_key_frames(record: dict[str, Any], required: bool) -> list[str]:
    key_frames = record.get("key_frames")
    if key_frames is None or key_frames == []:
        return ["key_frames: missing (spatio-temporal QA needs annotated key frames)"] if required else []
    if not isinstance(key_frames, list):
        return [f"key_frames: must be a list, got {type(key_frames).__name__}"]
    problems = []
    for i, frame in enumerate(key_frames):
        where = f"key_frames[{i}]"
        if not isinstance(frame, dict):
            problems.append(f"{where}: must be an object with idx, time, path")
            continue
        if not isinstance(frame.get("idx"), int) or isinstance(frame.get("idx"), bool):
            problems.append(f"{where}.idx: must be an integer, got {frame.get('idx')!r}")
        if not _is_number(frame.get("time")) or frame["time"] < 0:
            problems.append(f"{where}.time: must be a finite number >= 0, got {frame.get('time')!r}")
        if "path" in frame and not isinstance(frame["path"], str):
            problems.append(f"{where}.path: must be a string, got {frame['path']!r}")
    return problems


def _check_key_items(record: dict[str, Any], required: bool) -> list[str]:
    items = record.get("key_items")
    if items is None or items == {}:
        return ["key_items: missing (spatio-temporal QA needs boxes for its key frames)"] if required else []
    if not isinstance(items, dict):
        return [f"key_items: must be an object keyed by key-frame idx, got {type(items).__name__}"]
    frame_ids = {str(f.get("idx")) for f in record.get("key_frames") or [] if isinstance(f, dict)}
    problems = []
    for idx, objects in items.items():
        if str(idx) not in frame_ids:
            problems.append(f"key_items[{idx!r}]: no key frame with idx {idx}")
        if not isinstance(objects, dict):
            problems.append(f"key_items[{idx!r}]: must map object names to lists of boxes")
            continue
        for name, boxes in objects.items():
            where = f"key_items[{idx!r}][{name!r}]"
            if not isinstance(boxes, list) or not boxes:
                problems.append(f"{where}: must be a non-empty list of boxes")
                continue
            if all(_is_number(v) for v in boxes):  # a single box written without the outer list
                boxes = [boxes]
            for j, box in enumerate(boxes):
                problems += _check_normalised_box(box, f"{where}[{j}]")
    return problems


def _check_normalised_box(box: object, where: str) -> list[str]:
    if not isinstance(box, list) or len(box) != 4 or not all(_is_number(v) for v in box):
        return [f"{where}: must be 4 finite numbers, got {box!r}"]
    x1, y1, x2, y2 = box
    if min(box) < -_NORM_SLACK or max(box) > 1 + _NORM_SLACK:
        return [f"{where}: must be normalised to [0, 1], got {box!r}"]
    if x2 <= x1 or y2 <= y1:
        return [f"{where}: reversed or empty box {box!r}"]
    return []


def validate_record(record: object) -> list[str]:
    """Every problem with `record` as `"field: what is wrong"`; an empty list means it is valid."""
    if not isinstance(record, dict):
        return [f"record: must be a JSON object, got {type(record).__name__}"]
    try:
        task = parse_task(record.get("task"))
    except ValueError as err:
        return [f"task: {err}"]
    problems = []
    for name in ("question", "answer"):
        if not isinstance(record.get(name), str):
            problems.append(f"{name}: missing or not a string")
    if not problems:
        problems += _check_answer(task, record["answer"])
        if not record["question"].strip():
            problems.append("question: empty")
    for name in ("source", "reasoning_process"):
        if name in record and not isinstance(record[name], str):
            problems.append(f"{name}: must be a string, got {type(record[name]).__name__}")
    media = "image_path" if task.uses_image else "video_path"
    if not isinstance(record.get(media), str) or not record[media]:
        problems.append(f"{media}: missing ({task.value} needs one)")
    if task is Task.VISUAL or "image_size" in record:
        size = record.get("image_size")
        if not (isinstance(size, list) and len(size) == 2 and all(_is_number(v) and v > 0 for v in size)):
            problems.append(f"image_size: must be [W, H] with positive numbers, got {size!r}")
    if "box_format" in record and record["box_format"] not in {f.value for f in BoxFormat}:
        problems.append(f"box_format: unknown {record['box_format']!r}")
    required = task is Task.SPATIO_TEMPORAL
    problems += _check_key_frames(record, required)
    problems += _check_key_items(record, required)
    return problems


# --- loading -------------------------------------------------------------------------------------------


def missing_media(record: dict[str, Any], root: Path) -> list[str]:
    """The media files a valid record names that are not under `root`, as `"field: ..."` problems."""
    problems = []
    for name in ("video_path", "image_path"):
        if isinstance(record.get(name), str) and not (root / record[name]).is_file():
            problems.append(f"{name}: no such file {root / record[name]}")
    for i, frame in enumerate(record.get("key_frames") or []):
        if frame.get("path") and not (root / frame["path"]).is_file():
            problems.append(f"key_frames[{i}].path: no such file {root / frame['path']}")
    return problems


def load_stgr(path: str | Path, *, on_error: Literal["raise", "skip"] = "raise", media_root: str | Path | None = None) -> STGRFile:
    """Read a released STGR `.json` (array) or `.jsonl` file and validate every record.

    `on_error="raise"` stops at the first bad record with a `RecordError` naming the file, the record
    index (and line) and the field; `"skip"` keeps going and reports skipped records in the result.
    With `media_root`, a record whose video, image or key-frame file is not under it is a bad record too."""
    path = Path(path)
    try:
        entries = read_json_records(path)
    except InputError as err:
        raise RecordError(str(err)) from None
    out = STGRFile(path=path)
    for entry in entries:
        problems = [entry.error] if entry.error else validate_record(entry.value)
        if not problems and media_root is not None:
            problems = missing_media(entry.value, Path(media_root))
        if not problems:
            out.records.append(entry.value)
            continue
        if on_error == "raise":
            raise RecordError(f"{path}: {entry.where}: " + "; ".join(problems))
        out.skipped.append(SkippedRecord(index=entry.index, line=entry.line, problems=problems))
    return out


# --- box conventions -------------------------------------------------------------------------------------


def reasoning_box_format(record: dict[str, Any]) -> BoxFormat:
    """The convention of the boxes in a record's `reasoning_process`.

    An explicit `box_format` field wins. Visual QA reasoning is in the original image's pixels;
    VideoEspresso uses centre-size on 0–1000; the Gemini-annotated sources use normalised corners."""
    if record.get("box_format"):
        return BoxFormat(record["box_format"])
    if parse_task(record.get("task")) is Task.VISUAL:
        return BoxFormat.XYXY_PIXELS
    if "videoespresso" in str(record.get("source", "")).lower().replace("_", "").replace("-", ""):
        return BoxFormat.CXCYWH_1000
    return BoxFormat.XYXY_NORM


def reasoning_in_pixels(record: dict[str, Any], image_size: tuple[float, float], *, decimals: int = 0) -> str:
    """The record's `reasoning_process` with every box converted to pixels of the model-input frame."""
    return reasoning_for_model(record, image_size, BoxConvention.PIXELS, decimals=decimals)


def reasoning_for_model(record: dict[str, Any], image_size: tuple[float, float],
                        box_convention: BoxConvention | str, *, decimals: int = 0) -> str:
    """The record's `reasoning_process` with every box as a model of `box_convention` writes it on its input
    frame of `image_size` (converted once, from the record's own convention: no rounding in between)."""
    to_input = _reasoning_to_input(record, image_size)
    text = record.get("reasoning_process") or ""
    return map_boxes(text, lambda b: pixels_to_convention(to_input(b), box_convention, image_size), decimals=decimals)


def _reasoning_to_input(record: dict[str, Any], image_size: tuple[float, float]) -> Callable[[Sequence[float]], list[float]]:
    """A box of the record's reasoning (its `reasoning_box_format`) -> pixels of the model-input frame."""
    fmt = reasoning_box_format(record)
    if fmt is BoxFormat.XYXY_PIXELS:
        source_size = record.get("image_size") or image_size
        return lambda b: rescale_box(b, source_size, image_size)
    return lambda b: to_pixels(b, fmt, image_size)


def reward_sample(record: dict[str, Any], image_size: tuple[float, float],
                  box_convention: BoxConvention | str = BoxConvention.PIXELS) -> dict[str, Any]:
    """The record as `o3video.rewards.score` reads it: `image_size` becomes the model-input size, the
    released `image_size` (the original image size, used by visual QA) moves to `original_image_size`, and
    `box_convention` says how the model writes boxes (the rewards convert the ground truth into it)."""
    sample = dict(record)
    if "image_size" in record:
        sample["original_image_size"] = record["image_size"]
    sample["image_size"] = [image_size[0], image_size[1]]
    sample["box_convention"] = BoxConvention(box_convention).value
    return sample


__all__ = [
    "RecordError",
    "STGRFile",
    "SkippedRecord",
    "load_stgr",
    "missing_media",
    "reasoning_box_format",
    "reasoning_for_model",
    "reasoning_in_pixels",
    "reward_sample",
    "validate_record",
]
