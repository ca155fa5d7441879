"""Trainer callbacks: every logged step to `metrics.jsonl` (with σ for RL), and a compact progress bar.

TRL's GRPOTrainer logs, per step, `rewards/<term>_reward/mean` for each of the paper's reward terms,
`reward`, `kl` (when `beta > 0`), `clip_ratio/*`, `completions/mean_length`; SFTTrainer logs `loss`
and `mean_token_accuracy`. `MetricsLogger` appends each log as one JSON line so curves can be drawn
during or after a run, and a resumed run keeps appending to the same file after dropping the rows of the steps it redoes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from o3video.io import atomic_write_text, json_line
from o3video.rewards import progress_at, proximity_sigma

METRICS_FILE = "metrics.jsonl"

# Short names for the progress bar, in the order they are shown.
_SHORT = {
    "loss": "loss",
    "reward": "reward",
    "rewards/accuracy_reward/mean": "acc",
    "rewards/temporal_reward/mean": "r_t",
    "rewards/spatial_reward/mean": "r_s",
    "rewards/format_reward/mean": "fmt",
    "kl": "kl",
    "completions/mean_length": "len",
    "mean_token_accuracy": "tok_acc",
}


class MetricsLogger(TrainerCallback):
    """Appends `{"step", "epoch", "time", **logs, **extra(state)}` to `path` at every log event."""

    def __init__(self, path: str | Path, extra: Callable[[Any], dict[str, Any]] | None = None) -> None:
        self.path = Path(path)
        self.extra = extra
        self.start = time.time()

    def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001 - transformers' signature
        """Keep only the rows up to the step training starts from: the steps after a resumed checkpoint
        are trained again and logged again, so their old rows (and a line cut by a kill) go."""
        if not state.is_world_process_zero or not self.path.exists():
            return
        kept = [row for row in read_metrics(self.path) if row.get("step", 0) <= state.global_step]
        atomic_write_text(self.path, "".join(json_line(row) for row in kept))

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001 - transformers' signature
        if not logs or not state.is_world_process_zero:
            return
        row = {"step": state.global_step, "epoch": state.epoch, "time": round(time.time() - self.start, 2)}
        row.update(logs)
        if self.extra is not None:
            row.update(self.extra(state))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json_line(row))


def sigma_of_state(fixed: float | None) -> Callable[[Any], dict[str, Any]]:
    """The σ the temporal reward used for the step just logged — fixed, or the adaptive schedule at the
    step's start (the rewards are computed before the step counter moves) — and that progress."""

    def extra(state: Any) -> dict[str, Any]:
        progress = progress_at(state.global_step - 1, state.max_steps)  # logged after the step moved on
        return {"progress": round(progress, 4), "sigma": fixed if fixed is not None else proximity_sigma(progress)}

    return extra


class CompactProgress(TrainerCallback):
    """A progress bar over optimizer steps whose postfix shows the latest loss / reward terms (replaces the
    default bar, which prints every log dict on its own line)."""

    def __init__(self, description: str = "train") -> None:
        self.description = description
        self.bar = None

    def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001
        from o3video.progress import ProgressBar

        if state.is_world_process_zero:
            self.bar = ProgressBar(state.max_steps, initial=state.global_step, desc=self.description, unit="step").start()

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
        if self.bar is None or not logs:
            return
        shown = {short: logs[key] for key, short in _SHORT.items() if isinstance(logs.get(key), (int, float))}
        self.bar.set_postfix(**{k: f"{v:.3g}" for k, v in shown.items()})

    def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl. A last line cut short by an interruption is left out; a damaged line
    before it is a `RunFileError` naming it (the rows are not silently dropped)."""
    from o3video.io import RunFileError

    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if isinstance(row, dict):
            rows.append(row)
        elif number < len(lines):  # not the cut last line: damage
            raise RunFileError(f"{path}:{number}: damaged line (not a JSON object); fix or remove it, then rerun")
    return rows


__all__ = ["METRICS_FILE", "CompactProgress", "MetricsLogger", "read_metrics", "sigma_of_state"]
