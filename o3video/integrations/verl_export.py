"""STGR RL records as verl's RL parquet (the layout of verl's multimodal examples), for training with verl and Ray.

One row per record, built by the same prompt builder as `o3video train rl` (frames with their true-time labels,
key frames inserted, the model's resize rule and box convention):

* `data_source`: where the rows come from (default `o3video/stgr`);
* `prompt`: the chat, system and user turns, each image of the user turn replaced by `<image>` in its text
  (verl's `RLHFDataset` puts the row's images back in their places, in order);
* `images`: those images, in order, as PNG bytes (`{"bytes": ...}`, the form of a `datasets` Image);
* `ability`, `reward_model` (`style` "rule", `ground_truth`: the reward sample as JSON, read by
  `o3video.integrations.verl.compute_score`), `extra_info` (index, record id, task).

Rows are written in row groups as they are built (a frame-heavy file never sits in memory whole), into a temporary
file renamed into place when complete: a killed export leaves no partial parquet, and rerunning it writes the same.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from o3video.train.rl_data import REWARD_COLUMNS
from o3video.train.train_config import TrainConfig
from o3video.train.train_prompts import record_name
from o3video.train.train_records import TrainingRecord

IMAGE_PLACEHOLDER = "<image>"  # verl's RLHFDataset splits a turn's text on it
ROW_GROUP = 64


def schema():
    import pyarrow as pa

    text = pa.string()
    return pa.schema([
        ("data_source", text),
        ("prompt", pa.list_(pa.struct([("role", text), ("content", text)]))),
        ("images", pa.list_(pa.struct([("bytes", pa.binary())]))),
        ("ability", text),
        ("reward_model", pa.struct([("style", text), ("ground_truth", text)])),
        ("extra_info", pa.struct([("index", pa.int64()), ("record_id", text), ("task", text)])),
    ])


def png_bytes(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def verl_chat(messages: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[dict[str, bytes]]]:
    """Chat messages whose content lists hold images and texts -> messages of plain text with `<image>` where each
    image was, and the images in that order."""
    chat, images = [], []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            chat.append({"role": message["role"], "content": content})
            continue
        parts = []
        for item in content:
            if item.get("type") == "image":
                parts.append(IMAGE_PLACEHOLDER)
                images.append({"bytes": png_bytes(item["image"])})
            else:
                parts.append(item.get("text", ""))
        chat.append({"role": message["role"], "content": "".join(parts)})
    return chat, images


def verl_row(item: TrainingRecord, index: int, data_source: str) -> dict[str, Any]:
    """The verl row of one training record."""
    from o3video.data.stgr import reward_sample

    prompt = item.prompt()
    sample = reward_sample(item.record, prompt.input_size, prompt.box_convention)
    chat, images = verl_chat(prompt.messages)
    return {
        "data_source": data_source,
        "prompt": chat,
        "images": images,
        "ability": "grounded-video-reasoning",
        "reward_model": {"style": "rule", "ground_truth": json.dumps({c: sample.get(c) for c in REWARD_COLUMNS})},
        "extra_info": {"index": index, "record_id": record_name(item.record), "task": str(item.record.get("task"))},
    }


def training_records(config: TrainConfig) -> list[TrainingRecord]:
    """`config.data.train`'s records with prompt builders that follow the model's processor and box convention,
    the model's weights not loaded."""
    from o3video.models.load import frame_settings, load_processor
    from o3video.train.common import processor_pixels
    from o3video.train.train_records import load_training_records

    settings = frame_settings(load_processor(config.model, max_pixels=processor_pixels(config)))
    return load_training_records(config.data, settings, box_convention=model_box_convention(config))


def model_box_convention(config: TrainConfig) -> Any:
    """The box convention training would use: `config.box_convention`, or with `auto` the model config's."""
    from transformers import AutoConfig

    from o3video.geometry import AUTO_CONVENTION, BoxConvention
    from o3video.models.load import box_convention_of, lora_adapter, resolve_checkpoint

    if config.box_convention != AUTO_CONVENTION:
        return BoxConvention(config.box_convention)
    adapter = lora_adapter(config.model)
    source = adapter["base_model_name_or_path"] if adapter else resolve_checkpoint(config.model)
    return box_convention_of(AutoConfig.from_pretrained(str(source)))


def verl_rows(records: list[TrainingRecord], data_source: str) -> Iterator[dict[str, Any]]:
    for index, item in enumerate(records):
        yield verl_row(item, index, data_source)


def write_verl_parquet(rows: Iterator[dict[str, Any]], out: str | Path, *, on_row: Any = None) -> int:
    """Write `rows` to the parquet `out` (atomically, in row groups); returns how many were written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from o3video.io import atomic_path

    count, batch = 0, []
    with atomic_path(out) as tmp, pq.ParquetWriter(str(tmp), schema()) as writer:
        for row in rows:
            batch.append(row)
            count += 1
            if on_row is not None:
                on_row()
            if len(batch) == ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema()))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema()))
    return count


__all__ = ["IMAGE_PLACEHOLDER", "training_records", "verl_chat", "verl_row", "verl_rows", "write_verl_parquet"]
