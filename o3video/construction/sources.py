"""Readers for the two kinds of source the paper annotates, and for temporal QA with chains of thought.

Temporal grounding (`read_temporal_source`) accepts the layouts these data sets are distributed in:

* ActivityNet Captions / Charades-STA JSON: `{"<video>": {"duration": 82.7, "timestamps": [[s, e], ...],
  "sentences": [...]}}` — one item per sentence;
* QVHighlights JSON lines: `{"qid", "query", "vid", "duration", "relevant_windows": [[s, e], ...]}` —
  one item per query, every window a span;
* a generic list (JSON array or JSON lines) of `{"video", "duration", "timestamp": [s, e], "sentence"}`
  with common synonyms (`video_path`/`video_id`/`vid`; `span`/`segment`/`window`/`timestamps`;
  `query`/`caption`/`description`), optionally `id`, `question` and a chain of thought
  (`cot`/`reasoning`/`reasoning_process`/`think`) — TVG-Coldstart- and Time-R1-like samples.

Region dense captions (`read_dense_source`), PLM-Rdcap-like: a list of
`{"video", "total_frames", "objects": [{"id", "name"?, "captions": [{"start_frame", "end_frame",
"caption"}], "boxes": {"<frame>": [x1, y1, x2, y2]}}], "box_format"?}`, or PLM's own flat rows
`{"video", "masklet_id", "total_frames", "dense_captions": [...]}` (optionally with `boxes`), grouped
by video. Boxes default to pixels of the video (`box_format: "xyxy_px"`).

Every problem raises `SourceError` naming the file, the entry and the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from o3video.construction.source_items import KINDS, Caption, SourceItem, Track
from o3video.errors import InputError
from o3video.geometry import BoxFormat

_VIDEO_KEYS = ("video", "video_path", "video_id", "vid", "video_name")
_SPAN_KEYS = ("timestamp", "timestamps", "span", "segment", "window", "relevant_windows", "solution")
_SENTENCE_KEYS = ("sentence", "query", "caption", "description", "sentences")
_COT_KEYS = ("cot", "reasoning", "reasoning_process", "think", "thinking")
_FRAMES_KEYS = ("total_frames", "frame_count", "num_frames")


class SourceError(InputError):
    """A source file or entry that cannot be read; the message names the file and the entry."""


def _load_entries(path: Path) -> Any:
    """A JSON document, or the list of objects of a JSON lines file."""
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("[") or stripped.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            if not stripped.startswith("{"):
                raise SourceError(f"{path}: not valid JSON ({err})") from None
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise SourceError(f"{path}: line {number}: not valid JSON ({err.msg})") from None
    return entries


def _first(entry: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in entry and entry[key] not in (None, ""):
            return key, entry[key]
    return None, None


def _number(value: Any, where: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise SourceError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(out):
        raise SourceError(f"{where}: expected a finite number, got {value!r}")
    return out


def _spans(value: Any, where: str) -> list[list[float]]:
    """`[s, e]` or `[[s, e], ...]` as a list of spans, each checked to be increasing."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SourceError(f"{where}: expected [start, end], got {value!r}") from None
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(not isinstance(v, (list, tuple)) for v in value):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise SourceError(f"{where}: expected [start, end] or a list of them, got {value!r}")
    spans = []
    for i, span in enumerate(value):
        if not isinstance(span, (list, tuple)) or len(span) != 2:
            raise SourceError(f"{where}[{i}]: expected [start, end], got {span!r}")
        start, end = _number(span[0], f"{where}[{i}][0]"), _number(span[1], f"{where}[{i}][1]")
        if end < start or start < 0:
            raise SourceError(f"{where}[{i}]: span {span!r} must satisfy 0 <= start <= end")
        spans.append([start, end])
    return spans


def _source_name(path: Path, name: str | None) -> str:
    return name or path.stem


# --- temporal grounding ----------------------------------------------------------------------------


def read_temporal_source(path: str | Path, name: str | None = None, *, kind: str = "temporal") -> list[SourceItem]:
    """Items of a temporal-grounding file (layouts in the module docstring); `kind` is `temporal`
    (to annotate) or `temporal-qa` (to pass through as temporal QA)."""
    path = Path(path)
    if kind not in ("temporal", "temporal-qa"):
        raise ValueError(f"kind must be 'temporal' or 'temporal-qa', got {kind!r}")
    source = _source_name(path, name)
    data = _load_entries(path)
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        if any("sentences" in v or "timestamps" in v for v in data.values()):
            return list(_activitynet_items(path, source, data, kind))
        data = [{"video": key, **value} for key, value in data.items()]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a JSON object, a JSON array or JSON lines of objects")
    items = []
    for index, entry in enumerate(data):
        where = f"{path}: entry {index}"
        if not isinstance(entry, dict):
            raise SourceError(f"{where}: expected an object, got {type(entry).__name__}")
        items.append(_generic_temporal_item(entry, where, source, index, kind))
    _check_unique(path, items)
    return items


