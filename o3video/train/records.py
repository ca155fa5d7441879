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
from o3video.train.config import DataConfig
from o3video.train.prompts import PromptBuilder, RecordPrompt, record_name

log = logging.getLogger(__name__)


@dataclass
class TrainingRecord:
    record: dict[str, Any]
    builder: PromptBuilder

    def prompt(self) -> RecordPrompt:
        return self.builder(self.record)


def load_training_records(data: DataConfig, frame_kwargs: dict[str, int] | None = None) -> list[TrainingRecord]:
    """All records of `data.train` (each file's first `limit`), in file order; `frame_kwargs` is the
    processor's resize rule (see `PromptBuilder`).

    Every record is validated and its media checked (found, readable) before training starts. A bad
    one stops the run with a `RecordError` naming file, record and field or media file; with
    `data.on_error: skip` it is left out, counted and reported, and the run goes on."""
    out: list[TrainingRecord] = []
    for name in data.train:
        path = Path(name)
        loaded = load_stgr(path, on_error=data.on_error)  # type: ignore[arg-type]
        builder = PromptBuilder(data, Path(data.root) if data.root else path.parent, frame_kwargs=frame_kwargs)
        records = loaded.records[: data.limit] if data.limit else loaded.records
        skipped = [f"record {s.index}: {'; '.join(s.problems)}" for s in loaded.skipped]
        for index, record in enumerate(records):
            problem = builder.media_problem(record)
            if problem is None:
                out.append(TrainingRecord(record, builder))
            elif data.on_error == "raise":
                raise RecordError(f"{path}: record {index} ({record_name(record)}): {problem}")
            else:
                skipped.append(f"record {index}: {problem}")
        if skipped:
            log.warning("%s: skipped %d record(s) (data.on_error=skip), e.g. %s", path, len(skipped), skipped[0])
    if not out:
        raise RecordError(f"no usable training records in {data.train}")
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


__all__ = ["TrainingRecord", "indexed_dataset", "load_training_records", "task_mix"]
