"""`o3video frames-cache`: every training record's frames decoded once into the frame cache, exactly as training
asks for them (so training reads each record from the cache), resumable, and the probe before training read
from that cache instead of opening each video again."""

import importlib

import pytest

from o3video.cli import main
from o3video.models.load import frame_settings, load_processor
from o3video.train.train_config import load_config
from o3video.train.train_records import load_training_records


def settings(synth_easy, tiny_model, cache, limit):
    return [f"model={tiny_model}", f"data.limit={limit}", "data.num_frames=3", f"data.cache_dir={cache}"]


def cache_frames(synth_easy, tiny_model, cache, limit, *extra):
    return main(["frames-cache", "--data", str(synth_easy / "stgr_sft.json"), *extra,
                 *settings(synth_easy, tiny_model, cache, limit)])


def summary(capsys):
    return capsys.readouterr().out.splitlines()[0]


def test_frames_are_decoded_once_and_training_reads_them_from_the_cache(synth_easy, tiny_model, tmp_path, capsys,
                                                                        monkeypatch):
    cache = tmp_path / "frames"
    assert cache_frames(synth_easy, tiny_model, cache, 4) == 0  # 4 records of one video, asking the same frames
    assert "frames of 4 video records cached (1 decoded now, 3 found there)" in summary(capsys)
    assert cache_frames(synth_easy, tiny_model, cache, 8) == 0  # a stopped extraction goes on where it stopped
    assert "frames of 8 video records cached (1 decoded now, 7 found there)" in summary(capsys)
    assert len(list(cache.rglob("*.npz"))) == 4  # per video its frames and its probe

    def no_video_opened(path):
        raise AssertionError(f"{path} was probed again")

    monkeypatch.setattr(importlib.import_module("o3video.video.probe"), "probe", no_video_opened)
    config = load_config(None, [f"data.train={synth_easy / 'stgr_sft.json'}", "output_dir=unused",
                                *settings(synth_easy, tiny_model, cache, 8)], stage="sft")
    resize = frame_settings(load_processor(tiny_model, max_pixels=config.data.max_pixels))
    records = load_training_records(config.data, resize)  # checks every record's video: probes from the cache
    assert len(records) == 8 and all(r.prompt().frames.from_cache for r in records)


@pytest.mark.slow
def test_extraction_in_worker_processes_caches_what_one_process_would(synth_easy, tiny_model, tmp_path, capsys):
    assert cache_frames(synth_easy, tiny_model, tmp_path / "one", 8) == 0
    capsys.readouterr()
    assert cache_frames(synth_easy, tiny_model, tmp_path / "two", 8, "--workers", "2") == 0
    assert "frames of 8 video records cached (2 decoded now, 6 found there)" in summary(capsys)  # a video per worker
    one, two = (sorted(p.relative_to(tmp_path / d) for p in (tmp_path / d).rglob("*.npz")) for d in ("one", "two"))
    assert one == two and len(one) == 4


def test_without_a_cache_directory_it_is_one_line(synth_easy, tiny_model, tmp_path, capsys):
    assert main(["frames-cache", "--data", str(synth_easy / "stgr_sft.json"), f"model={tiny_model}",
                 "data.cache_dir=null"]) == 2
    assert "data.cache_dir is not set" in capsys.readouterr().err
