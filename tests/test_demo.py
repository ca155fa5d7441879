"""`o3video demo --quick` end to end: every stage runs and the report shows what the run measured."""

import json
import re

import pytest

from o3video.cli import main


@pytest.mark.slow
def test_quick_demo_runs_every_stage_and_reports_its_own_numbers(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    assert "demo finished" in capsys.readouterr().out

    md = (out / "report.md").read_text()
    tables = md.split("## V-STaR on the held-out")[1].split("### What the answers look like")[0]
    rows = [line for line in tables.splitlines()
            if line.startswith(("| base (untrained)", "| SFT |", "| SFT+GSPO |")) and line.count("|") > 6]
    assert len(rows) == 6  # the V-STaR table and the format table, three models each
    # the table's numbers are the evaluation summaries this run wrote
    for key, name in (("base", "base (untrained)"), ("sft", "SFT"), ("gspo", "SFT+GSPO")):
        summary = json.loads((out / "eval" / f"{key}.summary.json").read_text())
        row = next(r for r in rows if r.startswith(f"| {name} |"))
        assert f"**{100 * summary['mLGM']:.1f}**" in row and f"{summary['format']:.3f}" in row
        assert summary["n"] == 4
    assert re.search(r"(PASS|FAIL) — format reward r_fmt on the test split after SFT", md)

    # the blind twins (same recipe, blank frames) and the answers that ignore the video are in every report
    for key, name in (("blind_sft", "blind SFT"), ("blind_gspo", "blind SFT+GSPO")):
        summary = json.loads((out / "eval" / f"{key}.summary.json").read_text())
        assert f"| {name} | 4 |" in md and summary["n"] == 4
        assert json.loads((out / "eval" / f"{key}.jsonl.settings.json").read_text())["blank_frames"] is True
    config = (out / "models" / "blind_sft" / "train_config.yaml").read_text()
    assert "blank_frames: true" in config and (out / "models" / "blind_gspo" / "model.safetensors").is_file()
    for name in ("whole span, whole frame", "middle half, centre box", "most frequent training answer"):
        assert f"| ignoring video: {name} | 4 |" in md
    assert "## Does the model see?" in md and re.search(r"\| SFT\+GSPO \| chain-1 where \(vIoU\) \|.*\| (sees|cannot tell)", md)
    assert re.search(r"(PASS|FAIL) — SFT\+GSPO chain-1 where \(vIoU\) >= 30 and >= 20 points above its blind twin", md)

    # test-time scaling (majority vs confidence-aware), the faithfulness probe and temporal grounding
    mcq = json.loads((out / "eval" / "mcq_gspo.summary.json").read_text())
    assert mcq["n"] == 2 and mcq["n_samples"] == 2 and mcq["evidence"]["responses"] == 4
    acc = mcq["accuracy"]
    assert f"| SFT+GSPO | {100 * acc['greedy']:.1f} | {100 * acc['majority']:.1f} | {100 * acc['confidence']:.1f} |" in md
    assert "without the 2 frames nearest each cited time" in md and mcq["faithfulness"]["n"] == 2
    grounding = json.loads((out / "eval" / "grounding_gspo.summary.json").read_text())
    assert grounding["n"] == 2 and f"| SFT+GSPO | {100 * grounding['mean_iou']:.1f} |" in md
    assert "SFT+GSPO above SFT on mLGM" in md and "quick" in md

    # training happened and was logged: SFT loss and the GSPO reward terms per step
    sft = [json.loads(line) for line in (out / "models" / "sft" / "metrics.jsonl").read_text().splitlines()]
    gspo = [json.loads(line) for line in (out / "models" / "gspo" / "metrics.jsonl").read_text().splitlines()]
    assert sft[0]["loss"] > sft[-2]["loss"]  # SFT learns (the last row is the run summary)
    assert any("rewards/format_reward/mean" in row for row in gspo) and any("kl" in row for row in gspo)
    for picture in ("curves/sft.png", "curves/gspo.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({picture})" in md
    assert list((out / "evidence").glob("*.png"))
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and "SFT+GSPO" in html

    # the blind twin was trained beside the seeing chain, one thread each, and kept in the cache
    assert json.loads((out / "threads.json").read_text()) == {"seeing_chain": 1, "blind_chain": 1}
    assert "trained in this run beside the seeing chain" in md

    # a second run finds every stage done and only re-reads and re-reports
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    timings = json.loads((out / "timings.json").read_text())
    assert set(timings) >= {"data", "tiny model", "SFT", "GSPO", "evaluate base", "evaluate SFT", "evaluate SFT+GSPO",
                            "MCQ: test-time scaling and faithfulness", "temporal grounding", "report"}


@pytest.mark.slow
def test_a_second_demo_of_the_same_recipe_takes_the_blind_twin_from_the_cache(tmp_path, monkeypatch):
    from o3video.lab.demo import blind_cache

    first, second, other_seed = tmp_path / "first", tmp_path / "second", tmp_path / "other"
    quick = ["demo", "--quick", "--sft", "trainer.max_steps=4", "--rl", "trainer.max_steps=1"]
    assert main([*quick, "--out", str(first)]) == 0
    (entry,) = (blind_cache.cache_root() / "blind").iterdir()
    assert json.loads((entry / "blind.json").read_text())["recipe"]["settings"]["seed"] == 0

    assert main([*quick, "--out", str(second)]) == 0
    # the twin was copied, not trained: no training log of it, the seeing chain had both threads
    assert not (second / "blind.log").exists()
    assert json.loads((second / "threads.json").read_text()) == {"seeing_chain": 2, "blind_chain": "cached"}
    for key in ("blind_sft", "blind_gspo"):
        assert (second / "eval" / f"{key}.jsonl").read_bytes() == (first / "eval" / f"{key}.jsonl").read_bytes()
    assert (second / "models" / "blind_gspo" / "model.safetensors").is_file()
    assert not list((second / "models" / "blind_sft").glob("checkpoint-*"))
    assert f"from the cache {entry}" in (second / "report.md").read_text()

    # another recipe (here: seed) is another key; --no-twin-cache neither reads nor writes the cache
    monkeypatch.setattr(blind_cache, "restore", lambda *a: pytest.fail("--no-twin-cache read the cache"))
    assert main([*quick, "--no-twin-cache", "--out", str(other_seed)]) == 0
    assert (other_seed / "blind.log").is_file() and len(list((blind_cache.cache_root() / "blind").iterdir())) == 1


def test_perception_replay_goes_into_the_sft_of_both_chains_and_into_the_twins_key(tmp_path):
    from dataclasses import replace

    import numpy as np
    from PIL import Image

    from o3video.data.stgr import load_stgr
    from o3video.lab.demo import blind_cache
    from o3video.lab.demo.run import Demo, quick_settings

    settings = replace(quick_settings(tmp_path / "run"), perception_replay=8, world="easy")  # 1-3 objects
    demo = Demo(settings)
    demo.make_data()
    demo.make_replay()
    (demo.models / "base").mkdir(parents=True)
    (demo.models / "base" / "model.safetensors").write_bytes(b"weights")
    replay = demo.replay_dir / "perception_sft.json"
    records = load_stgr(replay, media_root=replay.parent).records
    assert len(records) == 8 and {r["task"] for r in records} == {"visual QA", "temporal-spatial free-form QA"}
    objects = [len(np.unique(np.asarray(Image.open(f)).reshape(-1, 3), axis=0)) - 1  # colours beside the background
               for f in sorted((demo.replay_dir / "images").glob("*.png"))]
    assert min(objects) >= 1 and max(objects) >= 2  # the named object among several, as the base learnt it
    for blind in (False, True):
        assert str(replay) in demo.train_config("sft", demo.models / "base", blind).data.train
        assert str(replay) not in demo.train_config("rl", demo.models / "base", blind).data.train
    key = blind_cache.recipe_key(demo.twin_recipe())
    for media in (next((demo.replay_dir / "images").glob("*.png")), next((demo.replay_dir / "videos").glob("*.mp4"))):
        original = media.read_bytes()
        media.write_bytes(original + b"\0")  # the twin trained on these pixels: other pixels, another twin
        assert blind_cache.recipe_key(demo.twin_recipe()) != key
        media.write_bytes(original)
        assert blind_cache.recipe_key(demo.twin_recipe()) == key
    without = Demo(replace(settings, perception_replay=0))
    assert str(replay) not in without.train_config("sft", demo.models / "base").data.train
    assert blind_cache.recipe_key(without.twin_recipe()) != key
