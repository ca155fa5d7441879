"""RL rows: the record's prompt (shared builder, key frames inserted) and the columns the rewards read.

GRPOTrainer takes conversational prompts whose user turn holds the images itself (it collects them
from the content items, in order, for every generation) and passes every other column of the row
to each reward function, one value per completion. The reward columns are the record as
`o3video.data.stgr.reward_sample` makes it: `image_size` is the model-input [W, H] of this prompt's
frames, `original_image_size` the released image size (visual QA), `box_convention` the model's (the
rewards compare its boxes with the ground truth converted into it).
"""

from __future__ import annotations

from typing import Any

from o3video.data.stgr import reward_sample
from o3video.train.train_prompts import record_name
from o3video.train.train_records import TrainingRecord, indexed_dataset

# Every row has these reward columns (None where a record has no such field), so batches stay rectangular.
REWARD_COLUMNS = ("task", "answer", "key_frames", "key_items", "image_size", "original_image_size", "box_convention")


def rl_row(item: TrainingRecord) -> dict[str, Any]:
    prompt = item.prompt()
    sample = reward_sample(item.record, prompt.input_size, prompt.box_convention)
    row: dict[str, Any] = {"prompt": prompt.messages, "record_id": record_name(item.record),
                           "vstar_kind": item.record.get("vstar_kind")}
    row.update({column: sample.get(column) for column in REWARD_COLUMNS})
    return row


def rl_dataset(records: list[TrainingRecord]):
    """A `datasets.Dataset` of RL rows, built on access (see `o3video.train.train_records`)."""
    return indexed_dataset(records, rl_row)


__all__ = ["REWARD_COLUMNS", "rl_dataset", "rl_row"]
