"""sample_frames: every returned frame is decoded and identified by the number drawn in its pixels."""

from __future__ import annotations

import bisect
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from o3video.video import probe, sample_frames
from o3video.video.resize import smart_resize
from videos import read_number, render_numbered

GOP = 12
FRAMES = 100
FPS = 30
# Irregular frame durations (ms): a variable-frame-rate video.
VFR_STEPS = [20, 50, 33, 100, 17, 40, 66, 25]


def stored(times: list[float], suffix: str) -> list[float]:
    """Times as the container stores them: Matroska/WebM keep milliseconds."""
    if suffix in (".mkv", ".webm"):
        return [round(t * 1000) / 1000 for t in times]
    return times


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, tuple[Path, list[float]]]:
    root = tmp_path_factory.mktemp("sampling")
    out = {}
    for suffix, codec in ((".mp4", "libx264"), (".mkv", "libx264"), (".webm", "libvpx-vp9")):
        path = root / f"cfr{suffix}"
        out[suffix] = (path, stored(render_numbered(path, frames=FRAMES, fps=FPS, gop=GOP, codec=codec), suffix))
    pts = np.cumsum([0] + [VFR_STEPS[i % len(VFR_STEPS)] for i in range(FRAMES - 1)]).tolist()
    for suffix in (".mp4", ".mkv"):
        path = root / f"vfr{suffix}"
        out[f"vfr{suffix}"] = (path, render_numbered(path, frames=FRAMES, fps=FPS, gop=GOP, pts=pts, time_base=Fraction(1, 1000)))
    return out


def check_exact(frames, times: list[float]) -> None:
    """Each frame is the first one shown at or after its target, and carries that frame's own time."""
    for frame in frames:
        number = read_number(frame.image)
        assert frame.timestamp == pytest.approx(times[number], abs=1e-6), f"frame {number} labelled {frame.timestamp}"
        expected = bisect.bisect_left(times, frame.target - 1e-6)
        assert number == expected, f"target {frame.target:.4f}: got frame {number}, the frame at/after it is {expected}"


@pytest.mark.parametrize("name", [".mp4", ".mkv", ".webm", "vfr.mp4", "vfr.mkv"])
def test_exact_mode_returns_the_frame_at_or_after_each_target(videos, name):
    path, times = videos[name]
    sampled = sample_frames(path, 16, mode="exact")
    assert len(sampled) == 16
    targets = [f.target for f in sampled.frames]
    assert targets == pytest.approx(list(np.linspace(0, times[-1], 16)), abs=1e-6)
    check_exact(sampled.frames, times)
    assert [f.index for f in sampled.frames] == list(range(16))
    assert sampled.timestamps == sorted(sampled.timestamps)


@pytest.mark.parametrize("name", [".mp4", ".mkv", ".webm", "vfr.mp4"])
def test_keyframe_mode_returns_true_key_frames_with_their_own_time(videos, name):
    path, times = videos[name]
    keys = [times[i] for i in range(0, FRAMES, GOP)]
    sampled = sample_frames(path, 16, mode="keyframe")
    numbers = [read_number(f.image) for f in sampled.frames]
    assert len(set(numbers)) == len(numbers) == 16  # distinct frames; uncovered targets are served exactly
    key_served = 0
    for frame, number in zip(sampled.frames, numbers):
        assert frame.timestamp == pytest.approx(times[number], abs=1e-6)
        if number % GOP == 0:
            key_served += 1
            nearest = min(abs(k - frame.target) for k in keys)
            assert abs(times[number] - frame.target) == pytest.approx(nearest, abs=1e-6)
        else:
            check_exact([frame], times)
    assert key_served == len(keys)  # 9 key frames, 16 targets: every key frame serves its closest target


def test_frame_numbers_are_reported_for_constant_rate_video(videos):
    path, _ = videos[".mp4"]
    for frame in sample_frames(path, 8).frames:
        assert frame.frame_number == read_number(frame.image)


def test_vfr_probe_measures_from_the_stream(videos):
    path, times = videos["vfr.mp4"]
    info = probe(path)
    assert info.frame_count == FRAMES and info.frame_count_exact
    assert not info.constant_rate
    assert info.last_frame_time == pytest.approx(times[-1], abs=1e-6)
    assert info.fps == pytest.approx(FRAMES / info.duration)
    assert all(f.frame_number is None for f in sample_frames(path, 4).frames)


def test_frames_are_resized_to_the_qwen_input_size(videos):
    path, _ = videos[".mp4"]
    sampled = sample_frames(path, 4, max_pixels=64 * 28 * 28)
    h, w = smart_resize(96, 128, factor=28, max_pixels=64 * 28 * 28)
    assert sampled.input_size == (w, h) == (140, 84)
    assert sampled.source_size == (128, 96)
    assert all(f.image.size == (w, h) and f.image.mode == "RGB" for f in sampled.frames)
    qwen3 = sample_frames(path, 4, factor=32, min_pixels=32 * 32 * 4, max_pixels=32 * 32 * 10)
    assert all(side % 32 == 0 for side in qwen3.input_size)
    assert qwen3.input_size[0] * qwen3.input_size[1] <= 32 * 32 * 10


