"""Frame cache: a repeated request is served without decoding; a changed file is decoded again."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import o3video.video.sampling as sampling
from o3video.video import sample_frames
from o3video.video.cache import FrameCache, cache_key, file_identity
from videos import read_number, render_numbered


def forbid_decoding(monkeypatch):
    def refuse(path):
        raise AssertionError(f"decoded {path} although the cache should have served it")

    monkeypatch.setattr(sampling, "open_video", refuse)


def test_second_request_is_served_from_cache_without_decoding(tmp_path, monkeypatch):
    video = tmp_path / "v.mp4"
    render_numbered(video, frames=40, gop=8)
    cache = tmp_path / "cache"
    first = sample_frames(video, 6, mode="keyframe", key_times=[0.5], cache_dir=cache)
    assert not first.from_cache
    forbid_decoding(monkeypatch)
    second = sample_frames(video, 6, mode="keyframe", key_times=[0.5], cache_dir=cache)
    assert second.from_cache
    assert second.input_size == first.input_size and second.source_size == first.source_size
    assert second.duration == first.duration and second.info == first.info
    for a, b in zip(first.frames, second.frames, strict=True):
        assert (a.timestamp, a.is_key, a.index, a.frame_number, a.target) == (b.timestamp, b.is_key, b.index, b.frame_number, b.target)
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    with pytest.raises(AssertionError, match="decoded"):  # other parameters: a different entry
        sample_frames(video, 7, mode="keyframe", key_times=[0.5], cache_dir=cache)


def test_changed_file_is_decoded_again(tmp_path):
    video = tmp_path / "v.mkv"
    cache = tmp_path / "cache"
    render_numbered(video, frames=20)
    assert [read_number(f.image) for f in sample_frames(video, 3, cache_dir=cache).frames] == [0, 10, 19]
    render_numbered(video, frames=60)  # same path, new content
    again = sample_frames(video, 3, cache_dir=cache)
    assert not again.from_cache
    assert [read_number(f.image) for f in again.frames] == [0, 30, 59]
    assert sample_frames(video, 3, cache_dir=cache).from_cache


def test_identity_sees_content_changes_at_either_end_without_reading_the_middle(tmp_path):
    path = tmp_path / "blob.bin"
    data = bytearray(os.urandom(1_000_000))
    path.write_bytes(data)
    stat = os.stat(path)
    base = file_identity(path)
    for offset in (10, len(data) - 10):
        changed = bytearray(data)
        changed[offset] ^= 0xFF
        path.write_bytes(changed)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
        assert file_identity(path) != base
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_identity(path) == base
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # touched: treated as changed
    assert file_identity(path) != base


def test_unreadable_entry_is_a_miss_and_gets_replaced(tmp_path):
    video = tmp_path / "v.mp4"
    render_numbered(video, frames=10)
    cache_dir = tmp_path / "cache"
    sample_frames(video, 2, cache_dir=cache_dir)
    (entry,) = list(cache_dir.rglob("*.npz"))
    entry.write_bytes(b"not an npz")
    assert not sample_frames(video, 2, cache_dir=cache_dir).from_cache
    assert sample_frames(video, 2, cache_dir=cache_dir).from_cache


def test_readers_never_see_a_partial_entry_while_writers_replace_it(tmp_path):
    cache = FrameCache(tmp_path)
    key = cache_key("identity", {"num": 4})
    shape = (4, 56, 84, 3)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[str] = []

    def write():
        for value in range(1, 40):
            cache.store(key, np.full(shape, value, np.uint8), {"value": value})
        stop.set()

    def read():
        while not stop.is_set():
            hit = cache.load(key)
            if hit is None:
                continue
            frames, meta = hit
            if frames.shape != shape or not (frames == meta["value"]).all():
                errors.append(f"inconsistent entry {meta}")
            seen.append(meta["value"])

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert cache.load(key)[1] == {"value": 39}
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]  # no temp files left


def _sample_in_process(args):
    video, cache_dir = args
    sampled = sample_frames(video, 5, cache_dir=cache_dir)
    return [f.timestamp for f in sampled.frames], [read_number(f.image) for f in sampled.frames]


@pytest.mark.slow
def test_concurrent_processes_agree(tmp_path):
    video = tmp_path / "v.mp4"
    render_numbered(video, frames=50, gop=10)
    cache_dir = str(tmp_path / "cache")
    # forkserver, not fork: forking a process that runs threads (earlier tests leave some) can deadlock the child
    with ProcessPoolExecutor(max_workers=3, mp_context=multiprocessing.get_context("forkserver")) as pool:
        results = list(pool.map(_sample_in_process, [(str(video), cache_dir)] * 6))
    assert all(result == results[0] for result in results)
    assert results[0][1] == [0, 13, 25, 37, 49]
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1
