"""End to end: synthetic sources → `build` through a real local OpenAI-compatible server answering from
ground truth (with injected errors) → STGR records the training code can read; resume after a kill."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from o3video.cli import main
from o3video.construction import BuildConfig, SourceSpec, VLMOptions, build
from o3video.data.stgr import load_stgr, reasoning_in_pixels
from o3video.lab.offline.annotator import ERROR_KINDS, TruthAnnotator
from o3video.lab.offline.build_demo import kept_by_source_filters
from o3video.lab.offline.server import LocalChatServer
from o3video.lab.offline.synthetic_sources import SyntheticSourceConfig, SyntheticWorld, build_synthetic_sources
from o3video.mixes import SFT_MIX
from o3video.video.keyframes import load_key_frame

REPO = Path(__file__).resolve().parents[1]
MODEL = "synthetic-truth"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """4 synthetic videos of 10-13 s and one of 6-8 s, as temporal-grounding and dense-caption sources."""
    return build_synthetic_sources(SyntheticSourceConfig(out=tmp_path_factory.mktemp("build") / "world", videos=4, short_videos=1))


def config(world, out, url, *, ledger=None, include=None, mix=None, concurrency=2):
    return BuildConfig(
        out=out,
        sources=(SourceSpec(world.temporal, "temporal", "synth-temporal"), SourceSpec(world.dense, "dense", "synth-dense")),
        videos=world.videos,
        vlm=f"openai:{url}:{MODEL}",
        includes=(include,) if include else (),
        mix=mix,
        concurrency=concurrency,
        frame_format="png",
        vlm_options=VLMOptions(send_context=True, retry_backoff_s=0.0, max_retries=0, timeout_s=30.0),
        injection_ledger=ledger,
        progress=False,
    )


def run_build(world, out, *, injections=None, delay=0.0, **kwargs):
    ledger = out.parent / f"{out.name}-ledger.jsonl"
    annotator = TruthAnnotator(SyntheticWorld(world.root), injections, ledger=ledger)
    with LocalChatServer(annotator.respond, model=MODEL, delay_s=delay) as server:
        summary = build(config(world, out, server.url, ledger=ledger, **kwargs))
    assert server.failures == []
    return summary


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_clean_build_keeps_every_annotated_item_and_writes_trainable_records(world, tmp_path, synth_easy, tiny_model):
    out = tmp_path / "out"
    summary = run_build(world, out, include=synth_easy / "stgr_sft.json", mix="sft")
    report = summary.report
    assert summary.failed == 0
    source_filter = report["stages"]["source_filter"]
    assert source_filter["reasons"]["video_too_short"] >= 2 and source_filter["reasons"]["action_too_long"] >= 1
    kept = kept_by_source_filters(config(world, out, "http://127.0.0.1:1/v1"))
    assert source_filter["kept"] == len(kept) >= 10
    validation = report["validation"]
    assert validation["clean"] == {**validation["clean"], "samples": len(kept), "kept": len(kept), "wrongly_dropped": 0}
    assert all(row["injected"] == 0 for row in validation["rows"].values())

    records = load_stgr(out / "stgr_spatio_temporal.jsonl").records  # raises on any invalid record
    assert sorted(r["id"] for r in records) == sorted(kept) and summary.records["stgr_spatio_temporal.jsonl"] == len(kept)
    assert {r["source"] for r in records} == {"synth-temporal", "synth-dense"}
    sw = SyntheticWorld(world.root)
    for record in records:
        assert (out / record["video_path"]).is_file()
        facts = sw.facts(sw.describe(record["id"])[0])
        size = (facts.plan.width, facts.plan.height)
        for frame in record["key_frames"]:
            assert frame["idx"] == round(frame["time"] * facts.fps)  # key-frame time and index agree
            image = load_key_frame(frame, out, size).image
            assert image.size == size
            for name, boxes in record["key_items"][str(frame["idx"])].items():
                obj = next(o for o in facts.ids if facts.name(o, frame["idx"]) == name)
                truth = [v / s for v, s in zip(facts.box(obj, frame["idx"]), size * 2)]
                assert boxes == [pytest.approx(truth, abs=1e-4)]
        pixel_boxes = [b for line in reasoning_in_pixels(record, size).split("<box>")[1:] for b in [line.split("]")[0]]]
        assert pixel_boxes and all(all(float(v) == int(v) for v in b.strip("[").split(",")) for b in pixel_boxes)

    mixed = load_stgr(out / "stgr_sft.jsonl").records
    mix = report["mix"]
    assert len(mixed) == mix["total"] > len(records) and mix["missing_categories"] == []
    for category, share in SFT_MIX.shares().items():
        assert abs(mix["counts"][category] - share * mix["total"]) <= 1
    for record in mixed:
        media = record.get("video_path") or record.get("image_path")
        assert (out / media).is_file()
        for frame in record.get("key_frames", []):
            assert (out / frame["path"]).is_file()
    text = (out / "report.md").read_text()
    assert "## Stages" in text and "video_too_short" in text and "## Mix (sft)" in text and "Synthetic validation" in text

    # the training issue's SFT data path accepts what the build wrote: every record loads for training,
    # and a batch of built spatio-temporal examples gets assistant-only labels
    from o3video.models import frame_settings, load_model
    from o3video.train.sft_data import sft_collator, sft_example
    from o3video.train.train_config import DataConfig
    from o3video.train.train_records import load_training_records

    _, processor = load_model(tiny_model)
    items = load_training_records(DataConfig(train=[str(out / "stgr_sft.jsonl")], num_frames=4, cache_dir=None),
                                  frame_settings(processor))
    assert len(items) == len(mixed)
    built = [i for i in items if i.record["source"] in ("synth-temporal", "synth-dense")][:2]
    batch = sft_collator(processor)([sft_example(i) for i in built])
    assert (batch["labels"] != -100).any() and (batch["labels"] == -100).any()


def test_every_injected_error_kind_is_caught_and_no_clean_sample_dropped(world, tmp_path):
    kept = sorted(kept_by_source_filters(config(world, tmp_path / "out", "http://127.0.0.1:1/v1")))
    injections = {item: (ERROR_KINDS + ("clean",))[i % (len(ERROR_KINDS) + 1)] for i, item in enumerate(kept)}
    summary = run_build(world, tmp_path / "out", injections=injections)
    validation = summary.report["validation"]
    for kind in ERROR_KINDS:
        row = validation["rows"][kind]
        assert row["injected"] >= 1 and row["caught"] == row["injected"] and row["missed"] == 0, (kind, row)
    assert validation["clean"]["wrongly_dropped"] == 0 and validation["clean"]["samples"] >= 1
    caught_by = {kind: " ".join(row["caught_by"]) for kind, row in validation["rows"].items()}
    assert "time_not_in_key_frames" in caught_by["time_outside_key_frames"]
    assert "box_not_in_key_items" in caught_by["oversized_box"]  # the 80% rule removed it, the reasoning still cites it
    assert "crop_not_verified" in caught_by["wrong_name"] and "crop_not_verified" in caught_by["hallucinated_object"]
    annotate = {e["id"]: e for e in read_jsonl(tmp_path / "out" / "stages" / "annotate.jsonl")}
    broken = [item for item, kind in injections.items() if kind == "broken_json"]
    assert all(annotate[item]["attempts"] >= 2 or annotate[item]["status"] == "rejected" for item in broken)
    records = {r["id"] for r in read_jsonl(tmp_path / "out" / "stgr_spatio_temporal.jsonl")}
    assert records <= {item for item, kind in injections.items() if kind in ("clean", "broken_json")}
    assert summary.report["boxes_removed"] >= 1


@pytest.mark.slow
def test_resume_after_a_killed_run_gives_the_same_output(world, tmp_path, synth_easy):
    include = synth_easy / "stgr_sft.json"
    reference = tmp_path / "reference"
    run_build(world, reference, include=include, mix="sft")

    killed = tmp_path / "killed"
    annotator = TruthAnnotator(SyntheticWorld(world.root))
    with LocalChatServer(annotator.respond, model=MODEL, delay_s=0.1) as server:
        command = [sys.executable, "-m", "o3video.cli", "build", "--out", str(killed), "--videos", str(world.videos),
                   "--source", str(world.temporal), "--source-kind", "temporal", "--source-name", "synth-temporal",
                   "--source", str(world.dense), "--source-kind", "dense", "--source-name", "synth-dense",
                   "--vlm", f"openai:{server.url}:{MODEL}", "--send-context", "--frame-format", "png", "--max-retries", "0",
                   "--concurrency", "1", "--include", str(include), "--mix", "sft", "--quiet"]
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        log = killed / "stages" / "annotate.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if log.exists() and len(log.read_text().splitlines()) >= 3:
                break
            time.sleep(0.02)
        assert process.poll() is None, process.stderr.read().decode()
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()
    done_before = len(read_jsonl(log))
    assert 3 <= done_before < len(kept_by_source_filters(config(world, killed, "http://127.0.0.1:1/v1")))
    assert not (killed / "stgr_spatio_temporal.jsonl").exists()
    with open(log, "a", encoding="utf-8") as f:
        f.write('{"id": "synth-temporal:src_0001#0", "status": "ke')  # a line cut by the kill

    run_build(world, killed, include=include, mix="sft")
    for name in ("stgr_spatio_temporal.jsonl", "stgr_sft.jsonl"):
        assert (killed / name).read_bytes() == (reference / name).read_bytes(), name
    ids = [r["id"] for r in read_jsonl(killed / "stgr_spatio_temporal.jsonl")]
    assert len(ids) == len(set(ids)) >= 10
    for stage in ("source_filter", "annotate", "boxes", "consistency"):
        lines = read_jsonl(killed / "stages" / f"{stage}.jsonl")
        finished = {e["id"]: e for e in lines}
        expected = {e["id"]: e for e in read_jsonl(reference / "stages" / f"{stage}.jsonl")}
        assert finished == expected and len(lines) == len(finished), stage  # nothing lost, nothing done twice
    frames = sorted(p.relative_to(killed) for p in (killed / "frames").rglob("*.png"))
    assert frames == sorted(p.relative_to(reference) for p in (reference / "frames").rglob("*.png"))
    assert json.loads((killed / "report.json").read_text())["stages"] == json.loads((reference / "report.json").read_text())["stages"]

    with pytest.raises(ValueError, match="different settings"):
        build(BuildConfig(**{**config(world, killed, "http://127.0.0.1:1/v1").__dict__, "frames_per_item": 4}))


def test_the_synthetic_demo_command(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(["build", "--synthetic-demo", "--out", str(out), "--demo-videos", "3", "--demo-existing", "12",
               "--errors", "all=0.1", "--verifier-error-rate", "0.3", "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 0 and "| injected error | samples | caught | missed |" in printed and "wrongly dropped" in printed
    report = json.loads((out / "report.json").read_text())
    clean = report["validation"]["clean"]
    assert clean["wrongly_dropped"] >= 1 and clean["kept"] + clean["wrongly_dropped"] == clean["samples"]
    assert (out / "stgr_sft.jsonl").is_file() and load_stgr(out / "stgr_sft.jsonl").records


def test_temporal_grounding_with_chains_of_thought_passes_through_as_temporal_qa(world, tmp_path):
    duration = json.loads(world.temporal.read_text())["src_0000"]["duration"]
    source = tmp_path / "tvg.json"
    source.write_text(json.dumps([
        {"id": "a", "video": "src_0000.mp4", "timestamp": [1.0, 4.5], "sentence": "x", "cot": "<think>It starts at 1 s.</think>"},
        {"id": "b", "video": "src_0000.mp4", "timestamp": [0.0, 0.75 * duration], "sentence": "y"},
        {"id": "c", "video": "src_0000.mp4", "timestamp": [1.0, 2.0], "sentence": "z", "cot": "x" * 6000},
        {"id": "d", "video": "elsewhere.mp4", "timestamp": [1.0, 2.0], "sentence": "w"},
    ]))
    out = tmp_path / "out"
    summary = build(BuildConfig(out=out, sources=(SourceSpec(source, "temporal-qa", "tvg"),), videos=world.videos, progress=False))
    (record,) = load_stgr(out / "stgr_temporal.jsonl").records
    assert record["id"] == "tvg:a" and record["task"] == "temporal QA" and record["answer"] == "[1, 4.5]"
    assert record["reasoning_process"] == "It starts at 1 s." and (out / record["video_path"]).is_file()
    assert summary.report["stages"]["source_filter"]["reasons"] == {"span_too_long": 1, "cot_too_long": 1, "video_missing": 1}
    assert summary.records == {"stgr_temporal.jsonl": 1} and summary.report["stages"]["annotate"]["in"] == 0