def _activitynet_items(path: Path, source: str, data: dict[str, Any], kind: str) -> Iterator[SourceItem]:
    for video, entry in data.items():
        where = f"{path}: video {video!r}"
        stamps, sentences = entry.get("timestamps"), entry.get("sentences")
        if not isinstance(stamps, list) or not isinstance(sentences, list) or len(stamps) != len(sentences):
            raise SourceError(f"{where}: needs lists 'timestamps' and 'sentences' of the same length")
        duration = _number(entry["duration"], f"{where}.duration") if "duration" in entry else None
        for k, (stamp, sentence) in enumerate(zip(stamps, sentences)):
            if not isinstance(sentence, str) or not sentence.strip():
                raise SourceError(f"{where}.sentences[{k}]: expected a non-empty string")
            yield SourceItem(
                id=f"{source}:{video}#{k}",
                kind=kind,
                source=source,
                video=str(video),
                duration=duration,
                spans=_spans(stamp, f"{where}.timestamps[{k}]"),
                sentence=sentence.strip(),
            )


def _generic_temporal_item(entry: dict[str, Any], where: str, source: str, index: int, kind: str) -> SourceItem:
    video_key, video = _first(entry, _VIDEO_KEYS)
    if video is None:
        raise SourceError(f"{where}: no video field (one of {', '.join(_VIDEO_KEYS)})")
    span_key, span = _first(entry, _SPAN_KEYS)
    if span is None:
        raise SourceError(f"{where}: no span field (one of {', '.join(_SPAN_KEYS)})")
    sentence_key, sentence = _first(entry, _SENTENCE_KEYS)
    if isinstance(sentence, list) and len(sentence) == 1:
        sentence = sentence[0]
    if not isinstance(sentence, str) or not sentence.strip():
        raise SourceError(f"{where}: no sentence (one of {', '.join(_SENTENCE_KEYS)} as a non-empty string)")
    duration = _number(entry["duration"], f"{where}.duration") if entry.get("duration") is not None else None
    _, cot = _first(entry, _COT_KEYS)
    if cot is not None and not isinstance(cot, str):
        raise SourceError(f"{where}: the chain of thought must be a string, got {type(cot).__name__}")
    raw_id = entry.get("id", entry.get("qid", f"{video}#{index}"))
    question = entry.get("question") or entry.get("problem")
    return SourceItem(
        id=f"{source}:{raw_id}",
        kind=kind,
        source=source,
        video=str(video),
        duration=duration,
        spans=_spans(span, f"{where}.{span_key}"),
        sentence=sentence.strip(),
        question=question.strip() if isinstance(question, str) and question.strip() else None,
        cot=cot,
    )


def _check_unique(path: Path, items: list[SourceItem]) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise SourceError(f"{path}: two entries have the id {item.id!r}; ids must be unique")
        seen.add(item.id)


# --- region dense captions -------------------------------------------------------------------------------


