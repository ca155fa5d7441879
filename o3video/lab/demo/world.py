"""The demo's synthetic data: a world of one preset (any rung of the ladder), its training records
and held-out test splits, and a second world of the same preset, of practice videos for V-STaR-format questions; and
the tokenizer corpus of their texts. Used by the demo run and by the perception base (whose tokenizer must read every
demo prompt)."""

from __future__ import annotations

import json
from pathlib import Path

from o3video.io import atomic_write_text


def make_world(world: Path, practice: Path, *, sft: int, rl: int, test: int, practice_videos: int, seed: int,
               preset: str, grounded_general_mcq: bool = False) -> int:
    """Render both worlds of the synthetic `preset` (each records it in its `synth_config.json`); returns the number
    of V-STaR practice records (five per practice video)."""
    from o3video.data.synth import SynthConfig, build_dataset, get_preset
    from o3video.eval.benchmark_runner import load_annotations
    from o3video.lab.vstar_practice import practice_records

    preset = get_preset(preset)
    build_dataset(SynthConfig(out=world, preset=preset, sft=sft, rl=rl, bench=test, seed=seed,
                              grounded_general_mcq=grounded_general_mcq))
    # The practice world: another seed, so none of its videos is a test video.
    build_dataset(SynthConfig(out=practice, preset=preset, sft=0, rl=0, bench=practice_videos, seed=seed + 1))
    records = practice_records(load_annotations(practice / "vstar_test.json"))
    atomic_write_text(practice / "vstar_practice.json", json.dumps(records, indent=1))
    return len(records)


def world_corpus(world: Path, practice: Path) -> list[str]:
    """Texts of the training files and the test split's prompts, for the tiny model's tokenizer."""
    from o3video.models.corpus import tokenizer_corpus

    return tokenizer_corpus([world / "stgr_sft.json", world / "stgr_rl.json", practice / "vstar_practice.json"],
                            [world / "vstar_test.json"])


__all__ = ["make_world", "world_corpus"]
