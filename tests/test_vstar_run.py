"""End-to-end V-STaR runs with the tiny model on synthetic records: resume, errors, baselines, infer."""

import json
import re
import shutil

import pytest

from o3video.cli import main
from o3video.commands.eval import score_results
from o3video.eval.vstar_run import VStarRunConfig, run_vstar, write_baseline


@pytest.fixture(scope="module")
def loaded(tiny_model):
    from o3video.answer import LocalModel
    from o3video.models import load_model

    return LocalModel(*load_model(tiny_model))


def config(synth_easy, tiny_model, out, **over):
    base = dict(anno=synth_easy / "vstar_test.json", videos=synth_easy / "videos", model=str(tiny_model), out=out,
                num_frames=4, max_new_tokens=12)
    return VStarRunConfig(**(base | over))


@pytest.mark.slow
def test_run_writes_benchmark_fields_and_resumes_after_a_kill(synth_easy, tiny_model, loaded, tmp_path):
    full = run_vstar(config(synth_easy, tiny_model, tmp_path / "full.jsonl"), model=loaded)
    rows = [json.loads(line) for line in full.read_text().splitlines()]
    assert len(rows) == 4 and all("error" not in r for r in rows)
    for field in ("answer_vqa", "answer_temporal_pre", "answer_temporal", "answer_spatial_pre", "answer_spatial",
                  "answer_spatial_pre_2", "answer_spatial_2", "answer_temporal_pre_2", "answer_temporal_2", "input_size"):
        assert field in rows[0]
    assert rows[0]["input_size"] == [112, 84]

    # an interrupted run: two records done, the third cut off mid-line
    partial = tmp_path / "partial.jsonl"
    run_vstar(config(synth_easy, tiny_model, partial, limit=2), model=loaded)
    with partial.open("a") as f:
        f.write(full.read_text().splitlines()[2][:40])
    calls = []
    import o3video.eval.vstar_run as vr

    original = vr.ask_record
    monkey = lambda *a, **k: calls.append(a[2]["vid"]) or original(*a, **k)
    vr.ask_record = monkey
    try:
        run_vstar(config(synth_easy, tiny_model, partial), model=loaded)
    finally:
        vr.ask_record = original
    assert calls == [rows[2]["vid"], rows[3]["vid"]]  # finished records are not asked again
    resumed = [json.loads(line) for line in partial.read_text().splitlines()]
    assert [r["key"] for r in resumed] == [r["key"] for r in rows]
    a = json.loads(score_results(full, "exact").read_text())
    b = json.loads(score_results(partial, "exact").read_text())
    assert a["overall"] == b["overall"]


