"""The blind twin's cache key: every input that decides the twin changes it, nothing else does."""

import json
from dataclasses import replace

from o3video.lab.demo import blind_cache
from o3video.lab.demo.run import DemoSettings


def _inputs(tmp_path):
    data = tmp_path / "data"
    (data / "world").mkdir(parents=True)
    for name in ("a.json", "b.json"):
        (data / "world" / name).write_text(json.dumps({"name": name}))
    base = tmp_path / "base"
    base.mkdir()
    (base / "model.safetensors").write_bytes(b"weights")
    config = tmp_path / "sft.yaml"
    config.write_text("trainer:\n  max_steps: 4\n")
    return [config], sorted((data / "world").iterdir()), base


def _key(settings, inputs, threads=1):
    configs, data, base = inputs
    return blind_cache.recipe_key(blind_cache.recipe(settings, threads, configs, data, base))


def test_the_key_follows_the_recipe_and_ignores_where_and_how_fast_it_runs(tmp_path):
    inputs = _inputs(tmp_path)
    configs, data, base = inputs
    settings = DemoSettings(out=tmp_path / "run")
    key = _key(settings, inputs)
    # the run folder, this process's threads and the cache switch do not decide the twin
    assert _key(replace(settings, out=tmp_path / "elsewhere", threads=8, twin_cache=False), inputs) == key
    # everything that does is in the key
    assert _key(replace(settings, seed=1), inputs) != key
    assert _key(replace(settings, sft_overrides=["trainer.max_steps=5"]), inputs) != key
    assert _key(settings, inputs, threads=2) != key
    configs[0].write_text("trainer:\n  max_steps: 5\n")
    assert _key(settings, inputs) != key
    configs[0].write_text("trainer:\n  max_steps: 4\n")
    data[0].write_text("{}")
    assert _key(settings, inputs) != key
    data[0].write_text(json.dumps({"name": "a.json"}))
    (base / "model.safetensors").write_bytes(b"other weights")
    assert _key(settings, inputs) != key
    (base / "model.safetensors").write_bytes(b"weights")
    assert _key(settings, inputs) == key


def test_an_entry_counts_only_once_complete(tmp_path):
    run = tmp_path / "run"
    for name in blind_cache.MODELS:
        (run / "models" / name / "checkpoint-2").mkdir(parents=True)
        (run / "models" / name / "model.safetensors").write_bytes(name.encode())
    (run / "eval").mkdir()
    for name in blind_cache.EVALS:
        (run / "eval" / f"{name}.jsonl").write_text("{}\n")
        (run / "eval" / f"{name}.jsonl.lock").write_text("")
    # a staging folder left by a killed run is not an entry
    blind_cache.entry("k").parent.mkdir(parents=True)
    blind_cache.entry("k").with_name(".k.123.tmp").mkdir()
    assert blind_cache.restore("k", tmp_path / "target") is None

    blind_cache.store("k", run, {"seed": 0}, 12.5)
    target = tmp_path / "target"
    info = blind_cache.restore("k", target)
    assert info["seconds"] == 12.5 and info["recipe"] == {"seed": 0}
    assert (target / "models" / "blind_sft" / "model.safetensors").read_bytes() == b"blind_sft"
    assert not list(target.rglob("checkpoint-*")) and not list(target.rglob("*.lock"))
    assert (target / "eval" / "blind_gspo.jsonl").read_text() == "{}\n"


def test_a_second_process_storing_the_same_entry_keeps_the_first(tmp_path):
    folder = tmp_path / "entry"
    for who in ("first", "second"):
        staging = tmp_path / f".{who}.tmp"
        staging.mkdir()
        (staging / "blind.json").write_text(who)
        blind_cache.put_in_place(staging, folder, "blind.json")
        assert not staging.exists()
    assert (folder / "blind.json").read_text() == "first"
    leftover = tmp_path / "broken"
    leftover.mkdir()
    (leftover / "half").write_text("")  # no marker: not an entry, replaced
    staging = tmp_path / ".third.tmp"
    staging.mkdir()
    (staging / "blind.json").write_text("third")
    blind_cache.put_in_place(staging, leftover, "blind.json")
    assert (leftover / "blind.json").read_text() == "third" and not (leftover / "half").exists()
