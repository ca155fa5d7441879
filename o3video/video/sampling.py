"""`sample_frames`: N frames uniformly over a video (+ annotated key frames), each with its true time.

Uniform targets are `linspace(0, last_frame_time, N)` — first and last frame included, the
convention of Qwen-VL's video utilities that the released models were trained with.

* mode `exact`: for each target, the first frame shown at or after it.
* mode `keyframe`: for each target, the nearest key frame, decoded from its packet alone (far cheaper;
  uniformity is approximate). Each key frame serves at most one target, the closest; a target left
  without one (fewer key frames than targets nearby) is served exactly instead, so the video still
  contributes N distinct frames when it has them.
* key times (annotated evidence, docs/design.md §1) are always decoded exactly — the frame nearest each time —
  and inserted in time order in addition to the uniform frames.

Every returned timestamp is the presentation time of the decoded frame, never the requested time
(that one is kept as `Frame.target`). Frames that decode to the same picture are returned once
(marked `is_key` if any request for it was a key time) unless `allow_duplicates` is set.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Literal, Sequence

import numpy as np
from PIL import Image

from o3video.video.cache import FrameCache, cache_key, file_identity
from o3video.video.probe import VideoInfo, open_video, probe_open
from o3video.video.reader import Decoded, FrameReader, KeyEntry
from o3video.video.resize import MAX_PIXELS, MIN_PIXELS, QWEN25_FACTOR, input_size
from o3video.video.video_error import VideoError

Mode = Literal["exact", "keyframe"]
MODES: tuple[str, ...] = ("exact", "keyframe")


@dataclass
class Frame:
    """One frame as the model sees it."""

    timestamp: float  # presentation time of the decoded frame, seconds from the video's first frame
    image: Image.Image  # RGB, already at the model-input size
    is_key: bool = False  # an inserted (annotated) key frame
    index: int = 0  # position in the list, 0-based
    frame_number: int | None = None  # source frame number, when known (constant-rate video, STGR idx)
    target: float | None = None  # the time that was asked for


@dataclass
class SampledFrames:
    """Frames of one video in time order, with the sizes box conversion needs."""

    frames: list[Frame]
    duration: float  # seconds
    source_size: tuple[int, int]  # (W, H) of the video as displayed
    input_size: tuple[int, int]  # (W, H) of every frame in `frames`: what the model sees
    fps: float = 0.0
    path: str = ""
    mode: str = "exact"
    info: VideoInfo | None = None
    from_cache: bool = field(default=False, compare=False)

    @property
    def timestamps(self) -> list[float]:
        return [frame.timestamp for frame in self.frames]

    @property
    def images(self) -> list[Image.Image]:
        return [frame.image for frame in self.frames]

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)


BLANK_GREY = 128


def blank_image(image: Image.Image) -> Image.Image:
    """A uniform mid-grey image of `image`'s size: what a blind model sees instead of it."""
    return Image.new("RGB", image.size, (BLANK_GREY,) * 3)


def blank_frames(sampled: SampledFrames) -> SampledFrames:
    """`sampled` with every image blank and everything else kept (times, sizes, labels in the prompt):
    the input of the *blind* baseline, which can learn the answers' statistics but not the pixels."""
    frames = [replace(frame, image=blank_image(frame.image)) for frame in sampled.frames]
    return replace(sampled, frames=frames)


def uniform_times(last_frame_time: float, num: int) -> list[float]:
    """`num` target times evenly spaced from the first to the last frame (the middle if num == 1)."""
    if num == 1:
        return [last_frame_time / 2]
    return [float(t) for t in np.linspace(0.0, last_frame_time, num)]


def sample_frames(
    path: str | Path,
    num: int = 16,
    *,
    mode: Mode = "exact",
    max_pixels: int = MAX_PIXELS,
    min_pixels: int = MIN_PIXELS,
    factor: int = QWEN25_FACTOR,
    key_times: Sequence[float] = (),
    cache_dir: str | Path | None = None,
    allow_duplicates: bool = False,
) -> SampledFrames:
    """Sample `num` frames uniformly from the video at `path`, plus the frames nearest `key_times`.

    Frames are resized (aspect kept, sides multiples of `factor`, area within the pixel budget) to
    the size Qwen-VL's processor leaves unchanged. With `cache_dir`, a repeated request for the same
    file and parameters is read from disk without decoding.
    """
    params = _check_params(num, mode, max_pixels, min_pixels, factor, key_times, allow_duplicates)
    cache = FrameCache(cache_dir) if cache_dir is not None else None
    key = None
    if cache is not None:
        key = cache_key(_identity(path), params)
        hit = cache.load(key)
        if hit is not None:
            return _from_cache(path, *hit)
    sampled = _decode(path, num, mode, params, list(params["key_times"]), allow_duplicates)
    if cache is not None and key is not None:
        cache.store(key, *_to_cache(sampled))
    return sampled


