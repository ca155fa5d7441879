"""Training: SFT cold start and GSPO reinforcement learning on TRL, driven by YAML configs.

    from o3video.train import load_config, train_sft, train_rl
    train_sft(load_config("tiny_sft.yaml", ["trainer.max_steps=10"]))  # a shipped config, by name

Heavy dependencies (torch, TRL) are imported by the functions that need them.
"""

from o3video.train.train_config import ConfigError, DataConfig, RewardConfig, TrainConfig, load_config


def train_sft(*args, **kwargs):
    from o3video.train.sft import train_sft as run

    return run(*args, **kwargs)


def train_rl(*args, **kwargs):
    from o3video.train.rl import train_rl as run

    return run(*args, **kwargs)


__all__ = ["ConfigError", "DataConfig", "RewardConfig", "TrainConfig", "load_config", "train_rl", "train_sft"]
