"""Shared by the SFT and RL resume tests: SIGKILL a run after a checkpoint, resume it, and compare the
weights the resumed run starts from with the checkpoint's, and its final model with an uninterrupted run's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from transformers import TrainerCallback

HERE = Path(__file__).parent


class WeightsAtStart(TrainerCallback):
    """Keeps a copy of the model's weights as training (re)starts, after any checkpoint was loaded."""

    def __init__(self) -> None:
        self.step = None
        self.weights = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.step = state.global_step
        self.weights = {k: v.detach().clone() for k, v in model.state_dict().items()}


def kill_after_checkpoint(stage: str, step: int, overrides: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(HERE / "kill_after_checkpoint.py"), stage, str(step), *overrides],
                          capture_output=True, text=True, env=env, timeout=600)


def weights(path: Path) -> dict[str, torch.Tensor]:
    from o3video.models import load_model

    model, _ = load_model(path)
    return {k: v.detach() for k, v in model.state_dict().items()}


def logged_steps(out: Path) -> list[int]:
    """Steps of the per-step rows of metrics.jsonl (the end-of-training summary row is not a step)."""
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [row["step"] for row in rows if "train_runtime" not in row]
