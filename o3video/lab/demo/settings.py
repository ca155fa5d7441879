"""The demo's sizes and settings (`DemoSettings`), and the quick preset the test suite runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o3video.train.train_config import CONFIG_DIR


@dataclass
class DemoSettings:
    """Sizes of the demo run. Training hyper-parameters live in the tiny configs (YAML)."""

    out: Path = Path("runs/demo")
    quick: bool = False
    sft_records: int = 360  # synthetic STGR SFT records (the paper's task mix)
    rl_records: int = 80  # synthetic STGR RL records
    practice_videos: int = 80  # V-STaR annotations on practice videos (five training records each)
    test_records: int = 30  # held-out V-STaR records the three models are evaluated on
    world: str = "one"  # the synthetic preset (a rung of o3video.data.synth.presets.LADDER) of all the run's data
    model_size: str = "small"
    arch: str = "qwen2_5_vl"  # of a random base (the perception base has its own)
    base: str = "random"  # random | perception (o3video perception-base, cached) | a model directory
    perception_replay: int = 0  # perception questions mixed into SFT (replay: what keeps a pre-trained base's skill)
    replay_video: float = 0.5  # the share of them asked of still videos (spatio-temporal QA; the rest visual QA)
    replay_where: float = 0.5  # the share of those still videos asked as V-STaR's chain-1 where prompt (JSON boxes)
    num_frames: int = 8
    eval_max_new_tokens: int = 192
    evidence: int = 3  # evidence pictures in the report
    mcq_records: int = 20  # synthetic MCQ questions for test-time scaling and the faithfulness probe
    tts_samples: int = 8  # responses per question for the votes (the paper's N)
    mcq_max_new_tokens: int = 160
    grounding_records: int = 20  # synthetic temporal-grounding queries
    grounded_general_mcq: bool = False  # train on general MCQ whose reasoning cites evidence
    seed: int = 0
    threads: int = 2
    twin_cache: bool = True  # reuse a blind twin an earlier run of the same recipe trained (demo/blind_cache.py)
    sft_config: Path = CONFIG_DIR / "tiny_sft.yaml"
    rl_config: Path = CONFIG_DIR / "tiny_rl.yaml"
    # changes to the recipes' YAML: typed settings (dotted key -> value), then the command line's own `key=value` text
    sft_settings: dict[str, Any] = field(default_factory=dict)
    rl_settings: dict[str, Any] = field(default_factory=dict)
    sft_overrides: list[str] = field(default_factory=list)
    rl_overrides: list[str] = field(default_factory=list)

    def recipe_changes(self, stage: str) -> list[str]:
        """What this run changes in a stage's recipe, as `key=value` lines for the report."""
        settings, overrides = (self.sft_settings, self.sft_overrides) if stage == "sft" else \
            (self.rl_settings, self.rl_overrides)
        return [f"{key}={value}" for key, value in settings.items()] + list(overrides)


def quick_settings(out: Path) -> DemoSettings:
    """A few minutes' worth: every stage runs, on little data, with few steps (the test suite uses it)."""
    return DemoSettings(
        out=out, quick=True, sft_records=48, rl_records=16, practice_videos=8, test_records=4,
        eval_max_new_tokens=64, evidence=1, mcq_records=2, tts_samples=2, mcq_max_new_tokens=48, grounding_records=2,
        sft_settings={"trainer.max_steps": 16, "trainer.save_steps": 8},
        rl_settings={"trainer.max_steps": 2, "trainer.save_steps": 1, "trainer.max_completion_length": 48,
                     "trainer.per_device_train_batch_size": 8, "trainer.steps_per_generation": 1},
    )


__all__ = ["DemoSettings", "quick_settings"]
