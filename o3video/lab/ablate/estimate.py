"""The CPU time `o3video ablate` expects to spend, printed before it starts: from the stage timings of a finished
SFT+GSPO run of the same size (one of this ablation's, or the demo's own `runs/demo`) when there is one, else
from per-step rates stated here."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from o3video.lab.ablate.arms import REFERENCE, Arm
from o3video.lab.demo.settings import DemoSettings

# Rates of `o3video demo --quick` on 2 busy CPU cores (the tiny small model): SFT 8 records a step, RL 8
# completions of up to 48 tokens a step, one V-STaR record (five prompts) and one MCQ question (greedy, the votes'
# samples, and the two probes).
SFT_SECONDS_PER_STEP = 2.7
RL_SECONDS_PER_STEP = 5.5
EVAL_SECONDS_PER_RECORD = 0.8
MCQ_SECONDS_PER_QUESTION = 8.0
_SIZE_FREE = ("out", "seed", "threads", "twin_cache", "quick")  # settings that do not change a run's size


@dataclass(frozen=True)
class Costs:
    """Seconds of one SFT, one RL, one V-STaR evaluation and one whole SFT+GSPO (demo) run; `source` says whence."""

    sft: float
    rl: float
    evaluation: float
    reference: float
    source: str

    def arm(self, arm: Arm) -> float:
        """One seed of `arm` (its blind twin included)."""
        if arm.name == REFERENCE:
            return self.reference
        if not arm.stages:
            return 0.0
        one = self.evaluation + (self.sft if "sft" in arm.stages else 0.0) + (self.rl if "rl" in arm.stages else 0.0)
        return one * (2 if arm.blind else 1)


def _size(fields: dict) -> dict:
    """A demo's settings (as its settings.json holds them) without those that do not change its size."""
    return {k: v for k, v in fields.items() if k not in _SIZE_FREE}


def measured_costs(settings: DemoSettings, folders: list[Path]) -> Costs | None:
    """Costs from the first folder holding a finished demo run of the same size as `settings`."""
    for folder in folders:
        timings, saved = folder / "timings.json", folder / "settings.json"
        if not (timings.is_file() and saved.is_file() and (folder / "report.md").is_file()):
            continue
        if _size(json.loads(saved.read_text())) != _size(json.loads(json.dumps(asdict(settings), default=str))):
            continue
        t = json.loads(timings.read_text())
        if {"SFT", "GSPO", "evaluate SFT+GSPO"} <= set(t):
            return Costs(t["SFT"], t["GSPO"], t["evaluate SFT+GSPO"], sum(t.values()), f"the timings of {folder}")
    return None


def _steps(config: Path, settings: dict) -> int:
    return int(settings.get("trainer.max_steps") or yaml.safe_load(config.read_text())["trainer"]["max_steps"])


def rated_costs(settings: DemoSettings) -> Costs:
    """Costs from the per-step rates above."""
    sft = SFT_SECONDS_PER_STEP * _steps(settings.sft_config, settings.sft_settings)
    rl = RL_SECONDS_PER_STEP * _steps(settings.rl_config, settings.rl_settings)
    evaluation = EVAL_SECONDS_PER_RECORD * settings.test_records
    reference = 2 * (sft + rl) + 5 * evaluation + MCQ_SECONDS_PER_QUESTION * settings.mcq_records
    return Costs(sft, rl, evaluation, reference, f"per-step rates ({SFT_SECONDS_PER_STEP} s an SFT step, "
                 f"{RL_SECONDS_PER_STEP} s an RL step, {EVAL_SECONDS_PER_RECORD} s a V-STaR record)")


def estimate(settings: DemoSettings, todo: list[Arm], folders: list[Path]) -> tuple[float, str]:
    """Seconds for the arm runs `todo` (one entry per arm and seed), and where the rates come from."""
    costs = measured_costs(settings, folders) or rated_costs(settings)
    return sum(costs.arm(arm) for arm in todo), costs.source


__all__ = ["Costs", "estimate", "measured_costs", "rated_costs"]
