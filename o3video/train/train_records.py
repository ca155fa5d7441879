"""Training records: every STGR file of a run read and validated, each record with the prompt builder
for its media root, and an index-only `datasets.Dataset` whose rows are built on access.

The dataset holds only row numbers; a transform turns a row into what the trainer reads (SFT
messages, or an RL prompt plus the reward columns). So nothing image-shaped is ever serialised into
Arrow, the variable-keyed `key_items` reach the rewards as the dicts they are, and frames are decoded
once per video (frame cache) and built once per record (the builder's memory).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.data.stgr import RecordError, load_stgr
from o3video.geometry import BoxConvention
from o3video.train.train_config import DataConfig
from o3video.train.train_prompts import PromptBuilder, RecordPrompt, media_problem, record_name

log = logging.getLogger(__name__)


@dataclass
class TrainingRecord:
    record: dict[str, Any]
    builder: PromptBuilder

    def prompt(self) -> RecordPrompt:
        return self.builder(self.record)


def media_root(data: DataConfig, path: Path) -> Path:
    """The folder a training file's media paths are relative to: `data.root`, else the file's folder."""
    return Path(data.root) if data.root else path.parent


TrainingFiles = list[tuple[Path, list[dict[str, Any]]]]


def read_training_files(data: DataConfig) -> TrainingFiles:
    """Every file of `data.train` read and every record checked before anything is trained: its fields, and
    its media found (`load_stgr`) and readable (`media_problem`: the video probed, or its probe read from the
    frame cache, the images opened).

    The first bad record is a `RecordError` naming the file, the record and the field or media file; with
    `data.on_error=skip` bad records are left out, counted and reported, and the run goes on. A file with
    no usable record is an error too."""
    files, checked = [], {}
    for name in data.train:
        path = Path(name)
        root = media_root(data, path)
        loaded = load_stgr(path, on_error=data.on_error, media_root=root)  # type: ignore[arg-type]
        records = loaded.records[: data.limit] if data.limit else loaded.records
        skipped = [f"record {s.index}: {'; '.join(s.problems)}" for s in loaded.skipped]
        kept = []
        for record in records:
            problem = media_problem(record, root, checked, data.cache_dir)
            if problem is None:
                kept.append(record)
            elif data.on_error == "raise":
                raise RecordError(f"{path}: record {record_name(record)}: {problem}")
            else:
                skipped.append(f"record {record_name(record)}: {problem}")
        if skipped:
            log.warning("%s: skipped %d record(s) (data.on_error=skip), e.g. %s", path, len(skipped), skipped[0])
        if not kept:
            raise RecordError(f"{path}: no records to train on ({len(skipped)} skipped)")
        files.append((path, kept))
    return files


def load_training_records(data: DataConfig, frame_kwargs: dict[str, int] | None = None,
                          files: TrainingFiles | None = None,
                          box_convention: BoxConvention | str = BoxConvention.PIXELS) -> list[TrainingRecord]:
    """All records of `data.train` (each file's first `limit`), in file order, from `files` when they were
    read already (`read_training_files`); `frame_kwargs` is the processor's resize rule and `box_convention`
    the model's (see `PromptBuilder`)."""
    out: list[TrainingRecord] = []
    for path, records in files if files is not None else read_training_files(data):
        builder = PromptBuilder(data, media_root(data, path), frame_kwargs=frame_kwargs, box_convention=box_convention)
        out.extend(TrainingRecord(r, builder) for r in records)
    return out


def task_mix(records: list[TrainingRecord]) -> dict[str, int]:
    return dict(Counter(str(r.record.get("task")) for r in records))


def indexed_dataset(records: list[TrainingRecord], row: Callable[[TrainingRecord], dict[str, Any]]):
    """A `datasets.Dataset` of row numbers whose rows are `row(records[i])`, built on access."""
    from datasets import Dataset

    def transform(batch: dict[str, list[int]]) -> dict[str, list[Any]]:
        rows = [row(records[i]) for i in batch["index"]]
        return {key: [r[key] for r in rows] for key in rows[0]} if rows else {}

    dataset = Dataset.from_dict({"index": list(range(len(records)))})
    return dataset.with_transform(transform)


__all__ = ["TrainingRecord", "indexed_dataset", "load_training_records", "media_root", "read_training_files", "task_mix"]
