"""Key-frame insertion from the released STGR key-frame image files.

An STGR record lists its annotated evidence frames as
`key_frames = [{"idx": int, "time": float, "path": str}, ...]` (paths relative to the data root).
The paper inserts those frames, in time order, in addition to the uniformly sampled ones. This
module does that with the released images (for the decoded alternative, pass the times to
`sample_frames(key_times=...)`). Images are resized to the sampled frames' model-input size, so
every frame of a prompt shares one size and one box coordinate system.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from o3video.video.resize import resize_image
from o3video.video.sampling import Frame, SampledFrames
from o3video.video.video_error import VideoError


def load_key_frame(entry: Mapping[str, Any], root: str | Path, size: tuple[int, int]) -> Frame:
    """One `key_frames` entry as a Frame (is_key, its record time and idx), image resized to `size` (W, H)."""
    time, idx, rel = _fields(entry)
    path = Path(root) / rel
    try:
        with Image.open(path) as image:
            image.load()
            resized = resize_image(image, size)
    except FileNotFoundError:
        raise VideoError(path, "key-frame image not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise VideoError(path, f"cannot read key-frame image: {error}") from None
    return Frame(timestamp=time, image=resized, is_key=True, frame_number=idx, target=time)


def insert_key_frames(
    sampled: SampledFrames,
    key_frames: Sequence[Mapping[str, Any]],
    root: str | Path,
    *,
    allow_duplicates: bool = False,
) -> SampledFrames:
    """`sampled` with the record's key-frame images merged in time order (a new object; input unchanged).

    A key frame at the time of a frame already present (within half a frame period) is that frame:
    the existing one is marked `is_key` instead of being repeated, unless `allow_duplicates`.
    """
    tolerance = 0.5 / sampled.fps if sampled.fps > 0 else 1e-3
    frames = [replace(frame) for frame in sampled.frames]
    for entry in sorted(key_frames, key=lambda e: _fields(e)[0]):
        key = load_key_frame(entry, root, sampled.input_size)
        same = [f for f in frames if abs(f.timestamp - key.timestamp) <= tolerance]
        if same and not allow_duplicates:
            for frame in same:
                frame.is_key = True
                if frame.frame_number is None:
                    frame.frame_number = key.frame_number
            continue
        frames.append(key)
    frames.sort(key=lambda f: f.timestamp)  # stable: an existing frame stays before an equal-time insert
    for index, frame in enumerate(frames):
        frame.index = index
    return replace(sampled, frames=frames)  # from_cache: whether the video's frames were decoded stays as it was


def _fields(entry: Mapping[str, Any]) -> tuple[float, int, str]:
    """(time, idx, path) of a key_frames entry, validated."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"key_frames entry must be an object, got {entry!r}")
    missing = [name for name in ("idx", "time", "path") if name not in entry]
    if missing:
        raise ValueError(f"key_frames entry {dict(entry)!r} lacks {', '.join(missing)}")
    try:
        time, idx = float(entry["time"]), int(entry["idx"])
    except (TypeError, ValueError):
        raise ValueError(f"key_frames entry {dict(entry)!r}: time must be a number and idx an integer") from None
    if not math.isfinite(time) or time < 0:
        raise ValueError(f"key_frames entry {dict(entry)!r}: time must be a finite number >= 0")
    if not isinstance(entry["path"], str) or not entry["path"]:
        raise ValueError(f"key_frames entry {dict(entry)!r}: path must be a non-empty string")
    return time, idx, entry["path"]
