"""Key-frame insertion from an STGR record's released key-frame image files."""

from __future__ import annotations

import av
import pytest

from o3video.video import VideoError, insert_key_frames, sample_frames
from videos import read_number, render_numbered


@pytest.fixture()
def stgr(tmp_path):
    """A video, its key-frame images written as the released data has them, and the record's key_frames."""
    video = tmp_path / "videos" / "clip.mp4"
    video.parent.mkdir()
    times = render_numbered(video, frames=60, size=(160, 120), gop=10)
    wanted = {17: "png", 44: "jpg", 20: "png"}  # frame 20 is also a uniform frame of num=4 (0, 20, 40, 59)
    root = tmp_path / "data"
    (root / "kf").mkdir(parents=True)
    key_frames = []
    with av.open(str(video)) as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number in wanted:
                rel = f"kf/clip_{number}.{wanted[number]}"
                frame.to_image().save(root / rel)
                key_frames.append({"idx": number, "time": round(times[number], 2), "path": rel})
    return video, root, key_frames[::-1], times  # released order need not be time order


def test_key_frames_are_inserted_in_time_order_at_the_input_size(stgr):
    video, root, key_frames, times = stgr
    sampled = sample_frames(video, 4)
    merged = insert_key_frames(sampled, key_frames, root)
    numbers = [read_number(f.image) for f in merged.frames]
    assert numbers == [0, 17, 20, 40, 44, 59]
    assert [f.is_key for f in merged.frames] == [False, True, True, False, True, False]
    assert [f.index for f in merged.frames] == list(range(6))
    assert merged.timestamps == sorted(merged.timestamps)
    assert all(f.image.size == sampled.input_size for f in merged.frames)
    assert merged.frames[1].frame_number == 17 and merged.frames[1].timestamp == pytest.approx(0.57)
    # The input is not modified.
    assert len(sampled) == 4 and not any(f.is_key for f in sampled.frames)


def test_duplicates_kept_only_when_asked(stgr):
    video, root, key_frames, _ = stgr
    merged = insert_key_frames(sample_frames(video, 4), key_frames, root, allow_duplicates=True)
    assert [read_number(f.image) for f in merged.frames] == [0, 17, 20, 20, 40, 44, 59]
    assert [f.is_key for f in merged.frames] == [False, True, False, True, False, True, False]


def test_missing_or_broken_key_frame_files(stgr, tmp_path):
    video, root, key_frames, _ = stgr
    sampled = sample_frames(video, 2)
    with pytest.raises(VideoError, match=r"kf/gone\.png: key-frame image not found"):
        insert_key_frames(sampled, [{"idx": 1, "time": 0.1, "path": "kf/gone.png"}], root)
    (root / "kf" / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(VideoError, match=r"bad\.jpg: cannot read key-frame image"):
        insert_key_frames(sampled, [{"idx": 1, "time": 0.1, "path": "kf/bad.jpg"}], root)
    with pytest.raises(ValueError, match="lacks path"):
        insert_key_frames(sampled, [{"idx": 1, "time": 0.1}], root)
    with pytest.raises(ValueError, match="time must be a number"):
        insert_key_frames(sampled, [{"idx": 1, "time": "soon", "path": "kf/clip_17.png"}], root)
