"""Bad input a careful user would try: every case ends with one line on stderr that names the file (and
the record, line and field where there is one), a non-zero exit code, and no traceback.

Each case writes its files into its own folder and returns the command line. Inputs are checked before
any model is loaded, so the whole list runs in seconds."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from o3video.cli import main


@dataclass
class World:
    root: Path  # scratch folder; each case gets root/<case id>
    synth: Path  # the `synth_easy` dataset
    model: Path  # the `tiny_model` checkpoint
    video: Path
    sft: list[dict[str, Any]]  # valid STGR records (video paths relative to `synth`)
    vstar: list[dict[str, Any]]  # valid V-STaR annotations

    def folder(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[World, Path], list[str]]  # (world, the case's folder) -> command line
    names: tuple[str, ...]  # what the one line must mention: the file, the record, the field
    lines: int = 1  # lines on stderr (score reports bad lines one per line and adds its summary)


# --- inputs ----------------------------------------------------------------------------------------------


def _write(path: Path, content: str | bytes | list | dict) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


def _video_file(content: bytes | None, name: str = "clip.mp4") -> Callable[[World, Path], Path]:
    def make(world: World, folder: Path) -> Path:
        return folder / name if content is None else _write(folder / name, content)

    return make


def _truncated(world: World, folder: Path) -> Path:
    data = world.video.read_bytes()
    return _write(folder / "cut.mp4", data[: len(data) // 3])


def _infer(video: Callable[[World, Path], Path]) -> Callable[[World, Path], list[str]]:
    return lambda world, folder: ["infer", str(video(world, folder)), "what?", "--model", str(world.model), "--frames", "2"]


def _infer_model(make_model: Callable[[Path], str]) -> Callable[[World, Path], list[str]]:
    return lambda world, folder: ["infer", str(world.video), "what?", "--model", make_model(folder), "--frames", "2"]


def _model_dir(config: str | None) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        model = folder / "model"
        model.mkdir(exist_ok=True)
        if config is not None:
            _write(model / "config.json", config)
        return str(model)

    return make


def _frames(video: Callable[[World, Path], Path], *extra: str) -> Callable[[World, Path], list[str]]:
    return lambda world, folder: ["frames", str(video(world, folder)), "--num", "2", "--out", str(folder / "out"), *extra]


def _frames_out_is_file(world: World, folder: Path) -> list[str]:
    return ["frames", str(world.video), "--num", "2", "--out", str(_write(folder / "taken", "a file"))]


# training data: record 2 of three is the bad one


def _sft_records(world: World, change: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    records = copy.deepcopy(world.sft[:3])
    change(records[2])
    return records


def _train(data: Callable[[World, Path], Path], stage: str = "sft", *overrides: str) -> Callable[[World, Path], list[str]]:
    def argv(world: World, folder: Path) -> list[str]:
        config = {"stage": stage, "model": str(world.model), "output_dir": str(folder / "run"),
                  "data": {"train": [str(data(world, folder))], "root": str(world.synth), "num_frames": 2, "cache_dir": None},
                  "trainer": {"max_steps": 1, "per_device_train_batch_size": 1}}
        if stage == "rl":
            config["trainer"] |= {"num_generations": 2, "per_device_train_batch_size": 2, "max_completion_length": 8}
        return ["train", stage, "--config", str(_write(folder / "run.yaml", config)), *overrides]

    return argv


def _data(content: str | bytes | list | dict | Callable[[World], Any], name: str = "data.json") -> Callable[[World, Path], Path]:
    def make(world: World, folder: Path) -> Path:
        return _write(folder / name, content(world) if callable(content) else content)

    return make


def _bad_record(change: Callable[[dict[str, Any]], None]) -> Callable[[World, Path], Path]:
    return _data(lambda world: _sft_records(world, change))


def _jsonl_bad_line_3(world: World) -> str:
    lines = [json.dumps(r) for r in world.sft[:2]]
    return "\n".join([lines[0], "", lines[1][:-5]]) + "\n"


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda record: record.pop(key)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda record: record.__setitem__(key, value)


def _three_number_box(record: dict[str, Any]) -> None:
    idx = str(record["key_frames"][0]["idx"])
    name = next(iter(record["key_items"][idx]))
    record["key_items"][idx][name] = [[0.1, 0.2, 0.3]]


def _config_override(*overrides: str, stage: str = "sft") -> Callable[[World, Path], list[str]]:
    def argv(world: World, folder: Path) -> list[str]:
        good = _write(folder / "data.json", world.sft[:2])
        return _train(lambda w, f: good, stage, "--print-config", *overrides)(world, folder)

    return argv


def _config_file(text: str) -> Callable[[World, Path], list[str]]:
    return lambda world, folder: ["train", "sft", "--config", str(_write(folder / "bad.yaml", text)), "--print-config"]


# V-STaR annotations: record 1 of two is the bad one


def _vstar(change: Callable[[dict[str, Any]], None] | None = None, *, judge: str = "exact", content: Any = None,
           name: str = "vstar.json", anno: bool = True, videos: str | None = None) -> Callable[[World, Path], list[str]]:
    def argv(world: World, folder: Path) -> list[str]:
        records = copy.deepcopy(world.vstar[:2])
        if change is not None:
            change(records[1])
        anno_file = folder / "nope.json"
        if anno:
            anno_file = _write(folder / name, content(world) if callable(content) else records)
        video_folder = folder / videos if videos else world.synth
        return ["eval", "vstar", "--anno", str(anno_file), "--videos", str(video_folder), "--model", str(world.model),
                "--out", str(folder / "results.jsonl"), "--frames", "2", "--max-new-tokens", "4", "--judge", judge]

    return argv


def _vstar_jsonl_bad_line_3(world: World) -> str:
    lines = [json.dumps(r) for r in world.vstar[:2]]
    return "\n".join([lines[0], "", "{" + lines[1]]) + "\n"


def _vstar_results(content: Callable[[World], Any]) -> Callable[[World, Path], list[str]]:
    def argv(world: World, folder: Path) -> list[str]:
        results = _write(folder / "results.jsonl", content(world))
        return ["eval", "vstar", "--results", str(results), "--judge", "exact"]

    return argv


def _results_without_timestamps(world: World) -> str:
    records = copy.deepcopy(world.vstar[:2])
    del records[1]["timestamps"]
    return "".join(json.dumps({"key": str(i), "index": i, **r, "answer_vqa": "x"}) + "\n" for i, r in enumerate(records))


def _mcq(change: Callable[[dict[str, Any]], None], bench: str = "mcq", file: str = "mcq_test.json") -> Callable[[World, Path], list[str]]:
    def argv(world: World, folder: Path) -> list[str]:
        records = json.loads((world.synth / file).read_text())[:2]
        change(records[1])
        anno = _write(folder / f"{bench}.json", records)
        return ["eval", bench, "--anno", str(anno), "--videos", str(world.synth), "--model", str(world.model),
                "--out", str(folder / "results.jsonl"), "--frames", "2", "--max-new-tokens", "4"]

    return argv


# score


def _score(content: str | bytes, *extra: str) -> Callable[[World, Path], list[str]]:
    return lambda world, folder: ["score", "--input", str(_write(folder / "in.jsonl", content)), *extra]


def _score_out_missing_dir(world: World, folder: Path) -> list[str]:
    good = json.dumps({"completion": "<answer>A</answer>", "sample": {"task": "General video QA MCQ", "answer": "A"}})
    return ["score", "--input", str(_write(folder / "in.jsonl", good + "\n")), "--out", str(folder / "nowhere" / "s.jsonl")]


DEEP = "[" * 100_000 + "]" * 100_000
NOISE = bytes(range(256)) * 16  # no container format starts like this

CASES = [
    # infer: the video is checked before the model is loaded
    Case("infer-missing-video", _infer(_video_file(None)), ("clip.mp4", "not found")),
    Case("infer-empty-video", _infer(_video_file(b"")), ("clip.mp4", "empty")),
    Case("infer-corrupt-video", _infer(_video_file(NOISE)), ("clip.mp4",)),
    Case("infer-text-file", _infer(_video_file(b"just some notes\n", "notes.txt")), ("notes.txt",)),
    Case("infer-folder", _infer(lambda w, f: f), ("infer-folder", "directory")),
    Case("infer-truncated-video", _infer(_truncated), ("cut.mp4",)),
    Case("infer-missing-model", _infer_model(lambda f: str(f / "no-model")), ("no-model",)),
    Case("infer-model-is-a-file", _infer_model(lambda f: str(_write(f / "weights.bin", b"x"))), ("weights.bin",)),
    Case("infer-model-without-config", _infer_model(_model_dir(None)), ("model", "config.json")),
    Case("infer-model-corrupt-config", _infer_model(_model_dir("{not json")), ("config.json",)),
    Case("infer-zero-frames", lambda w, f: ["infer", str(w.video), "what?", "--model", str(w.model), "--frames", "0"],
         ("--frames",)),
    Case("infer-json-missing-dir",
         lambda w, f: ["infer", str(w.video), "what?", "--model", str(w.model), "--json", str(f / "no" / "r.json")], ("r.json",)),
    # frames
    Case("frames-missing-video", _frames(_video_file(None)), ("clip.mp4", "not found")),
    Case("frames-corrupt-video", _frames(_video_file(NOISE)), ("clip.mp4",)),
    Case("frames-out-is-a-file", _frames_out_is_file, ("taken", "--out")),
    Case("frames-zero-frames", _frames(lambda w, f: w.video, "--num", "0"), ("num",)),
    # training data, checked record by record before the model is loaded
    Case("train-not-json", _train(_data("this is not JSON\nat all\n")), ("data.json", "line 1", "not valid JSON")),
    Case("train-broken-array", _train(_data('[{"task": "temporal QA"},\n {"task": \n')), ("data.json", "line 3")),
    Case("train-json-object", _train(_data('{\n "task": "temporal QA"\n}\n')), ("data.json", "array")),
    Case("train-missing-task", _train(_bad_record(_drop("task"))), ("data.json", "record 2", "task")),
    Case("train-unknown-task", _train(_bad_record(_set("task", "interpretive dance"))), ("record 2", "task")),
    Case("train-missing-video-path", _train(_bad_record(_drop("video_path"))), ("record 2", "video_path")),
    Case("train-video-not-on-disk", _train(_bad_record(_set("video_path", "videos/gone.mp4"))), ("record 2", "video_path", "gone.mp4")),
    Case("train-key-frames-not-a-list", _train(_bad_record(_set("key_frames", "frame 9"))), ("record 2", "key_frames")),
    Case("train-bad-box", _train(_bad_record(_three_number_box)), ("record 2", "key_items")),
    Case("train-question-not-text", _train(_bad_record(_set("question", 42))), ("record 2", "question")),
    Case("train-empty-file", _train(_data("")), ("data.json", "no records")),
    Case("train-empty-list", _train(_data([])), ("data.json", "no records")),
    Case("train-not-utf8", _train(_data(b'[{"task": "temporal QA", "question": "caf\xe9"}]')), ("data.json", "UTF-8")),
    Case("train-missing-file", _train(lambda w, f: f / "nope.json"), ("nope.json",)),
    Case("train-jsonl-bad-line-3", _train(_data(_jsonl_bad_line_3, "data.jsonl")), ("data.jsonl", "line 3")),
    Case("train-deeply-nested", _train(_data(DEEP)), ("data.json", "nested")),
    Case("train-rl-missing-task", _train(_bad_record(_drop("task")), "rl"), ("data.json", "record 2", "task")),
    # config: typed at load time, --print-config included
    Case("config-max-steps-abc", _config_override("trainer.max_steps=abc"), ("run.yaml", "trainer.max_steps", "abc")),
    Case("config-trl-field-typo", _config_override("trainer.max_stepz=3"), ("trainer.max_stepz", "max_steps")),
    Case("config-lr-text", _config_override("trainer.learning_rate=fast"), ("trainer.learning_rate",)),
    Case("config-num-frames-abc", _config_override("data.num_frames=abc"), ("data.num_frames",)),
    Case("config-sigma-abc", _config_override("rewards.sigma=abc", stage="rl"), ("rewards.sigma",)),
    Case("config-grpo-field-typo", _config_override("trainer.num_generation=4", stage="rl"), ("trainer.num_generation",)),
    Case("config-not-yaml", _config_file("stage: sft\nmodel: [unclosed\n"), ("bad.yaml", "YAML")),
    # evaluation: annotations and the judge are checked before the run
    Case("vstar-missing-width", _vstar(_drop("width")), ("vstar.json", "record 1", "width")),
    Case("vstar-missing-question", _vstar(_drop("question")), ("vstar.json", "record 1", "question")),
    Case("vstar-missing-timestamps", _vstar(_drop("timestamps")), ("vstar.json", "record 1", "timestamps")),
    Case("vstar-fps-text", _vstar(_set("fps", "25")), ("vstar.json", "record 1", "fps")),
    Case("vstar-fps-zero", _vstar(_set("fps", 0)), ("vstar.json", "record 1", "fps")),
    Case("vstar-jsonl-bad-line-3", _vstar(content=_vstar_jsonl_bad_line_3, name="vstar.jsonl"), ("vstar.jsonl:3:",)),
    Case("vstar-judge-typo", _vstar(judge="exat"), ("exat",)),
    Case("vstar-missing-anno", _vstar(anno=False), ("nope.json",)),
    Case("vstar-videos-missing", _vstar(videos="no-videos"), ("no-videos",)),
    Case("vstar-baseline-missing-width",
         lambda w, f: ["eval", "vstar", "--baseline", "whole", "--anno", str(_write(f / "vstar.json", [
             {k: v for k, v in r.items() if k != "width"} for r in w.vstar[:1]])), "--out", str(f / "b.jsonl")],
         ("vstar.json", "record 0", "width")),
    Case("vstar-results-not-utf8", _vstar_results(lambda w: b'{"key": "0", "answer_vqa": "\xff"}\n'), ("results.jsonl", "UTF-8")),
    Case("vstar-results-missing-timestamps", _vstar_results(_results_without_timestamps), ("results.jsonl", "record 1", "timestamps")),
    Case("mcq-missing-question", _mcq(_drop("question")), ("mcq.json", "record 1", "question")),
    Case("tg-no-query", _mcq(_drop("question"), "tg", "temporal_grounding_test.json"), ("tg.json", "record 1", "question")),
    # score: file-level problems (bad lines are reported one per line, then the summary)
    Case("score-not-utf8", _score(b'{"completion": "caf\xe9"}\n'), ("in.jsonl:1:", "UTF-8")),
    Case("score-deeply-nested", _score(DEEP + "\n"), ("in.jsonl:1", "nested"), lines=0),
    Case("score-out-missing-dir", _score_out_missing_dir, ("nowhere",)),
    Case("score-input-is-a-folder", lambda w, f: ["score", "--input", str(f)], ("score-input-is-a-folder",)),
    # an operating-system error on a named file
    Case("synth-out-is-a-file", lambda w, f: ["synth", "--out", str(_write(f / "taken", "a file")), "--quiet"], ("taken",)),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory, synth_easy, tiny_model) -> World:
    sft = json.loads((synth_easy / "stgr_sft.json").read_text())
    with_frames = [r for r in sft if r.get("key_items")]
    records = [r for r in sft if r not in with_frames][:2] + with_frames[:1]  # record 2 has key frames and boxes
    return World(root=tmp_path_factory.mktemp("bad_input"), synth=synth_easy, model=tiny_model,
                 video=synth_easy / "videos" / "test_00000.mp4", sft=records,
                 vstar=json.loads((synth_easy / "vstar_test.json").read_text()))


def run_case(case: Case, world: World, capsys) -> tuple[int, str]:
    argv = case.argv(world, world.folder(case.id))
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_naming_the_file_record_and_field(case, world, capsys):
    code, err = run_case(case, world, capsys)
    assert code != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    if case.lines:
        assert len(lines) == case.lines, err
        assert lines[0].startswith("o3video "), err
    for name in case.names:
        assert name in lines[0], f"{name!r} not in {lines[0]!r}"


@pytest.mark.parametrize("error", [AttributeError("'NoneType' object has no attribute 'x'"), KeyError("width"), TypeError("bug")])
def test_a_bug_keeps_its_traceback(monkeypatch, error):
    import o3video.commands.score as score

    def broken(args):
        raise error

    monkeypatch.setattr(score, "run", broken)
    with pytest.raises(type(error)):
        main(["score", "--input", "in.jsonl"])


def test_judge_typo_is_found_before_anything_runs(world, capsys):
    case = next(c for c in CASES if c.id == "vstar-judge-typo")
    run_case(case, world, capsys)
    assert not (world.root / case.id / "results.jsonl").exists()


@pytest.mark.parametrize("option, value, floor", [("--steps", 0, 1), ("--threads", 0, 1), ("--binding-steps", -1, 0),
                                                      ("--video-steps", -1, 0), ("--where-steps", -1, 0),
                                                      ("--world-steps", -1, 0), ("--what-steps", -1, 0),
                                                      ("--when-steps", -1, 0)])
def test_perception_base_refuses_a_budget_below_its_floor_in_one_line(option, value, floor, capsys):
    assert main(["perception-base", option, str(value)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"o3video perception-base: {option} must be >= {floor}, got {value}"]


def test_perception_base_from_refuses_a_folder_without_a_model_and_a_run_with_nothing_to_train(tmp_path, capsys):
    assert main(["perception-base", "--from", str(tmp_path / "nowhere"), "--steps", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"o3video perception-base: --from {tmp_path / 'nowhere'}: not a model directory (no config.json)"]
    (tmp_path / "config.json").write_text("{}")
    zero = [item for stage in ("binding", "video", "where", "world") for item in (f"--{stage}-steps", "0")]
    assert main(["perception-base", "--from", str(tmp_path), "--steps", "0", *zero]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "o3video perception-base: --from: every stage has 0 steps, nothing to continue"]
    assert main(["perception-base", "--steps", "0"]) == 2  # only a continued base may skip the single stage
    assert capsys.readouterr().err.strip().splitlines() == ["o3video perception-base: --steps must be >= 1, got 0"]


def test_demo_refuses_a_negative_perception_replay_in_one_line(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "run"), "--perception-replay", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["o3video demo: --perception-replay must be >= 0, got -1"]
    assert not (tmp_path / "run").exists()  # refused before anything ran


@pytest.mark.parametrize("option", ["--replay-video", "--replay-where"])
@pytest.mark.parametrize("value", ["-0.1", "1.5"])
def test_demo_refuses_a_replay_share_outside_0_1_in_one_line(tmp_path, capsys, option, value):
    assert main(["demo", "--out", str(tmp_path / "run"), option, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"o3video demo: {option} must be between 0 and 1, got {float(value)}"]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["demo", "ablate"])
def test_a_base_that_is_not_a_model_is_refused_in_one_line_before_the_run_renders_anything(command, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([command, "--quick", "--base", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"o3video {command}: --base {tmp_path / 'nowhere'}: not a model directory (no config.json)"]
    assert not out.exists()
