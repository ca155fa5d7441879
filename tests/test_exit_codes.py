"""Exit codes that tell the truth: records that failed before answering, empty inputs, a missing judge,
another protocol's metrics file, Ctrl-C and the resume after it; and the quietly wrong cases a newcomer met
(a served model's assumed box convention, the baselines' readable spans, the score table's accuracy range)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from o3video.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "completions.jsonl"


def _vstar_argv(synth: Path, model: Path, anno: Path, videos: Path, out: Path, *extra: str) -> list[str]:
    return ["eval", "vstar", "--anno", str(anno), "--videos", str(videos), "--model", str(model), "--out", str(out),
            "--frames", "2", "--max-new-tokens", "4", *extra]


def _two_records(synth: Path, folder: Path) -> tuple[Path, list[dict]]:
    records = json.loads((synth / "vstar_test.json").read_text())[:2]
    anno = folder / "vstar.json"
    anno.write_text(json.dumps(records))
    return anno, records


def _err_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_every_record_failing_before_answering_is_exit_2_naming_the_cause(synth_easy, tiny_model, tmp_path, capsys):
    anno, records = _two_records(synth_easy, tmp_path)
    empty = tmp_path / "wrong-videos"
    empty.mkdir()
    out = tmp_path / "r.jsonl"
    assert main(_vstar_argv(synth_easy, tiny_model, anno, empty, out)) == 2
    err = _err_lines(capsys)  # the one line: no weight-loading bar above it
    assert err == [f"o3video eval vstar: {out}: 2 of 2 record(s) failed before answering: 2 no video "
                   f"(first: record 0: no video for record 0 under {empty})"]


def test_a_corrupt_video_is_exit_2_summarised_by_kind(synth_easy, tiny_model, tmp_path, capsys):
    anno, records = _two_records(synth_easy, tmp_path)
    videos = tmp_path / "videos"
    shutil.copytree(synth_easy / "videos", videos)
    (videos / f"{records[1]['vid']}.mp4").write_bytes(b"not a video at all")
    out = tmp_path / "r.jsonl"
    failing = sum(r["vid"] == records[1]["vid"] for r in records)
    assert main(_vstar_argv(synth_easy, tiny_model, anno, videos, out)) == 2
    last = _err_lines(capsys)[-1]
    first = next(i for i, r in enumerate(records) if r["vid"] == records[1]["vid"])
    assert last.startswith(f"o3video eval vstar: {out}: {failing} of 2 record(s) failed before answering: "
                           f"{failing} unreadable video (first: record {first}: ")
    assert f"{records[1]['vid']}.mp4" in last


@pytest.mark.parametrize("content", ["", "[]", "\n\n"])
def test_empty_annotations_are_one_line_and_exit_2(synth_easy, tiny_model, tmp_path, capsys, content):
    anno = tmp_path / "empty.json"
    anno.write_text(content)
    assert main(_vstar_argv(synth_easy, tiny_model, anno, synth_easy, tmp_path / "r.jsonl")) == 2
    assert _err_lines(capsys) == [f"o3video eval vstar: {anno}: no records (an empty file or an empty list)"]
    assert not (tmp_path / "r.jsonl").exists()


def test_an_empty_results_file_is_one_line_and_exit_2(tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    results.write_text("")
    assert main(["eval", "vstar", "--results", str(results), "--judge", "exact"]) == 2
    assert _err_lines(capsys) == [f"o3video eval vstar: {results}: no records (an empty file or an empty list)"]


def test_score_of_an_empty_file_is_one_line_and_exit_2(tmp_path, capsys):
    empty = tmp_path / "in.jsonl"
    empty.write_text("\n")
    assert main(["score", "--input", str(empty)]) == 2
    assert _err_lines(capsys) == [f"o3video score: {empty}: no lines to score (an empty file)"]


def test_score_says_what_each_tasks_accuracy_ranges_over(capsys):
    assert main(["score", "--input", str(EXAMPLES), "--out", "/dev/null"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "temporal QA (MCQ) the letter plus the span's IoU (0-2)" in err


def test_each_scoring_protocol_writes_its_own_metrics_file(synth_easy, tmp_path, capsys):
    results = tmp_path / "whole.jsonl"
    assert main(["eval", "vstar", "--anno", str(synth_easy / "vstar_test.json"), "--baseline", "whole",
                 "--out", str(results), "--judge", "exact"]) == 0
    ours = json.loads((tmp_path / "whole.metrics.json").read_text())
    assert main(["eval", "vstar", "--results", str(results), "--judge", "exact", "--scoring", "vstar"]) == 0
    assert json.loads((tmp_path / "whole.metrics.json").read_text()) == ours  # not overwritten
    official = json.loads((tmp_path / "whole.vstar.metrics.json").read_text())
    assert official["scoring"] == "vstar" and ours["scoring"] == "o3video"
    assert (tmp_path / "whole.vstar.metrics.md").is_file()
    capsys.readouterr()
    report = tmp_path / "whole.metrics.json"
    assert main(["eval", "vstar", "--results", str(results), "--judge", "exact", "--scoring", "open-o3",
                 "--report", str(report)]) == 2
    assert _err_lines(capsys) == [
        f"o3video eval vstar: --report {report}: holds the metrics of --scoring o3video, not open-o3; name another "
        f"--report (or leave it out for {tmp_path / 'whole.open-o3.metrics.json'})"]
    assert json.loads(report.read_text()) == ours


def test_the_baselines_spans_are_read_as_scoring_reads_them(synth_easy, tmp_path):
    from o3video.eval.benchmark_runner import load_results
    from o3video.eval.vstar_run import write_baseline
    from o3video.lab.demo.evaluate import answer_shape

    rows = load_results(write_baseline(synth_easy / "vstar_test.json", tmp_path / "centre.jsonl", "centre"))
    shape = answer_shape(rows)
    assert shape["span_readable"] == 1.0 and shape["proper_boxes"] == 1.0
    lengths = [r["answer_temporal"][1] - r["answer_temporal"][0] for r in rows]
    assert shape["span_length_s"] == pytest.approx(sum(lengths) / len(lengths))


def _interrupt_after_first(monkeypatch):
    import o3video.eval.vstar_run as vstar_run

    original = vstar_run.ask_record
    asked = []

    def ask_then_interrupt(*args, **kwargs):
        if asked:
            raise KeyboardInterrupt
        asked.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(vstar_run, "ask_record", ask_then_interrupt)


def test_ctrl_c_is_one_line_exit_130_and_the_rerun_resumes_to_the_uninterrupted_result(
        synth_easy, tiny_model, tmp_path, capsys, monkeypatch):
    anno, _ = _two_records(synth_easy, tmp_path)
    videos = synth_easy / "videos"
    whole = tmp_path / "whole.jsonl"
    assert main(_vstar_argv(synth_easy, tiny_model, anno, videos, whole)) == 0
    capsys.readouterr()
    cut = tmp_path / "cut.jsonl"
    with monkeypatch.context() as patch:
        _interrupt_after_first(patch)
        assert main(_vstar_argv(synth_easy, tiny_model, anno, videos, cut)) == 130
    assert _err_lines(capsys) == [f"o3video eval vstar: interrupted; 1 of 2 record(s) kept in {cut}; "
                                  "the same command resumes from there"]
    assert main(_vstar_argv(synth_easy, tiny_model, anno, videos, cut)) == 0
    assert f"resuming {cut}: 1 finished record(s) kept, 1 to go" in " ".join(capsys.readouterr().out.split())
    assert cut.read_text() == whole.read_text()


def test_an_interrupt_anywhere_else_is_one_line_and_exit_130(monkeypatch, capsys):
    import o3video.commands.score as score

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(score, "run", interrupted)
    assert main(["score", "--input", "in.jsonl"]) == 130
    assert _err_lines(capsys) == ["o3video score: interrupted; finished work is kept; the same command resumes it"]


@pytest.mark.parametrize("name, family, convention, says", [
    ("my-model", None, "auto", True),
    ("Qwen/Qwen3-VL-8B-Instruct", None, "auto", False),
    ("Qwen2.5-VL-7B-Instruct", None, "auto", False),
    ("qwen2_5_vl-ft", None, "auto", False),
    ("my-model", "qwen3_vl", "auto", False),
    ("my-model", None, "relative_1000", False),
])
def test_a_served_model_whose_name_hides_its_family_says_which_convention_it_assumed(name, family, convention, says,
                                                                                      caplog):
    from o3video.served import ServedModel

    with caplog.at_level(logging.WARNING, logger="o3video.served"):
        model = ServedModel.from_spec(f"openai:http://127.0.0.1:9/v1:{name}", family=family, box_convention=convention)
    notes = [r.getMessage() for r in caplog.records]
    if says:
        assert notes == [f"served model '{name}': its name does not tell its family; assuming qwen2_5_vl (boxes in "
                         "pixels); set --served-family qwen2_5_vl|qwen3_vl or --box-convention pixels|relative_1000"]
        assert model.box_convention.value == "pixels"
    else:
        assert notes == []


@pytest.mark.parametrize("quick", [True, False])
def test_the_quick_demo_says_on_the_terminal_that_it_is_not_held_to_the_bars(tmp_path, capsys, monkeypatch, quick):
    import o3video.lab.demo as demo
    from o3video.commands.demo import QUICK_CAVEAT

    ran = []
    monkeypatch.setattr(demo, "run_demo", lambda settings, fresh: ran.append(settings.quick) or tmp_path / "report.md")
    assert main(["demo", "--out", str(tmp_path / "run"), "--base", "random", *(["--quick"] if quick else [])]) == 0
    assert ran == [quick]
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("demo finished") != quick
    assert (out[-1] == QUICK_CAVEAT) == quick
    assert QUICK_CAVEAT.startswith("quick run: a smoke test") and "not held to the bars" in QUICK_CAVEAT


def test_the_pictures_font_draws_accented_letters_not_empty_boxes():
    from o3video.viz.fonts import font

    f = font(16)
    missing = bytes(f.getmask("\ue000"))  # a private-use character: no font has it, so its glyph is the empty box
    assert all(bytes(f.getmask(letter)) != missing for letter in "éèñøßçÅ")


STALL = Path(__file__).resolve().parent / "stall.py"


def _ctrl_c_when_stalled(argv: list[str], marker: Path) -> subprocess.CompletedProcess:
    """Run `o3video ARGV` in a subprocess stalled at a known point (tests/stall.py), send it SIGINT there, and
    return how it ended."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, str(STALL), str(marker), *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 600
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.slow
def test_a_real_ctrl_c_of_eval_vstar_is_one_line_exit_130_and_the_rerun_resumes_to_the_uninterrupted_file(
        synth_easy, tiny_model, tmp_path, capsys):
    anno, _ = _two_records(synth_easy, tmp_path)
    videos = synth_easy / "videos"
    whole = tmp_path / "whole.jsonl"
    assert main(_vstar_argv(synth_easy, tiny_model, anno, videos, whole)) == 0
    cut = tmp_path / "cut.jsonl"
    ended = _ctrl_c_when_stalled(_vstar_argv(synth_easy, tiny_model, anno, videos, cut), tmp_path / "stalled")
    assert (tmp_path / "stalled").exists(), ended.stderr[-2000:]
    assert ended.returncode == 130, ended.stderr[-2000:]
    assert ended.stderr.strip().splitlines() == [
        f"o3video eval vstar: interrupted; 1 of 2 record(s) kept in {cut}; the same command resumes from there"]
    capsys.readouterr()
    assert main(_vstar_argv(synth_easy, tiny_model, anno, videos, cut)) == 0
    assert f"resuming {cut}: 1 finished record(s) kept, 1 to go" in " ".join(capsys.readouterr().out.split())
    assert cut.read_text() == whole.read_text()


