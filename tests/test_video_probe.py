"""probe(): honest metadata, and clear errors for files that cannot be used."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

from o3video.video import VideoError, probe, sample_frames
from videos import number_image, read_number, render_numbered


def write_h264(path: Path, frames: int, *, options: dict | None = None, audio_seconds: float = 0.0) -> None:
    """Numbered H.264 video (30 fps, 128x96), optionally with an audio track of another length."""
    with av.open(str(path), "w", options=options or {}) as container:
        video = container.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 128, 96, "yuv420p"
        video.options = {"preset": "superfast", "x264-params": "keyint=12:scenecut=0"}
        audio = container.add_stream("aac", rate=16000) if audio_seconds else None
        for i in range(frames):
            container.mux(video.encode(av.VideoFrame.from_ndarray(number_image(i, 128, 96), format="rgb24")))
        container.mux(video.encode())
        if audio is not None:
            for i in range(int(audio_seconds * 16000 / 1024)):
                samples = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                samples.sample_rate, samples.pts = 16000, i * 1024
                container.mux(audio.encode(samples))
            container.mux(audio.encode())


def test_probe_constant_rate_mp4(tmp_path):
    path = tmp_path / "a.mp4"
    render_numbered(path, frames=45, fps=15, size=(160, 120), gop=10)
    info = probe(path)
    assert (info.width, info.height) == (160, 120)
    assert info.frame_count == 45 and info.frame_count_exact and info.constant_rate
    assert info.fps == pytest.approx(15)
    assert info.duration == pytest.approx(3.0)
    assert info.last_frame_time == pytest.approx(44 / 15)
    assert info.start_time == 0.0 and info.codec == "h264" and info.path == str(path)
    assert info.to_dict()["frame_count"] == 45
    assert type(info).from_dict(info.to_dict()) == info


def test_duration_ignores_a_longer_audio_track(tmp_path):
    path = tmp_path / "av.mp4"
    write_h264(path, 30, audio_seconds=3.0)
    with av.open(str(path)) as container:
        assert container.duration / 1e6 > 2.5  # the container reports the audio's length
    info = probe(path)
    assert info.duration == pytest.approx(1.0, abs=1e-3)
    assert info.frame_count == 30
    assert [read_number(f.image) for f in sample_frames(path, 3).frames] == [0, 15, 29]


def test_webm_without_duration_or_cues(tmp_path):
    """Live-style WebM (as browsers record): no duration in the header, no index."""
    path = tmp_path / "live.webm"
    with av.open(str(path), "w", options={"live": "1"}) as container:
        stream = container.add_stream("libvpx-vp9", rate=30)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.codec_context.gop_size = 12
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        for i in range(45):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(number_image(i, 128, 96), format="rgb24")))
        container.mux(stream.encode())
    with av.open(str(path)) as container:
        assert container.duration is None and container.streams.video[0].duration is None
    info = probe(path)
    assert info.duration == pytest.approx(1.5, abs=2e-3)
    assert info.frame_count == 45
    for mode in ("exact", "keyframe"):
        frames = sample_frames(path, 5, mode=mode).frames
        assert [round(f.timestamp * 30) for f in frames] == [read_number(f.image) for f in frames]


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match=r"nope\.mp4: file not found"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(VideoError, match="file not found"):
        sample_frames(tmp_path / "nope.mp4", cache_dir=tmp_path / "cache")


def test_directory_and_empty_file(tmp_path):
    with pytest.raises(VideoError, match="is a directory"):
        probe(tmp_path)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(VideoError, match=r"empty\.mp4: file is empty"):
        sample_frames(empty)


def test_corrupt_file(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(os.urandom(20_000))
    with pytest.raises(VideoError, match=r"noise\.mp4: not a video FFmpeg can read"):
        probe(path)


def test_truncated_mp4_with_index_at_the_end(tmp_path):
    path = tmp_path / "cut.mp4"
    render_numbered(tmp_path / "full.mp4", frames=60)
    data = (tmp_path / "full.mp4").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match=r"cut\.mp4: .*moov atom not found"):
        sample_frames(path)


def test_truncated_mp4_with_index_at_the_start(tmp_path):
    full, path = tmp_path / "faststart.mp4", tmp_path / "cut.mp4"
    write_h264(full, 60, options={"movflags": "faststart"})
    data = full.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(VideoError, match=r"cut\.mp4: file is truncated"):
        probe(path)


def test_truncated_matroska(tmp_path):
    full, path = tmp_path / "full.mkv", tmp_path / "cut.mkv"
    render_numbered(full, frames=60)
    data = full.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(VideoError, match=r"cut\.mkv: file is truncated"):
        sample_frames(path)


def test_audio_only_file(tmp_path):
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(10):
            samples = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            samples.sample_rate, samples.pts = 16000, i * 1024
            container.mux(stream.encode(samples))
        container.mux(stream.encode())
    with pytest.raises(VideoError, match=r"voice\.m4a: has no video stream .*audio"):
        sample_frames(path)


def test_errors_leave_ffmpeg_logging_as_it_was(tmp_path):
    path = tmp_path / "noise.mkv"
    path.write_bytes(os.urandom(5_000))
    before = av.logging.get_level()
    with pytest.raises(VideoError):
        probe(path)
    assert av.logging.get_level() == before
