"""The frames an annotator is shown, decoded with the project's sampler, and the images the build
writes or sends: key-frame files and crops of boxes.

Frames are decoded exactly by the project's `FrameReader` (the frame nearest each requested time, as
`sample_frames` does for key times), keep the video's aspect ratio, and are downscaled only beyond
`max_pixels` (no rounding of sides to the model's patch multiple: these frames are for annotators). Each offered frame
carries its presentation time and its frame index in the video; its label in prompts shows the time
with two decimals, and that rounded time is the time the build uses everywhere (key frames,
reasoning), so what the annotator reads is what the record says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from o3video.construction.source_items import SourceItem
from o3video.io import atomic_path
from o3video.video import VideoInfo
from o3video.video.probe import open_video, probe_open
from o3video.video.reader import FrameReader

DEFAULT_MAX_PIXELS = 1280 * 720
_EVEN = 2  # keep sides even


@dataclass
class OfferedFrame:
    number: int  # 1-based position in the prompt
    time: float  # presentation time, rounded to 0.01 s (as labelled)
    index: int  # frame index in the video
    image: Image.Image


def time_label(time: float) -> str:
    return f"{time:.2f}"


def offered_indices(item: SourceItem, info: VideoInfo, count: int) -> list[int]:
    """Frame indices to show for `item`: `count` spread evenly over the annotated segment (temporal),
    or over the frames where the source has boxes (dense; the whole video if it has none)."""
    fps = info.fps if info.fps > 0 else 1.0
    last = max(0, int(round(info.last_frame_time * fps)))
    if item.kind == "dense":
        boxed = sorted({f for t in item.tracks for f in t.boxes if 0 <= f <= last})
        if boxed:
            picks = np.linspace(0, len(boxed) - 1, min(count, len(boxed)))
            return sorted({boxed[int(round(p))] for p in picks})
        start, end = 0.0, info.last_frame_time
    else:
        segment = item.segment or (0.0, info.last_frame_time)
        start, end = max(0.0, segment[0]), min(info.last_frame_time, segment[1])
        end = max(start, end)
    times = np.linspace(start, end, count) if count > 1 else np.array([(start + end) / 2])
    return sorted({min(last, int(round(t * fps))) for t in times})


def frame_size(source: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    """The source size (W, H), scaled down to at most `max_pixels` with the aspect kept, sides even."""
    w, h = source
    scale = min(1.0, math.sqrt(max_pixels / (w * h))) if w * h > 0 else 1.0
    return max(_EVEN, int(w * scale) // _EVEN * _EVEN), max(_EVEN, int(h * scale) // _EVEN * _EVEN)


def decode_offered(video: str | Path, info: VideoInfo, indices: list[int], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[OfferedFrame]:
    """The frames nearest `indices / fps`, decoded exactly with the project's frame reader, one per
    distinct frame, in time order."""
    fps = info.fps if info.fps > 0 else 1.0
    out: list[OfferedFrame] = []
    seen: set[int] = set()
    with open_video(video) as (container, stream), \
            FrameReader(str(video), container, stream, probe_open(video, container, stream),
                        frame_size(info.size, max_pixels)) as reader:
        for index in sorted(indices):
            decoded = reader.nearest(index / fps)
            number = int(round(decoded.time * fps))
            if number in seen:
                continue
            seen.add(number)
            out.append(OfferedFrame(number=len(out) + 1, time=round(decoded.time, 2), index=number, image=decoded.image))
    return out


def save_image(image: Image.Image, path: Path) -> None:
    """Write atomically (a killed run leaves no half-written image behind)."""
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    with atomic_path(path) as tmp:
        image.convert("RGB").save(tmp, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))


def crop(image: Image.Image, box: list[float], *, min_side: int = 28) -> Image.Image:
    """The region of a normalised box, at least one pixel, upscaled so its short side is >= min_side."""
    w, h = image.size
    x1 = int(np.floor(max(0.0, min(box[0], box[2])) * w))
    y1 = int(np.floor(max(0.0, min(box[1], box[3])) * h))
    x2 = int(np.ceil(min(1.0, max(box[0], box[2])) * w))
    y2 = int(np.ceil(min(1.0, max(box[1], box[3])) * h))
    x2, y2 = max(x2, min(w, x1 + 1)), max(y2, min(h, y1 + 1))
    region = image.crop((x1, y1, x2, y2))
    short = min(region.size)
    if 0 < short < min_side:
        scale = min_side / short
        region = region.resize((max(1, round(region.width * scale)), max(1, round(region.height * scale))), Image.Resampling.BICUBIC)
    return region


__all__ = ["DEFAULT_MAX_PIXELS", "OfferedFrame", "crop", "decode_offered", "offered_indices", "save_image", "time_label"]
