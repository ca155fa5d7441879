"""`o3video frames`: images + frames.json for MP4, MKV and WebM; clear errors."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from o3video.cli import main
from videos import read_number, render_numbered


@pytest.mark.parametrize("suffix,codec", [(".mp4", "libx264"), (".mkv", "libx264"), (".webm", "libvpx-vp9")])
def test_frames_command_writes_images_and_json(tmp_path, capsys, suffix, codec):
    video = tmp_path / f"clip{suffix}"
    render_numbered(video, frames=40, gop=8, codec=codec)
    out = tmp_path / "out"
    args = ["frames", str(video), "--num", "5", "--mode", "keyframe", "--max-pixels", str(64 * 28 * 28), "--out", str(out)]
    assert main(args + ["--key-time", "0.5"]) == 0
    summary = json.loads((out / "frames.json").read_text())
    assert summary["source_size"] == [128, 96] and summary["input_size"] == [140, 84]
    assert summary["mode"] == "keyframe" and summary["duration"] == pytest.approx(40 / 30, abs=2e-3)
    frames = summary["frames"]
    assert [f["index"] for f in frames] == list(range(len(frames)))
    assert [f["timestamp"] for f in frames] == sorted(f["timestamp"] for f in frames)
    assert [f["is_key"] for f in frames].count(True) == 1
    for record in frames:
        image = Image.open(out / record["file"])
        assert image.size == (140, 84)
        assert read_number(image) == round(record["timestamp"] * 30)
    printed = capsys.readouterr().out
    assert f"wrote {len(frames)} images and frames.json" in printed


def test_frames_command_reports_bad_files(tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    assert main(["frames", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "broken.mp4" in err and err.startswith("o3video frames: ")
    assert not (tmp_path / "o").exists()


def test_frames_command_uses_the_cache(tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    render_numbered(video, frames=20)
    args = ["frames", str(video), "--num", "3", "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "o")]
    assert main(args) == 0
    assert main(args) == 0
    assert json.loads((tmp_path / "o" / "frames.json").read_text())["from_cache"] is True
