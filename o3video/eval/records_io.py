"""Reading benchmark annotations, finding their videos, and the resumable one-line-per-record loop
every evaluator shares: each finished record is appended at once; a rerun skips finished records; a
missing or corrupt video is recorded as that record's error and the run goes on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from o3video.geometry import AUTO_CONVENTION, MAX_PIXELS
from o3video.io import JsonlLog, WriterLock, check_settings, json_records

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")


@dataclass
class EvalRunConfig:
    """What every benchmark run needs; each evaluator's config extends it."""

    anno: Path
    videos: Path
    model: str
    out: Path
    num_frames: int = 16
    mode: str = "exact"
    max_pixels: int = MAX_PIXELS
    max_new_tokens: int = 512
    cache_dir: Path | None = None  # frame cache (o3video.video), shared across runs
    limit: int | None = None
    restart: bool = False  # start `out` over instead of refusing a resume with other settings
    blank_frames: bool = False  # the blind baseline: every frame replaced by a blank one (times kept)
    box_convention: str = AUTO_CONVENTION  # how the model writes boxes: auto (its config) | pixels | relative_1000


# Fields that do not change what a record's answer is, so a resume may change them.
_NOT_SETTINGS = ("videos", "out", "cache_dir", "limit", "restart")


def sample_video(video: Path, cfg: EvalRunConfig, processor: Any) -> Any:
    """The frames every evaluator shows the model: `cfg.num_frames` at the processor's input size (its
    resize rule), blank when `cfg.blank_frames`."""
    from o3video.answer import video_frames

    return video_frames(video, processor, num_frames=cfg.num_frames, mode=cfg.mode, cache_dir=cfg.cache_dir,
                        blank=cfg.blank_frames)


def run_settings(cfg: EvalRunConfig) -> dict[str, Any]:
    """What makes this run's answers what they are (model, frames, decoding, the evaluator's own options),
    recorded beside the results and compared on resume; paths of existing files are made absolute."""
    settings = {k: v for k, v in asdict(cfg).items() if k not in _NOT_SETTINGS}
    for key in ("anno", "model"):
        if Path(str(settings[key])).exists():
            settings[key] = str(Path(str(settings[key])).resolve())
    return settings


def load_annotations(path: str | Path) -> list[dict[str, Any]]:
    """Annotations as a JSON list (as benchmarks release them) or JSON lines; a bad line is named by its number."""
    return json_records(path)


def find_video(videos: Path, record: dict[str, Any]) -> Path | None:
    """The record's video: its `video_path` (absolute, or relative to `videos`), else `<id>.<ext>` for
    its `vid` / `video` / `videoID` directly under `videos`, else anywhere below it."""
    if record.get("video_path"):
        path = Path(record["video_path"])
        path = path if path.is_absolute() else videos / path
        if path.is_file():
            return path
        name_only = videos / path.name
        return name_only if name_only.is_file() else None
    vid = next((str(record[k]) for k in ("vid", "video", "videoID", "video_id") if record.get(k)), None)
    if vid is None:
        return None
    for suffix in ("", *VIDEO_SUFFIXES):
        if (videos / f"{vid}{suffix}").is_file():
            return videos / f"{vid}{suffix}"
    for suffix in VIDEO_SUFFIXES:
        found = next(videos.rglob(f"{vid}{suffix}"), None)
        if found is not None:
            return found
    return None


def record_key(index: int, record: dict[str, Any]) -> str:
    ident = next((record[k] for k in ("id", "vid", "video_path", "video") if record.get(k)), "")
    return f"{index}:{ident}"


Ask = Callable[[int, dict[str, Any], Path], dict[str, Any]]  # (index, record, video) -> answer fields


def run_records(records: list[dict[str, Any]], videos: Path, out: Path, ask: Ask, *, description: str) -> Path:
    """Call `ask(index, record, video)` for every record not yet in `out` and append `{key, index, **record,
    **answer}`; a missing video or a `VideoError` becomes the record's `error` instead. The caller holds
    `out`'s writer lock (`run_benchmark`)."""
    from rich.progress import Progress

    from o3video.video import VideoError

    log = JsonlLog(out, key="key")
    todo = [(i, r) for i, r in enumerate(records) if record_key(i, r) not in log]
    with Progress() as progress:
        if log.dropped_partial:
            progress.console.print(f"[yellow]{out}: dropped a last line cut short by an interruption; redoing it")
        bar = progress.add_task(description, total=len(todo))
        for index, record in todo:
            entry = {"key": record_key(index, record), "index": index, **record}
            video = find_video(videos, record)
            try:
                if video is None:
                    raise FileNotFoundError(f"no video for record {index} under {videos}")
                entry |= ask(index, record, video)
            except (VideoError, FileNotFoundError) as err:
                entry["error"] = str(err)
                progress.console.print(f"[yellow]record {index}: {err}")
            log.append(entry)
            progress.advance(bar)
    return out


def load_results(path: str | Path) -> list[dict[str, Any]]:
    """A results file: JSON lines (ours) or a JSON list; a bad line is named by its number."""
    return json_records(path)


def run_benchmark(cfg: EvalRunConfig, ask: Callable[..., dict[str, Any]], *, description: str, model: Any = None,
                  processor: Any = None) -> Path:
    """Run `ask(model, processor, index, record, video, cfg)` over the first `cfg.limit` annotation records,
    resumably, loading the model (unless given) once the run may go ahead.

    One process writes `cfg.out` at a time (`OUT.lock`); the run's settings are recorded beside it
    (`OUT.settings.json`) and a resume with other settings is refused (`cfg.restart` starts over instead),
    so two runs never mix in one file."""
    records = load_annotations(cfg.anno)[: cfg.limit]
    with WriterLock(cfg.out):
        check_settings(cfg.out, run_settings(cfg), restart=cfg.restart)
        if model is None:
            from o3video.models import load_model

            model, processor = load_model(cfg.model, max_pixels=cfg.max_pixels, box_convention=cfg.box_convention)
        else:
            from o3video.models import set_box_convention

            set_box_convention(model, cfg.box_convention)
        return run_records(records, cfg.videos, cfg.out, lambda i, r, v: ask(model, processor, i, r, v, cfg),
                           description=description)
