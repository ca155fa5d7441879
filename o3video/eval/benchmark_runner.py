"""Reading benchmark annotations, finding their videos, and the resumable one-line-per-record loop
every evaluator shares: each finished record is appended at once; a rerun skips finished records; a
missing or corrupt video is recorded as that record's error and the run goes on."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from o3video.answer import VideoModel
from o3video.errors import InputError, Interrupted
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
    box_convention: str = AUTO_CONVENTION  # how the model writes boxes: auto (its config or family) | pixels | relative_1000
    # a served model (`model` = openai:BASE_URL:MODEL, `o3video.served`): its family (None: guessed from
    # its name), records asked at once, retries of a failed call, seconds per call
    served_family: str | None = None
    concurrency: int = 8
    retries: int = 4
    request_timeout: float = 120.0


# Fields that do not change what a record's answer is, so a resume may change them.
_NOT_SETTINGS = ("videos", "out", "cache_dir", "limit", "restart", "served_family", "concurrency", "retries",
                 "request_timeout")


def sample_video(video: Path, cfg: EvalRunConfig, model: VideoModel) -> Any:
    """The frames every evaluator shows the model (a `VideoModel`): `cfg.num_frames` at its input size (its
    resize rule), blank when `cfg.blank_frames`."""
    from o3video.answer import video_frames

    return video_frames(video, model, num_frames=cfg.num_frames, mode=cfg.mode, cache_dir=cfg.cache_dir,
                        blank=cfg.blank_frames)


def run_settings(cfg: EvalRunConfig) -> dict[str, Any]:
    """What makes this run's answers what they are (model, frames, decoding, the evaluator's own options),
    recorded beside the results and compared on resume; paths of existing files are made absolute. A
    served model's family is recorded (it decides the frame size); an in-process model has none."""
    from o3video.served import family_of, is_served

    settings = {k: v for k, v in asdict(cfg).items() if k not in _NOT_SETTINGS}
    for key in ("anno", "model"):
        if Path(str(settings[key])).exists():
            settings[key] = str(Path(str(settings[key])).resolve())
    if is_served(cfg.model):
        settings["served_family"] = family_of(cfg.model, cfg.served_family)
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


def run_records(records: list[dict[str, Any]], videos: Path, out: Path, ask: Ask, *, description: str,
                concurrency: int = 1) -> Path:
    """Call `ask(index, record, video)` for every record not yet in `out` and append `{key, index, **record,
    **answer}`; a missing video or a `VideoError` becomes the record's `error` instead. With `concurrency`
    > 1, that many records are asked at once (threads) and still appended in record order, so the file is
    the one a sequential run writes. An `InputError` from `ask` (a served model's failure) stops the run,
    naming the record. The caller holds `out`'s writer lock (`run_benchmark`)."""
    from rich.progress import Progress

    log = JsonlLog(out, key="key")
    todo = [(i, r) for i, r in enumerate(records) if record_key(i, r) not in log]
    kept = len(records) - len(todo)
    with Progress() as progress:
        if log.dropped_partial:
            progress.console.print(f"[yellow]{out}: dropped a last line cut short by an interruption; redoing it")
        if kept:
            progress.console.print(f"resuming {out}: {kept} finished record(s) kept, {len(todo)} to go")
        bar = progress.add_task(description, total=len(records), completed=kept)
        try:
            for entry in in_order(lambda item: _answer(*item, videos, ask), todo, concurrency):
                if "error" in entry:
                    progress.console.print(f"[yellow]record {entry['index']}: {entry['error']}")
                log.append(entry)
                kept += 1
                progress.advance(bar)
        except KeyboardInterrupt:
            raise Interrupted(f"{kept} of {len(records)} record(s) kept in {out}; "
                              "the same command resumes from there") from None
    return out


def _answer(index: int, record: dict[str, Any], videos: Path, ask: Ask) -> dict[str, Any]:
    """One record's results line (`run_records`)."""
    from o3video.video import VideoError

    entry = {"key": record_key(index, record), "index": index, **record}
    video = find_video(videos, record)
    try:
        if video is None:
            raise FileNotFoundError(f"no video for record {index} under {videos}")
        return entry | ask(index, record, video)
    except FileNotFoundError as err:
        return entry | {"error": str(err), "error_kind": "no video"}
    except VideoError as err:
        return entry | {"error": str(err), "error_kind": "unreadable video"}
    except InputError as err:
        raise InputError(f"record {index} ({entry['key']}): {err}") from None


def in_order(work: Callable[[Any], Any], items: Iterable[Any], concurrency: int = 1) -> Iterator[Any]:
    """`work(item)` of every item, in the items' order, `concurrency` at a time (threads; at most twice as
    many started ahead of the one awaited). The first exception is raised in order, and what was not started
    is cancelled."""
    if concurrency <= 1:
        yield from map(work, items)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    pending: deque[Any] = deque()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        try:
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) >= 2 * concurrency:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def failed_records(out: Path) -> InputError | None:
    """The records of results file `out` that failed before answering, summarised by kind (`error_kind`) with the
    first of each named, as the error that ends the command; None when every record was answered."""
    from collections import Counter

    entries = json_records(out)
    failed = [e for e in entries if isinstance(e, dict) and e.get("error")]
    if not failed:
        return None
    kinds = Counter(str(e.get("error_kind", "error")) for e in failed)
    firsts = {kind: next(e for e in failed if str(e.get("error_kind", "error")) == kind) for kind in kinds}
    summary = "; ".join(f"{count} {kind} (first: record {firsts[kind].get('index')}: {firsts[kind]['error']})"
                        for kind, count in kinds.items())
    return InputError(f"{out}: {len(failed)} of {len(entries)} record(s) failed before answering: {summary}")


def load_results(path: str | Path) -> list[dict[str, Any]]:
    """A results file: JSON lines (ours) or a JSON list; a bad line is named by its number."""
    return json_records(path)


def run_benchmark(cfg: EvalRunConfig, ask: Callable[..., dict[str, Any]], *, description: str,
                  model: VideoModel | None = None) -> Path:
    """Run `ask(model, index, record, video, cfg)` over the first `cfg.limit` annotation records,
    resumably, opening the model (a `o3video.answer.VideoModel`, unless given) once the run may go ahead.
    A served model is asked about `cfg.concurrency` records at once; an in-process one, one at a time.

    One process writes `cfg.out` at a time (`OUT.lock`); the run's settings are recorded beside it
    (`OUT.settings.json`) and a resume with other settings is refused (`cfg.restart` starts over instead),
    so two runs never mix in one file."""
    records = load_annotations(cfg.anno)[: cfg.limit]
    with WriterLock(cfg.out):
        check_settings(cfg.out, run_settings(cfg), restart=cfg.restart)
        if model is None:
            from o3video.answer import load_video_model

            model = load_video_model(cfg.model, max_pixels=cfg.max_pixels, family=cfg.served_family,
                                     retries=cfg.retries, timeout=cfg.request_timeout, box_convention=cfg.box_convention)
        else:
            from o3video.answer import set_video_model_convention

            set_video_model_convention(model, cfg.box_convention)
        return run_records(records, cfg.videos, cfg.out, lambda i, r, v: ask(model, i, r, v, cfg),
                           description=description, concurrency=cfg.concurrency if model.concurrent else 1)