def test_big_frames_are_shrunk_within_the_pixel_budget(tmp_path):
    path = tmp_path / "wide.mp4"
    render_numbered(path, frames=8, size=(320, 176), gop=4)
    sampled = sample_frames(path, 3, max_pixels=40 * 28 * 28)
    w, h = sampled.input_size
    assert w % 28 == 0 and h % 28 == 0 and w * h <= 40 * 28 * 28
    assert abs(w / h - 320 / 176) < 0.25
    check_exact(sampled.frames, [i / 30 for i in range(8)])


def test_short_video_returns_what_exists_without_duplicates(tmp_path):
    path = tmp_path / "short.mp4"
    times = render_numbered(path, frames=5, gop=3)
    for mode in ("exact", "keyframe"):
        sampled = sample_frames(path, 16, mode=mode)
        assert [read_number(f.image) for f in sampled.frames] == [0, 1, 2, 3, 4]
        assert sampled.timestamps == pytest.approx(times)
    padded = sample_frames(path, 16, allow_duplicates=True)
    numbers = [read_number(f.image) for f in padded.frames]
    assert len(numbers) == 16 and sorted(numbers) == numbers and set(numbers) == {0, 1, 2, 3, 4}
    check_exact(padded.frames, times)


def test_single_frame_video(tmp_path):
    path = tmp_path / "one.mkv"
    render_numbered(path, frames=1)
    sampled = sample_frames(path, 4)
    assert [read_number(f.image) for f in sampled.frames] == [0]
    assert sampled.frames[0].timestamp == 0.0
    assert sampled.duration == pytest.approx(1 / 30, abs=1e-3)


def test_key_times_are_inserted_in_time_order(videos):
    path, times = videos[".mp4"]
    key_times = [2.04, 0.51, 1.0]  # unsorted on purpose; 1.0 s is exactly frame 30
    sampled = sample_frames(path, 4, key_times=key_times)
    numbers = [read_number(f.image) for f in sampled.frames]
    uniform = [bisect.bisect_left(times, t - 1e-6) for t in np.linspace(0, times[-1], 4)]
    nearest = [min(range(FRAMES), key=lambda i: (abs(times[i] - t), -i)) for t in sorted(key_times)]
    assert numbers == sorted(set(uniform) | set(nearest))
    assert sampled.timestamps == sorted(sampled.timestamps)
    for frame, number in zip(sampled.frames, numbers):
        assert frame.is_key == (number in nearest)
        assert frame.timestamp == pytest.approx(times[number])
    assert len(sampled) == 4 + 3


def test_key_time_on_a_uniform_frame_is_not_duplicated(videos):
    path, times = videos[".mp4"]
    plain = sample_frames(path, 4)
    on_frame = plain.frames[1].timestamp
    sampled = sample_frames(path, 4, key_times=[on_frame])
    assert len(sampled) == 4
    assert [f.is_key for f in sampled.frames] == [False, True, False, False]
    doubled = sample_frames(path, 4, key_times=[on_frame], allow_duplicates=True)
    assert len(doubled) == 5
    assert [f.is_key for f in doubled.frames].count(True) == 1


def test_key_times_in_keyframe_mode_are_still_exact(videos):
    path, times = videos[".mkv"]
    sampled = sample_frames(path, 6, mode="keyframe", key_times=[1.55])
    keys = [f for f in sampled.frames if f.is_key]
    assert len(keys) == 1
    assert read_number(keys[0].image) == min(range(FRAMES), key=lambda i: abs(times[i] - 1.55))


def test_rotated_video_is_returned_upright(tmp_path):
    path = tmp_path / "rotated.mp4"
    render_numbered(path, frames=10, gop=5, rotation=90)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (96, 128, 90)
    sampled = sample_frames(path, 3)
    w, h = sampled.input_size
    assert h > w  # portrait, as a player shows it
    for frame in sampled.frames:
        # Undo the display rotation (90 degrees counter-clockwise) to read the drawn number.
        drawn = frame.image.transpose(Image.Transpose.ROTATE_270)
        assert read_number(drawn) == round(frame.timestamp * 30)


def test_bad_arguments_are_rejected(videos):
    path, _ = videos[".mp4"]
    with pytest.raises(ValueError, match="num"):
        sample_frames(path, 0)
    with pytest.raises(ValueError, match="mode"):
        sample_frames(path, 4, mode="fast")
    with pytest.raises(ValueError, match="pixel"):
        sample_frames(path, 4, min_pixels=10_000, max_pixels=5_000)
    with pytest.raises(ValueError, match="finite"):
        sample_frames(path, 4, key_times=[float("nan")])


def test_the_frame_reader_is_freed_when_sampling_returns_not_left_to_the_garbage_collector(videos, monkeypatch):
    """A reader left in a reference cycle is freed by the collector later, in whatever thread runs it; freeing its
    decoder there deadlocked against another thread's FFmpeg log capture (the construction pipeline's threads)."""
    import gc
    import weakref

    from o3video.video import sampling
    from o3video.video.reader import FrameReader

    readers = []

    class Recorded(FrameReader):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            readers.append(weakref.ref(self))

    monkeypatch.setattr(sampling, "FrameReader", Recorded)
    path, _ = videos[".mp4"]
    sample_frames(path, 2)  # first-time imports (transformers' lazy modules) leave cycles of their own
    readers.clear()
    gc.collect()
    gc.disable()
    try:
        sampled = sample_frames(path, 8, key_times=[0.3])
        assert len(sampled) == 9 and len(readers) == 1  # 8 uniform frames and the key frame
        assert readers[0]() is None  # freed by its last reference, in this thread, before sampling returned
    finally:
        gc.enable()
