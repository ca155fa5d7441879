"""Frames extracted once, before training: every video record of a training config probed and its frames
decoded into the frame cache (`data.cache_dir`), exactly as the prompt builder will ask for them (the same
count, key-frame times, resize rule and mode, so each later request is a cache hit).

Training then reads a file per record instead of decoding a video, and its check of every record before the
first step reads each probe from the cache (`cached_probe`) instead of opening the video again, on every rank.
Entries are written atomically, so a killed extraction resumes where it stopped: what was cached is a hit.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from o3video.errors import InputError
from o3video.train.train_config import TrainConfig
from o3video.train.train_prompts import PromptBuilder, RecordMediaError, task_of


@dataclass
class Extraction:
    """What one extraction did, in records: frames decoded now, found in the cache already (another record of the
    same video asked for the same frames, or an earlier extraction did), skipped
    (`data.on_error=skip`: media that cannot be read, with the first problem), and visual-QA records (no video)."""

    decoded: int = 0
    cached: int = 0
    skipped: list[str] = field(default_factory=list)
    images: int = 0

    @property
    def videos(self) -> int:
        return self.decoded + self.cached


Job = tuple[PromptBuilder, list[dict[str, Any]]]  # the records of one media file, with their prompt builder


def frame_jobs(config: TrainConfig) -> list[Job]:
    """One job per media file of `config.data.train` (so no two workers decode the same video): its records,
    each checked (and its video probed into the cache) as training checks it, with a prompt builder that carries
    the processor's resize rule."""
    from o3video.models.load import frame_settings, load_processor
    from o3video.train.common import processor_pixels
    from o3video.train.train_records import media_root, read_training_files

    if not config.data.cache_dir:
        raise InputError("data.cache_dir is not set: frames extracted ahead need a cache directory to go to")
    files = read_training_files(config.data)
    settings = frame_settings(load_processor(config.model, max_pixels=processor_pixels(config)))
    jobs: dict[tuple[int, str], Job] = {}
    for number, (path, records) in enumerate(files):
        builder = PromptBuilder(config.data, media_root(config.data, path), frame_kwargs=settings, memory=0)
        for record in records:
            media = str(record.get("video_path") or record.get("image_path"))
            jobs.setdefault((number, media), (builder, []))[1].append(record)
    return list(jobs.values())


def extract_one(job: Job) -> list[tuple[str, str | None]]:
    """Per record of the job: ("image" | "cached" | "decoded" | "skipped", the problem when skipped)."""
    builder, records = job
    outcomes: list[tuple[str, str | None]] = []
    for record in records:
        if task_of(record).uses_image:
            outcomes.append(("image", None))
            continue
        try:
            prompt = builder.build(record)
        except RecordMediaError as error:
            if builder.data.on_error == "raise":
                raise
            outcomes.append(("skipped", str(error)))
            continue
        outcomes.append(("cached" if prompt.frames.from_cache else "decoded", None))
    return outcomes


def extract(jobs: list[Job], workers: int = 1) -> Iterator[list[tuple[str, str | None]]]:
    """`extract_one` of every job, in order, with `workers` processes (1: in this one)."""
    if workers <= 1:
        yield from map(extract_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(extract_one, jobs)


def extract_frames(config: TrainConfig, workers: int = 1, *, show_progress: bool = True) -> Extraction:
    """Probe and decode into `config.data.cache_dir` every video record's frames that are not cached yet."""
    from o3video.progress import ProgressBar

    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    jobs = frame_jobs(config)
    done = Extraction()
    with ProgressBar(sum(len(records) for _, records in jobs), desc="frames", unit="record",
                     disable=not show_progress) as bar:
        for outcomes in extract(jobs, workers):
            for outcome, problem in outcomes:
                if outcome == "skipped":
                    done.skipped.append(str(problem))
                elif outcome == "image":
                    done.images += 1
                elif outcome == "cached":
                    done.cached += 1
                else:
                    done.decoded += 1
            bar.update(len(outcomes))
            bar.set_postfix(decoded=done.decoded, cached=done.cached)
    return done


__all__ = ["Extraction", "extract_frames", "frame_jobs"]