@pytest.mark.slow
def test_a_real_ctrl_c_of_train_sft_is_one_line_exit_130_and_the_rerun_resumes_from_the_checkpoint(
        synth_easy, tiny_model, tmp_path, capsys):
    out = tmp_path / "sft"
    argv = ["train", "sft", f"model={tiny_model}", f"output_dir={out}", f"data.train={synth_easy / 'stgr_sft.json'}",
            "data.num_frames=2", f"data.cache_dir={synth_easy / 'frame_cache'}",
            "trainer.per_device_train_batch_size=1", "trainer.max_steps=4", "trainer.save_steps=2", "trainer.activation_checkpointing=false", "threads=1"]
    ended = _ctrl_c_when_stalled(argv, tmp_path / "stalled")
    assert (tmp_path / "stalled").exists(), ended.stderr[-2000:]
    assert ended.returncode == 130, ended.stderr[-2000:]
    assert ended.stderr.strip().splitlines() == [
        f"o3video train sft: interrupted; {out / 'checkpoint-2'} kept; the same command resumes from there"]
    assert not (out / "model.safetensors").exists()
    capsys.readouterr()
    assert main(argv) == 0
    assert f"resuming {out} from checkpoint-2 (step 2)" in capsys.readouterr().out
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
            if "train_runtime" not in line] == [1, 2, 3, 4]
    assert (out / "model.safetensors").is_file()
