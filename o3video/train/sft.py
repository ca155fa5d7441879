"""Stage 1, cold start: supervised fine-tuning on STGR records with TRL's SFTTrainer.

All six task types are mixed in one shuffled dataset (each example carries its own task's prompt
and answer form); batches of several examples are padded by TRL's vision-language collator; the
loss is on the assistant's tokens only (`assistant_only_loss=True`, read from the chat template's
`{% generation %}` markers). Checkpoints go to `output_dir/checkpoint-N`; a rerun of the same command
resumes from the newest complete one, with every trained tensor; a finished run is left alone; the final model and processor are saved with `save_pretrained`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from o3video.models.load import frame_settings, set_box_convention
from o3video.train import common
from o3video.train.callbacks import METRICS_FILE, MetricsLogger
from o3video.train.lora import lora_config
from o3video.train.sft_data import sft_dataset
from o3video.train.train_config import TrainConfig
from o3video.train.train_records import load_training_records, read_training_files, task_mix

log = logging.getLogger(__name__)

SFT_DEFAULTS: dict[str, Any] = {
    "assistant_only_loss": True,
    "max_length": None,  # truncating a vision prompt would cut image tokens away from their pixels
    "learning_rate": 1e-6,  # the paper's
    "num_train_epochs": 1,
    "save_strategy": "steps",
    "save_steps": 500,
}


def sft_args(config: TrainConfig):
    """TRL's SFTConfig for `config` (made before the model loads: see `o3video.train.common.run_trainer`)."""
    from trl import SFTConfig

    return SFTConfig(**common.trainer_kwargs(config, SFT_DEFAULTS))


def build_sft_trainer(config: TrainConfig, *, args: Any = None, model: Any = None, processor: Any = None,
                      callbacks: Sequence[Any] = ()):
    """The SFTTrainer for `config` (model loaded unless given); nothing is trained yet."""
    from o3video.train.trainers import GroundedSFTTrainer

    common.set_threads(config.threads)
    args = args if args is not None else sft_args(config)
    out = common.prepare_output(config)
    files = read_training_files(config.data)  # every record checked before the model loads
    model, processor = common.load_for_training(config, model, processor)
    convention = set_box_convention(model, config.box_convention)  # targets and rewards write boxes in it
    records = load_training_records(config.data, frame_settings(processor), files, convention)
    log.info("SFT on %d records: %s", len(records), task_mix(records))
    if not args.assistant_only_loss:
        log.warning("assistant_only_loss is off: the loss includes the prompt's tokens (the reference code's defect)")
    trainer = GroundedSFTTrainer(
        model=model,
        args=args,
        train_dataset=sft_dataset(records),
        processing_class=processor,
        peft_config=lora_config(config.lora),
        callbacks=[MetricsLogger(out / METRICS_FILE), *callbacks],
    )
    common.replace_progress_bar(trainer, "SFT")
    return trainer, processor, out


def train_sft(config: TrainConfig, *, model: Any = None, processor: Any = None, callbacks: Sequence[Any] = ()) -> Path:
    """Run SFT (resuming from the last checkpoint in `output_dir` if any; a finished run is left as it is);
    returns the saved model's directory."""
    return common.run_trainer(config, sft_args, build_sft_trainer, model=model, processor=processor,
                              callbacks=callbacks)


__all__ = ["SFT_DEFAULTS", "build_sft_trainer", "sft_args", "train_sft"]
