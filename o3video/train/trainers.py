"""TRL's trainers with what o3video adds to them: a resume that restores every trained tensor
(`o3video.train.checkpoints.RestoresCheckpointWeights`), and for RL a prompt order that a resumed run
reproduces."""

from __future__ import annotations

from typing import Any

from trl import GRPOTrainer, SFTTrainer
from trl.trainer.utils import RepeatSampler

from o3video.train.checkpoints import RestoresCheckpointWeights


class GroundedSFTTrainer(RestoresCheckpointWeights, SFTTrainer):
    """TRL's SFTTrainer; resuming restores the checkpoint's weights under the model's own tensor names."""


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
    and the prompt order."""

    def _get_train_sampler(self, dataset: Any = None) -> Any:
        sampler = super()._get_train_sampler(dataset)
        if type(sampler) is RepeatSampler:
            sampler = EpochSeededRepeatSampler(
                sampler.data_source, sampler.mini_repeat_count, sampler.batch_size, sampler.repeat_count,
                sampler.shuffle, sampler.seed)
        return sampler


__all__ = ["EpochSeededRepeatSampler", "GroundedGRPOTrainer", "GroundedSFTTrainer"]
