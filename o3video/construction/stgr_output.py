"""Finished annotations and passed-through temporal QA as STGR records (docs/design.md §2), every one checked
with `o3video.data.stgr.validate_record` before it is written.

Paths (`video_path`, key-frame `path`) are relative to the output directory, so the directory can be
moved with its videos' relative location intact; reasoning boxes are normalised corners
(`box_format: "xyxy_norm"`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from o3video.construction.annotation import Annotation
from o3video.construction.source_items import SourceItem
from o3video.data.stgr import validate_record
from o3video.geometry import BoxFormat
from o3video.io import atomic_write_text
from o3video.tasks import Task

_THINK_RE = re.compile(r"^\s*<think>(.*?)</think>.*$", re.DOTALL | re.IGNORECASE)


def relative_path(path: str | Path, root: str | Path) -> str:
    """`path` relative to `root` (with `..` if needed), POSIX separators."""
    return Path(os.path.relpath(Path(path).resolve(), Path(root).resolve())).as_posix()


def spatio_temporal_record(item: SourceItem, annotation: Annotation, video: str | Path, out: Path) -> dict[str, Any]:
    key_items: dict[str, dict[str, list[list[float]]]] = {}
    for frame in annotation.key_frames:
        for obj in frame.objects:
            boxes = key_items.setdefault(str(frame.idx), {}).setdefault(obj.name, [])
            if obj.box not in boxes:
                boxes.append(obj.box)
    record = {
        "id": item.id,
        "task": Task.SPATIO_TEMPORAL.value,
        "source": item.source,
        "question": annotation.question,
        "answer": annotation.answer,
        "reasoning_process": annotation.reasoning,
        "video_path": relative_path(video, out),
        "key_frames": [{"idx": f.idx, "time": f.time, "path": f.path} for f in annotation.key_frames],
        "key_items": key_items,
        "box_format": BoxFormat.XYXY_NORM.value,
    }
    return _checked(record)


def default_temporal_question(sentence: str) -> str:
    return f"When does the following happen in the video: \"{sentence}\"? Give its start and end time in seconds."


def temporal_qa_record(item: SourceItem, video: str | Path, out: Path) -> dict[str, Any]:
    """A temporal-grounding sample as `temporal QA`: answer `[S, E]` (the annotated segment), its chain
    of thought (without `<think>` tags) as the reasoning."""
    start, end = item.segment  # type: ignore[misc]
    record: dict[str, Any] = {
        "id": item.id,
        "task": Task.TEMPORAL.value,
        "source": item.source,
        "question": item.question or default_temporal_question(item.sentence),
        "answer": f"[{start:g}, {end:g}]",
        "video_path": relative_path(video, out),
    }
    if item.cot:
        match = _THINK_RE.match(item.cot)
        record["reasoning_process"] = (match.group(1) if match else item.cot).strip()
    return _checked(record)


def _checked(record: dict[str, Any]) -> dict[str, Any]:
    problems = validate_record(record)
    if problems:
        raise ValueError(f"record {record.get('id')!r} is not valid STGR: " + "; ".join(problems))
    return record


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Write all records at once, atomically (the file is whole or absent)."""
    atomic_write_text(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))


__all__ = ["default_temporal_question", "relative_path", "spatio_temporal_record", "temporal_qa_record", "write_jsonl"]
