"""TRL's trainers with what o3video adds to them: a resume that restores every trained tensor
(`o3video.train.checkpoints.RestoresCheckpointWeights`), and for RL a prompt order that a resumed run
reproduces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trl import GRPOTrainer, SFTTrainer
from trl.trainer.utils import RepeatSampler

from o3video.train.checkpoints import STATE_FILE, RestoresCheckpointWeights
from o3video.train.completion_log import CompletionLog

TOKEN_COUNT = "o3video_sft_num_tokens"  # our entry in a checkpoint's trainer_state.json (`stateful_callbacks`)


class GroundedSFTTrainer(RestoresCheckpointWeights, SFTTrainer):
    """TRL's SFTTrainer; resuming restores the checkpoint's weights under the model's own tensor names, and the
    count of tokens trained so far that TRL logs as `num_tokens` (TRL keeps it on the trainer only, so a resumed
    run would count from 0 again): it is saved in the checkpoint's `trainer_state.json` and read back."""

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        self.state.stateful_callbacks[TOKEN_COUNT] = {"attributes": {"num_tokens": self._total_train_tokens}}
        super()._save_checkpoint(model, trial)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        saved = json.loads((Path(resume_from_checkpoint) / STATE_FILE).read_text(encoding="utf-8"))
        entry = saved.get("stateful_callbacks", {}).get(TOKEN_COUNT, {})
        self._total_train_tokens = entry.get("attributes", {}).get("num_tokens", 0)


class EpochSeededRepeatSampler(RepeatSampler):
    """TRL's RepeatSampler whose shuffle depends only on (seed, epoch).

    TRL draws every epoch's order from one running generator, so a run resumed after epoch k (the
    Trainer skips finished epochs without drawing their orders) would see epoch 0's order again and
    sample other groups than the uninterrupted run. The Trainer calls `set_epoch` before each epoch."""

    def set_epoch(self, epoch: int) -> None:
        if self.shuffle and self.seed is not None:
            self.generator.manual_seed(self.seed + epoch)


class GroundedGRPOTrainer(RestoresCheckpointWeights, GRPOTrainer):
    """TRL's GRPOTrainer (GSPO with `importance_sampling_level="sequence"`); resuming restores the weights
    and the prompt order; with a `completion_log`, the main process writes the latest rollout to it as it logs."""

    completion_log: CompletionLog | None = None

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        super().log(logs, start_time)
        if self.completion_log is not None and self.accelerator.is_main_process:
            self.completion_log.write(self.state.global_step, self._logs)

    def _get_train_sampler(self, dataset: Any = None) -> Any:
        sampler = super()._get_train_sampler(dataset)
        if type(sampler) is RepeatSampler:
            sampler = EpochSeededRepeatSampler(
                sampler.data_source, sampler.mini_repeat_count, sampler.batch_size, sampler.repeat_count,
                sampler.shuffle, sampler.seed)
        return sampler


__all__ = ["EpochSeededRepeatSampler", "GroundedGRPOTrainer", "GroundedSFTTrainer"]
