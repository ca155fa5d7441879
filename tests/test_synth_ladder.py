"""The ladder of synthetic worlds (presets `one` and `two` below `easy`): each rung renders, its writers write valid
records of every task, *when* cannot be told from the question, and the demo runs on any rung and records it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from o3video.cli import main as cli_main
from o3video.data.stgr import load_stgr, validate_record
from o3video.data.synth import SynthConfig, build_dataset, compute_truth, get_preset, plan_scene
from o3video.data.synth.card import card_text
from o3video.data.synth.questions.base import SceneFacts
from o3video.data.synth.vstar_writer import scene_vstar_records
from o3video.data.vstar import question_span_prior
from o3video.eval.annotations import vstar_problems
from o3video.tasks import Task

RUNGS = ("one", "two")


def records(out: Path, name: str) -> list[dict]:
    return json.loads((out / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=RUNGS)
def rung(request, tmp_path_factory) -> tuple[str, Path]:
    """A small dataset of the rung, made by `o3video synth --preset NAME`."""
    out = tmp_path_factory.mktemp("ladder") / request.param
    assert cli_main(["synth", "--out", str(out), "--preset", request.param, "--sft", "40", "--rl", "20",
                     "--bench", "40", "--seed", "3", "--quiet"]) == 0
    return request.param, out


def test_every_writer_writes_valid_records_of_every_task_on_the_rung(rung):
    name, out = rung
    for split in ("stgr_sft.json", "stgr_rl.json"):
        loaded = load_stgr(out / split, media_root=out).records  # validates, and finds every video and image
        assert {r["task"] for r in loaded} == {t.value for t in Task}, split
    for split, task in (("mcq_test.json", Task.GENERAL_MCQ), ("temporal_grounding_test.json", Task.TEMPORAL)):
        assert all(r["task"] == task.value and not validate_record(r) and r["domain"] == name
                   for r in records(out, split))
    vstar = records(out, "vstar_test.json")
    assert len(vstar) == 40 and all(not vstar_problems(r) for r in vstar)
    assert {r["event"] for r in vstar} == {"visible"} and {r["domain"] for r in vstar} == {name}
    assert json.loads((out / "synth_config.json").read_text())["preset"]["name"] == name


def test_each_object_is_in_view_for_one_partial_span_and_the_records_say_which(rung):
    name, out = rung
    for r in records(out, "vstar_test.json"):
        truth = json.loads((out / "truth" / f"{Path(r['video_path']).stem}.json").read_text())
        objects = truth["plan"]["objects"]
        assert len(objects) == 1 if name == "one" else 2 <= len(objects) <= 3
        (obj,) = [o for o in objects if f"{o['colours'][0][1]} {o['shape']}" == r["object"]]
        shown = [f for f, box in enumerate(truth["tracks"][obj["id"]]["box"]) if box is not None]
        assert shown == list(range(shown[0], shown[-1] + 1))  # one span
        assert 0 < len(shown) < truth["plan"]["num_frames"]  # for part of the video only
        fps = r["fps"]
        assert r["timestamps"] == [shown[0] / fps, shown[-1] / fps]
        for box in r["bboxes"]:
            assert truth["tracks"][obj["id"]]["box"][box["frame_index"]] == [box[k] for k in ("xmin", "ymin", "xmax",
                                                                                                "ymax")]


def test_questions_name_the_object_by_colour_or_shape_and_ask_the_other(rung):
    """On `two` the *what* question names the object by one attribute and asks the other (binding); on `one` it
    asks either attribute of the only object."""
    name, out = rung
    asked = set()
    for r in records(out, "vstar_test.json"):
        colour, shape = r["object"].split()
        match = re.fullmatch(r"What (colour|shape) is the (.+)\?", r["question"])
        assert match, r["question"]
        attribute, phrase = match.groups()
        assert r["answer"] == (colour if attribute == "colour" else shape)
        expected = "object" if name == "one" else f"{colour} object" if attribute == "shape" else shape
        assert phrase == expected
        assert r["temporal_question"] == f"When can the {phrase} be seen?" and phrase in r["spatial_question"]
        asked.add((attribute, phrase))
    assert {a for a, _ in asked} == {"colour", "shape"}


def _world_prior(name: str, scenes: int = 100) -> float:
    preset, recs = get_preset(name), []
    for seed in range(scenes):
        plan = plan_scene(np.random.default_rng(500 + seed), preset, f"s{seed}")
        recs += [record for _, record in scene_vstar_records(SceneFacts(compute_truth(plan), preset))]
    prior = question_span_prior(recs)
    return sum(score * n for _, score, n in prior.values()) / len(recs)


@pytest.mark.parametrize("name", RUNGS)
def test_the_question_alone_does_not_tell_when_on_the_rung(name):
    """The best single span fitted on 100 scenes' records of the rung scores at most 0.40 tIoU (the issue's bar)."""
    assert _world_prior(name) <= 0.40


def test_the_card_computes_the_when_from_the_question_figure_from_its_records(rung, tmp_path):
    name, out = rung
    card = (out / "README.md").read_text()
    figure = float(re.search(r"best single span per event scores tIoU (\d\.\d\d)", card).group(1))
    vstar = records(out, "vstar_test.json")
    ((_, score, n),) = question_span_prior(vstar).values()
    assert n == 40 and figure == round(score, 2) and figure <= 0.40
    assert "visible (an object named by its colour or its shape" in card and "each object in view for one span" in card

    from o3video.data.synth.synth_config import SynthSummary

    # records whose spans all sit in one place give a figure of 1.00: the card reads the records, it does not type
    same = [dict(r, timestamps=[2.0, 6.0], fps=4.0, frame_count=32) for r in vstar]
    summary = SynthSummary(out, {**{k: records(out, f) for k, f in (
        ("sft", "stgr_sft.json"), ("rl", "stgr_rl.json"), ("mcq", "mcq_test.json"),
        ("temporal_grounding", "temporal_grounding_test.json"))}, "vstar": same}, {"train": [], "test": []})
    config = SynthConfig(out=out, preset=get_preset(name), sft=40, rl=20, bench=40, seed=3)
    assert "best single span per event scores tIoU 1.00" in card_text(config, summary)


def test_presets_check_what_their_questions_and_script_need(tmp_path):
    assert get_preset("one").num_objects == (1, 1)
    with pytest.raises(ValueError, match="need 2 <= min objects"):  # easy stages a touch: two objects at least
        replace(get_preset("easy"), num_objects=(1, 3))
    with pytest.raises(ValueError, match="unknown asks"):
        replace(get_preset("one"), asks=("visible", "teleport"))
    with pytest.raises(ValueError, match="view_share"):
        replace(get_preset("two"), view_share=(0.5, 1.2))
    assert cli_main(["synth", "--out", str(tmp_path / "d"), "--preset", "easy", "--objects", "1,2"]) == 2
    assert not (tmp_path / "d").exists()


def test_easy_records_are_those_made_before_the_ladder(tmp_path):
    """Easy's records and settings file are byte for byte those of the code before the ladder (main at 674b0db,
    whose build of this config gave this digest): the demo's blind-twin cache keys on them, and an easy dataset made
    then still resumes."""
    out = tmp_path / "easy"
    build_dataset(SynthConfig(out=out, preset=get_preset("easy"), sft=24, rl=12, bench=6, seed=7), progress=False)
    sha = hashlib.sha256()
    for name in ("synth_config.json", "stgr_sft.json", "stgr_rl.json", "vstar_test.json", "mcq_test.json",
                 "temporal_grounding_test.json"):
        sha.update((out / name).read_bytes())
    assert sha.hexdigest() == "4251f4f74ecc3ed05a389fa753e8cb0ef5a6e163dde4da06299ddda68a922deb"


def test_the_demo_renders_every_world_from_its_rung_and_records_it(tmp_path):
    from PIL import Image

    from o3video.lab.demo.assemble import world_line
    from o3video.lab.demo.run import Demo, quick_settings

    demo = Demo(replace(quick_settings(tmp_path / "run"), world="one", perception_replay=6, replay_video=0.0))
    demo.make_data()
    for world in (demo.world, demo.practice):
        assert json.loads((world / "synth_config.json").read_text())["preset"]["name"] == "one"
    practice = load_stgr(demo.practice / "vstar_practice.json", media_root=demo.practice).records
    assert any("What colour is the object?" in r["question"] or "What shape is the object?" in r["question"]
               for r in practice)
    demo.make_replay()
    images = sorted((demo.replay_dir / "images").glob("*.png"))
    assert len(images) == 6
    for image in images:  # the replay's frames are the rung's size and show its one object
        pixels = np.asarray(Image.open(image).convert("RGB"))
        assert pixels.shape == (84, 112, 3) and len(np.unique(pixels.reshape(-1, 3), axis=0)) == 2
    assert world_line("one") == "one synthetic preset (112x84 frames, 4 fps, 6-8 s, 1 object)"


@pytest.mark.slow
def test_quick_demo_runs_on_the_lowest_rung_and_names_it(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli_main(["demo", "--quick", "--world", "one", "--out", str(out)]) == 0
    assert "demo finished" in capsys.readouterr().out
    assert json.loads((out / "data" / "world" / "synth_config.json").read_text())["preset"]["name"] == "one"
    md = (out / "report.md").read_text()
    assert "one synthetic preset (112x84 frames, 4 fps, 6-8 s, 1 object)" in md
    summary = json.loads((out / "eval" / "gspo.summary.json").read_text())
    assert summary["n"] == 4
    assert json.loads((out / "settings.json").read_text())["world"] == "one"
