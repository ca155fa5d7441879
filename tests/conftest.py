"""Shared session fixtures: a small easy synthetic dataset and a tiny model trained on its corpus."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets an empty o3video cache of its own (never ~/.cache, never another test's twin)."""
    monkeypatch.setenv("O3VIDEO_CACHE", str(tmp_path_factory.mktemp("o3video_cache")))


@pytest.fixture(scope="session")
def synth_easy(tmp_path_factory) -> Path:
    """An easy-preset synthetic dataset: 24 SFT, 12 RL, 4 records per benchmark split."""
    from o3video.data.synth import SynthConfig, build_dataset, get_preset

    out = tmp_path_factory.mktemp("synth_easy")
    build_dataset(SynthConfig(out=out, preset=get_preset("easy"), sft=24, rl=12, bench=4, seed=7), progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random Qwen2.5-VL saved with save_pretrained (default corpus tokenizer)."""
    from o3video.models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="session")
def tiny_qwen3_model(tmp_path_factory) -> Path:
    """A tiny random Qwen3-VL saved with save_pretrained (it answers boxes on 0–1000, docs/design.md §4b)."""
    from o3video.models import build_tiny_model
    from o3video.models.corpus import default_corpus

    return build_tiny_model(tmp_path_factory.mktemp("tiny_qwen3") / "model", default_corpus(n_texts=100), seed=0,
                            arch="qwen3_vl")