def _check_params(num, mode, max_pixels, min_pixels, factor, key_times, allow_duplicates) -> dict:
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ValueError(f"num must be a positive integer, got {num!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if factor < 1 or min_pixels < 1 or max_pixels < factor * factor or min_pixels > max_pixels:
        raise ValueError(f"bad pixel budget: factor={factor} min_pixels={min_pixels} max_pixels={max_pixels}")
    times = sorted(float(t) for t in key_times)
    if any(not math.isfinite(t) for t in times):
        raise ValueError(f"key times must be finite numbers, got {list(key_times)!r}")
    return {
        "num": num,
        "mode": mode,
        "max_pixels": int(max_pixels),
        "min_pixels": int(min_pixels),
        "factor": int(factor),
        "key_times": [round(t, 6) for t in times],
        "allow_duplicates": bool(allow_duplicates),
    }


def _identity(path: str | Path) -> str:
    try:
        return file_identity(path)
    except FileNotFoundError:
        raise VideoError(path, "file not found") from None
    except IsADirectoryError:
        raise VideoError(path, "is a directory, not a video file") from None


def _decode(path, num: int, mode: str, params: dict, key_times: list[float], allow_duplicates: bool) -> SampledFrames:
    with open_video(path) as (container, stream):
        info = probe_open(path, container, stream)
        size = input_size(info.size, factor=params["factor"], min_pixels=params["min_pixels"], max_pixels=params["max_pixels"])
        targets = uniform_times(info.last_frame_time, num)
        with FrameReader(str(path), container, stream, info, size) as reader:
            decoded = _decode_uniform_and_keys(reader, targets, key_times, mode)
    frames = _merge(decoded, info, allow_duplicates)
    return SampledFrames(
        frames=frames,
        duration=info.duration,
        source_size=info.size,
        input_size=size,
        fps=info.fps,
        path=str(path),
        mode=mode,
        info=info,
    )


@dataclass
class _Result:
    decoded: Decoded
    target: float
    is_key: bool


def _decode_uniform_and_keys(reader: FrameReader, targets: list[float], key_times: list[float], mode: str) -> list[_Result]:
    results: list[_Result] = []
    exact: list[tuple[float, bool]] = [(t, True) for t in key_times]
    if mode == "keyframe":
        chosen = _assign_key_frames(targets, reader.keys())
        for i, target in enumerate(targets):
            if i in chosen:
                results.append(_Result(reader.key_frame(chosen[i]), target, False))
            else:
                exact.append((target, False))
    else:
        exact.extend((t, False) for t in targets)
    for target, is_key in sorted(exact):  # one forward pass over the video
        decoded = reader.nearest(target) if is_key else reader.at_or_after(target)
        results.append(_Result(decoded, target, is_key))
    return results


def _assign_key_frames(targets: list[float], keys: list[KeyEntry]) -> dict[int, KeyEntry]:
    """Target index -> its nearest key frame; a key frame wanted by several targets goes to the closest."""
    if not keys:
        return {}
    times = [key.time for key in keys]
    claims: dict[int, tuple[float, int]] = {}
    for i, target in enumerate(targets):
        j = bisect.bisect_left(times, target)
        candidates = [c for c in (j - 1, j) if 0 <= c < len(keys)]
        best = min(candidates, key=lambda c: abs(times[c] - target))
        distance = abs(times[best] - target)
        if best not in claims or distance < claims[best][0]:
            claims[best] = (distance, i)
    return {i: keys[j] for j, (_, i) in claims.items()}


def _merge(results: list[_Result], info: VideoInfo, allow_duplicates: bool) -> list[Frame]:
    """Results in time order as Frames; the same decoded frame requested twice is kept once."""
    kept: list[_Result] = []
    for result in sorted(results, key=lambda r: (r.decoded.pts, r.target)):
        if kept and not allow_duplicates and kept[-1].decoded.pts == result.decoded.pts:
            kept[-1].is_key = kept[-1].is_key or result.is_key
            continue
        kept.append(result)
    return [
        Frame(
            timestamp=result.decoded.time,
            image=result.decoded.image,
            is_key=result.is_key,
            index=index,
            frame_number=round(result.decoded.time * info.fps) if info.constant_rate else None,
            target=result.target,
        )
        for index, result in enumerate(kept)
    ]


def _to_cache(sampled: SampledFrames) -> tuple[np.ndarray, dict]:
    array = np.stack([np.asarray(frame.image.convert("RGB")) for frame in sampled.frames])
    meta = {
        "frames": [
            {"timestamp": f.timestamp, "is_key": f.is_key, "frame_number": f.frame_number, "target": f.target}
            for f in sampled.frames
        ],
        "duration": sampled.duration,
        "source_size": list(sampled.source_size),
        "input_size": list(sampled.input_size),
        "fps": sampled.fps,
        "mode": sampled.mode,
        "info": sampled.info.to_dict() if sampled.info else None,
    }
    return array, meta


def _from_cache(path: str | Path, array: np.ndarray, meta: dict) -> SampledFrames:
    frames = [
        Frame(
            timestamp=item["timestamp"],
            image=Image.fromarray(array[i]),
            is_key=item["is_key"],
            index=i,
            frame_number=item["frame_number"],
            target=item["target"],
        )
        for i, item in enumerate(meta["frames"])
    ]
    info = replace(VideoInfo.from_dict(meta["info"]), path=str(path)) if meta.get("info") else None
    return SampledFrames(
        frames=frames,
        duration=meta["duration"],
        source_size=tuple(meta["source_size"]),
        input_size=tuple(meta["input_size"]),
        fps=meta["fps"],
        path=str(path),
        mode=meta["mode"],
        info=info,
        from_cache=True,
    )
