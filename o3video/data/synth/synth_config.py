"""What `o3video synth` is asked to make (`SynthConfig`) and what it made (`SynthSummary`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.data.synth.presets import WorldPreset
from o3video.data.synth.scene_plan import ScenePlan
from o3video.mixes import RL_MIX, SFT_MIX, Mix


@dataclass(frozen=True)
class SynthConfig:
    out: Path
    preset: WorldPreset
    sft: int = 200
    rl: int = 200
    bench: int = 50  # records in each benchmark split
    seed: int = 0
    sft_mix: Mix = SFT_MIX
    rl_mix: Mix = RL_MIX
    workers: int = 1
    grounded_general_mcq: bool = False  # general MCQ reasoning cites its evidence (boxes at times)

    def fingerprint(self) -> dict[str, Any]:
        """What determines the content (not where it goes, nor how many processes made it)."""
        return {
            "preset": self.preset.to_dict(),
            "sft": self.sft,
            "rl": self.rl,
            "bench": self.bench,
            "seed": self.seed,
            "sft_mix": {"weights": self.sft_mix.weights, "temporal_mcq_share": self.sft_mix.temporal_mcq_share,
                        "general_mcq_share": self.sft_mix.general_mcq_share},
            "rl_mix": {"weights": self.rl_mix.weights, "temporal_mcq_share": self.rl_mix.temporal_mcq_share,
                       "general_mcq_share": self.rl_mix.general_mcq_share},
        } | ({"grounded_general_mcq": True} if self.grounded_general_mcq else {})


@dataclass
class SynthSummary:
    out: Path
    records: dict[str, list[dict[str, Any]]]  # output split → records
    scenes: dict[str, list[ScenePlan]]  # "train" / "test" → scenes used
    seconds: float = 0.0


__all__ = ["SynthConfig", "SynthSummary"]