def read_dense_source(path: str | Path, name: str | None = None) -> list[SourceItem]:
    """Items of a PLM-Rdcap-like file (layouts in the module docstring), one per video."""
    path = Path(path)
    source = _source_name(path, name)
    data = _load_entries(path)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise SourceError(f"{path}: expected a JSON array or JSON lines of objects")
    grouped: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(data):
        where = f"{path}: entry {index}"
        if not isinstance(entry, dict):
            raise SourceError(f"{where}: expected an object, got {type(entry).__name__}")
        _, video = _first(entry, _VIDEO_KEYS)
        if video is None:
            raise SourceError(f"{where}: no video field (one of {', '.join(_VIDEO_KEYS)})")
        _, frames = _first(entry, _FRAMES_KEYS)
        if frames is None:
            raise SourceError(f"{where}: no frame count (one of {', '.join(_FRAMES_KEYS)})")
        group = grouped.setdefault(str(video), {"frames": frames, "tracks": [], "where": where,
                                                "box_format": entry.get("box_format", BoxFormat.XYXY_PIXELS.value),
                                                "duration": entry.get("duration"), "id": entry.get("id")})
        if "objects" in entry or "tracks" in entry:
            objects = entry.get("objects", entry.get("tracks"))
            if not isinstance(objects, list):
                raise SourceError(f"{where}.objects: expected a list of objects")
            group["tracks"] += [_track(obj, f"{where}.objects[{i}]") for i, obj in enumerate(objects)]
        elif "masklet_id" in entry:
            group["tracks"].append(_track({**entry, "id": entry["masklet_id"]}, where))
        else:
            raise SourceError(f"{where}: no 'objects' list and no 'masklet_id' (PLM row)")
    items = []
    for video, group in grouped.items():
        where = group["where"]
        try:
            box_format = BoxFormat(group["box_format"]).value
        except ValueError:
            raise SourceError(f"{where}.box_format: unknown {group['box_format']!r}") from None
        frame_count = int(_number(group["frames"], f"{where}.total_frames"))
        if frame_count < 1:
            raise SourceError(f"{where}.total_frames: must be positive, got {frame_count}")
        if not group["tracks"]:
            raise SourceError(f"{where}: no objects")
        ids = [t.id for t in group["tracks"]]
        if len(set(ids)) != len(ids):
            raise SourceError(f"{where}: object ids repeat ({ids})")
        duration = group["duration"]
        items.append(SourceItem(
            id=f"{source}:{group['id'] or video}",
            kind="dense",
            source=source,
            video=video,
            duration=_number(duration, f"{where}.duration") if duration is not None else None,
            frame_count=frame_count,
            tracks=group["tracks"],
            box_format=box_format,
        ))
    _check_unique(path, items)
    return items


def _track(obj: Any, where: str) -> Track:
    if not isinstance(obj, dict):
        raise SourceError(f"{where}: expected an object")
    if obj.get("id") is None:
        raise SourceError(f"{where}: no 'id'")
    captions_raw = obj.get("captions", obj.get("dense_captions", []))
    if not isinstance(captions_raw, list):
        raise SourceError(f"{where}.captions: expected a list")
    captions = []
    for i, cap in enumerate(captions_raw):
        at = f"{where}.captions[{i}]"
        if not isinstance(cap, dict) or not isinstance(cap.get("caption", cap.get("text")), str):
            raise SourceError(f"{at}: expected {{start_frame, end_frame, caption}}")
        start, end = int(_number(cap.get("start_frame"), f"{at}.start_frame")), int(_number(cap.get("end_frame"), f"{at}.end_frame"))
        if end < start:
            raise SourceError(f"{at}: end_frame {end} before start_frame {start}")
        captions.append(Caption(start, end, cap.get("caption", cap.get("text")).strip()))
    return Track(id=str(obj["id"]), name=obj.get("name"), captions=captions, boxes=_boxes(obj.get("boxes", {}), f"{where}.boxes"))


def _boxes(raw: Any, where: str) -> dict[int, list[float]]:
    """`{"<frame>": box}` or `[{"frame": f, "box": box}, ...]` as {frame: box}."""
    pairs: list[tuple[Any, Any]]
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        if not all(isinstance(b, dict) and "frame" in b and "box" in b for b in raw):
            raise SourceError(f"{where}: expected {{frame: box}} or a list of {{frame, box}}")
        pairs = [(b["frame"], b["box"]) for b in raw]
    else:
        raise SourceError(f"{where}: expected {{frame: box}} or a list of {{frame, box}}")
    out: dict[int, list[float]] = {}
    for frame, box in pairs:
        at = f"{where}[{frame!r}]"
        if not isinstance(box, (list, tuple)) or len(box) != 4:
            raise SourceError(f"{at}: expected [x1, y1, x2, y2], got {box!r}")
        out[int(_number(frame, at))] = [_number(v, at) for v in box]
    return out


def read_source(path: str | Path, kind: str, name: str | None = None) -> list[SourceItem]:
    """Items of a source file of `kind` (`temporal`, `dense` or `temporal-qa`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind == "dense":
        return read_dense_source(path, name)
    return read_temporal_source(path, name, kind=kind)


VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v")


def resolve_video(video: str, videos_dir: str | Path | None) -> Path:
    """The file of a source's video name: absolute as is, else under `videos_dir`; a name without an
    extension (ActivityNet ids) is tried with the usual video extensions."""
    path = Path(video)
    if not path.is_absolute() and videos_dir is not None:
        path = Path(videos_dir) / path
    if path.exists() or path.suffix.lower() in VIDEO_EXTENSIONS:
        return path
    for ext in VIDEO_EXTENSIONS:
        candidate = path.with_name(path.name + ext)
        if candidate.exists():
            return candidate
    return path


__all__ = ["SourceError", "read_dense_source", "read_source", "read_temporal_source", "resolve_video"]
