"""Run a model on V-STaR-format annotations: five prompts per record, one JSON line per finished record,
resumable. The result lines carry the benchmark's own field names, so `vstar_metrics` (and the
benchmark's scripts) read them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.eval.vstar_protocol import (
    PARSED_FIELD,
    RAW_FIELD,
    parse_spatial_answer,
    parse_temporal_answer,
    rescale_spatial,
    vstar_prompts,
)

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")


@dataclass
class VStarRunConfig:
    anno: Path
    videos: Path
    model: str
    out: Path
    num_frames: int = 16
    mode: str = "exact"
    max_pixels: int = 128 * 28 * 28
    max_new_tokens: int = 512
    cache_dir: Path | None = None
    limit: int | None = None


def load_annotations(path: str | Path) -> list[dict[str, Any]]:
    """V-STaR annotations: a JSON list (as released) or JSON lines."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            return json.loads(text)
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def find_video(videos: Path, vid: str) -> Path | None:
    """`<vid>.<ext>` directly under `videos`, else anywhere below it."""
    for suffix in VIDEO_SUFFIXES:
        if (videos / f"{vid}{suffix}").is_file():
            return videos / f"{vid}{suffix}"
    for suffix in VIDEO_SUFFIXES:
        found = next(videos.rglob(f"{vid}{suffix}"), None)
        if found is not None:
            return found
    return None


def record_key(index: int, record: dict[str, Any]) -> str:
    return f"{index}:{record.get('vid', '')}"


def finished_keys(out: Path) -> set[str]:
    """Keys of the records already in `out`. A line cut short by an interruption is dropped (the file is
    rewritten without it) so that record is asked again."""
    if not out.exists():
        return set()
    lines, keys = [], set()
    for line in out.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        lines.append(line)
        keys.add(entry["key"])
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    os.replace(tmp, out)
    return keys


def ask_record(model: Any, processor: Any, record: dict[str, Any], video: Path, cfg: VStarRunConfig) -> dict[str, Any]:
    """The five answers for one record, raw and parsed, boxes rescaled to the original video size."""
    from o3video.models import generate
    from o3video.video import sample_frames
    from o3video.video.prompt import build_messages

    frames = sample_frames(video, cfg.num_frames, mode=cfg.mode, max_pixels=cfg.max_pixels, cache_dir=cfg.cache_dir)
    prompts = vstar_prompts(record)
    batch = [build_messages(frames.frames, p.question, p.task, duration=frames.duration, instruction=p.instruction) for p in prompts]
    answers = [out[0] for out in generate(model, processor, batch, max_new_tokens=cfg.max_new_tokens)]
    result: dict[str, Any] = {"input_size": list(frames.input_size), "frame_times": [f.timestamp for f in frames.frames]}
    original = (record["width"], record["height"])
    for prompt, raw in zip(prompts, answers):
        result[RAW_FIELD[prompt.kind]] = raw
        if prompt.kind.startswith("when"):
            result[PARSED_FIELD[prompt.kind]] = parse_temporal_answer(raw)
        elif prompt.kind.startswith("where"):
            result[PARSED_FIELD[prompt.kind]] = rescale_spatial(parse_spatial_answer(raw), frames.input_size, original)
    return result


def whole_video_baseline(record: dict[str, Any]) -> dict[str, Any]:
    """The trivial baseline: the whole video as the span and the whole frame as the box at every whole
    second, for both chains, and no *what* answer. What any grounding must beat."""
    from o3video.eval.vstar_protocol import video_length

    length, (w, h) = video_length(record), (record["width"], record["height"])
    boxes = {str(s): [0, 0, w, h] for s in range(int(length) + 1)}
    return {"answer_vqa": "", "answer_temporal": [0.0, length], "answer_temporal_2": [0.0, length],
            "answer_spatial": boxes, "answer_spatial_2": boxes}


def write_baseline(anno: Path, out: Path) -> Path:
    """Results file of `whole_video_baseline` for every record of `anno`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for index, record in enumerate(load_annotations(anno)):
            f.write(json.dumps({"key": record_key(index, record), "index": index, **record, **whole_video_baseline(record)}) + "\n")
    return out


def pending(cfg: VStarRunConfig) -> Iterator[tuple[int, dict[str, Any]]]:
    records = load_annotations(cfg.anno)[: cfg.limit]
    done = finished_keys(cfg.out)
    for index, record in enumerate(records):
        if record_key(index, record) not in done:
            yield index, record


def run_vstar(cfg: VStarRunConfig, *, model: Any = None, processor: Any = None) -> Path:
    """Answer every record not yet in `cfg.out`; each finished record is appended at once."""
    from rich.progress import Progress

    from o3video.video import VideoError

    if model is None:
        from o3video.models import load_model

        model, processor = load_model(cfg.model, max_pixels=cfg.max_pixels)
    todo = list(pending(cfg))
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    with cfg.out.open("a", encoding="utf-8") as out, Progress() as progress:
        bar = progress.add_task(f"V-STaR {cfg.anno.name}", total=len(todo))
        for index, record in todo:
            entry = {"key": record_key(index, record), "index": index, **record}
            video = find_video(cfg.videos, str(record.get("vid")))
            try:
                if video is None:
                    raise FileNotFoundError(f"no video for vid {record.get('vid')!r} under {cfg.videos}")
                entry |= ask_record(model, processor, record, video, cfg)
            except (VideoError, FileNotFoundError) as err:
                entry["error"] = str(err)
                progress.console.print(f"[yellow]record {index} ({record.get('vid')}): {err}")
            out.write(json.dumps(entry) + "\n")
            out.flush()
            progress.advance(bar)
    return cfg.out