def test_missing_and_corrupt_videos_are_recorded_and_the_run_goes_on(synth_easy, tiny_model, loaded, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(synth_easy / "videos", videos)
    records = json.loads((synth_easy / "vstar_test.json").read_text())
    vids = list(dict.fromkeys(r["vid"] for r in records))
    assert len(vids) >= 2, "the fixture needs records from two videos"
    missing, corrupt = vids[0], vids[1]
    (videos / f"{missing}.mp4").unlink()
    (videos / f"{corrupt}.mp4").write_bytes(b"not a video at all")
    out = run_vstar(config(synth_easy, tiny_model, tmp_path / "r.jsonl", videos=videos), model=loaded)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(records)
    for row in rows:
        if row["vid"] == missing:
            assert "no video" in row["error"]
        elif row["vid"] == corrupt:
            assert str(videos / f"{corrupt}.mp4") in row["error"] and "FFmpeg" in row["error"]
        else:
            assert "error" not in row
    failed = sum(r["vid"] in (missing, corrupt) for r in rows)
    metrics = json.loads(score_results(out, "exact").read_text())
    assert metrics["records_with_errors"] == failed and metrics["overall"]["n"] == len(rows) - failed


def test_whole_video_baseline(synth_easy, tmp_path):
    out = write_baseline(synth_easy / "vstar_test.json", tmp_path / "base.jsonl")
    metrics = json.loads(score_results(out, "exact").read_text())["overall"]
    assert metrics["what_accuracy"] == 0.0
    assert 0 < metrics["chain1"]["tiou_mean"] < 1 and metrics["chain1"]["tiou_mean"] == metrics["chain2"]["tiou_mean"]
    assert 0 < metrics["chain1"]["viou_mean"] < 0.5
    assert (tmp_path / "base.metrics.md").read_text().startswith("### V-STaR")


def test_eval_command_runs_and_scores(synth_easy, tiny_model, tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    code = main(["eval", "vstar", "--anno", str(synth_easy / "vstar_test.json"), "--videos", str(synth_easy / "videos"),
                 "--model", str(tiny_model), "--out", str(out), "--frames", "4", "--max-new-tokens", "8", "--limit", "2",
                 "--judge", "exact"])
    assert code == 0 and len(out.read_text().splitlines()) == 2
    assert "| overall | 2 |" in capsys.readouterr().out
    assert main(["eval", "vstar", "--results", str(tmp_path / "missing.jsonl"), "--judge", "exact"]) == 2
    assert main(["eval", "vstar", "--anno", "x.json"]) == 2


def test_infer_command_prints_evidence_and_draws_it(synth_easy, tiny_model, tmp_path, capsys):
    video = next((synth_easy / "videos").glob("test_*.mp4"))
    out_json, out_png = tmp_path / "r.json", tmp_path / "e.png"
    code = main(["infer", str(video), "What moves?", "--model", str(tiny_model), "--frames", "4",
                 "--max-new-tokens", "8", "--json", str(out_json), "--viz", str(out_png)])
    assert code == 0
    result = json.loads(out_json.read_text())
    assert result["input_size"] == [112, 84] and len(result["frame_times"]) == 4
    assert out_png.stat().st_size > 0
    printed = capsys.readouterr()
    assert "Q: What moves?" in printed.out
    err = " ".join(printed.err.split())  # the progress bars, drawn once when stderr is not a terminal
    assert "sampling 4 frames" in err and "1/1 video" in err
    generated = re.search(r"generating \S* (\d+)/8 tokens", err)
    assert generated and 1 <= int(generated.group(1)) <= 8
    assert "Loading weights" not in printed.err  # transformers' own bar is kept quiet


def test_the_token_counter_counts_what_generate_adds(loaded):
    import torch

    from o3video.models.token_counter import TokenCounter

    told = []
    counter = TokenCounter(told.append)
    ids = loaded.processor.tokenizer("where is the red circle", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = loaded.model.generate(input_ids=ids, max_new_tokens=5, do_sample=False, streamer=counter)
    assert counter.count == out.shape[1] - ids.shape[1] == sum(told)
    assert all(n == 1 for n in told)


def test_transformers_bars_off_silences_transformers_bars_and_restores_them():
    from transformers.utils import logging as hf_logging

    from o3video.models.load import transformers_bars_off

    assert hf_logging.is_progress_bar_enabled()
    with transformers_bars_off():
        assert not hf_logging.is_progress_bar_enabled()
    assert hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with transformers_bars_off():
            pass
        assert not hf_logging.is_progress_bar_enabled()  # a caller's choice is kept
    finally:
        hf_logging.enable_progress_bar()


def test_evidence_is_reported_in_both_coordinate_spaces():
    from o3video.grammar import parse
    from o3video.inference import evidence_of

    completion = parse("<think><obj>cup</obj><box>[10,20,60,-5]</box><box>[-10,0,300,40]</box>at<t>2</t>s</think><answer>a</answer>")
    ev = evidence_of(completion, (112, 84), (224, 168))
    assert [e.box_input for e in ev] == [[10, 20, 60, 0], [0, 0, 112, 40]]  # clamped to the input frame
    assert ev[1].box_original == [0, 0, 224, 80] and ev[1].time == 2.0 and ev[1].object == "cup"


def test_frames_follow_the_processor_so_boxes_refer_to_what_the_model_saw(synth_easy, loaded):
    from o3video.video import sample_frames

    processor, settings = loaded.processor, loaded.frame_settings
    assert settings == {"factor": 28, "min_pixels": 4 * 28 * 28, "max_pixels": 128 * 28 * 28}
    video = next((synth_easy / "videos").glob("test_*.mp4"))
    frames = sample_frames(video, 3, **(settings | {"max_pixels": 84 * 56}))  # a budget that forces a resize
    w, h = frames.input_size
    assert (w, h) != (112, 84)
    processor.image_processor.size = {"shortest_edge": settings["min_pixels"], "longest_edge": 84 * 56}
    try:
        grid = processor.image_processor(images=[f.image for f in frames.frames], return_tensors="np")["image_grid_thw"]
    finally:
        processor.image_processor.size = {"shortest_edge": settings["min_pixels"], "longest_edge": settings["max_pixels"]}
    assert grid.tolist() == [[1, h // 14, w // 14]] * 3


def test_video_ignoring_baselines_answer_from_the_frame_and_the_training_split_only(synth_easy, tmp_path):
    from o3video.eval.benchmark_runner import load_annotations
    from o3video.eval.vstar_baselines import answer_prior, baseline_answers

    records = load_annotations(synth_easy / "vstar_test.json")
    record = dict(records[0], width=200, height=100, frame_count=100, fps=10)  # 10 s
    centre = baseline_answers("centre", record)
    assert centre["answer_temporal"] == [2.5, 7.5] and set(centre["answer_spatial"]) == {"3", "4", "5", "6", "7"}
    assert centre["answer_spatial"]["3"] == [50, 25, 150, 75]
    prior = answer_prior([dict(record, answer="red", timestamps=[1, 3]), dict(record, answer="red", timestamps=[3, 5]),
                          dict(record, answer="blue", timestamps=[1, 3])])
    assert prior.what == "red" and prior.span == pytest.approx((5 / 30, 11 / 30))
    frequent = baseline_answers("frequent", record, prior)
    assert frequent["answer_vqa"] == "red" and frequent["answer_temporal"] == [1.67, 3.67]
    out = write_baseline(synth_easy / "vstar_test.json", tmp_path / "f.jsonl", "frequent", synth_easy / "vstar_test.json")
    assert json.loads(score_results(out, "exact").read_text())["overall"]["n"] == len(records)
