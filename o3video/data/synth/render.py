"""Rasterise a `ScenePlan` into RGB frames, and encode them to H.264 MP4 with PyAV.

Objects are drawn back to front by layer; an `owner` map records which object each pixel shows, so
ground truth (the visible part of each object) is read from exactly what was drawn. Frame `i` is
encoded with pts `i` in time base 1/fps and no B-frames, so its presentation time in the file is
exactly `i / fps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from o3video.data.synth.scene_plan import ScenePlan, positions
from o3video.data.synth.shapes import shape_mask
from o3video.data.synth.vocab import COLOURS
from o3video.io import atomic_path


@dataclass
class Raster:
    """One drawn frame: the picture (None when only ground truth was asked for) and the owner map
    (object id per pixel, -1 for background)."""

    image: np.ndarray | None
    owner: np.ndarray


def background(plan: ScenePlan) -> np.ndarray:
    """(H, W, 3) uint8 background: plain grey, a vertical grey gradient, or smooth grey texture.

    All greys stay within 30-110, far from every object colour, including white."""
    h, w = plan.height, plan.width
    rng = np.random.default_rng(plan.background_seed)
    if plan.background == "plain":
        grey = np.full((h, w), 40.0 + rng.integers(0, 30))
    elif plan.background == "gradient":
        top, bottom = rng.uniform(30, 60), rng.uniform(70, 110)
        grey = np.repeat(np.linspace(top, bottom, h)[:, None], w, axis=1)
    else:
        coarse = rng.uniform(35, 105, size=(5, 7))
        ys, xs = np.linspace(0, 4, h), np.linspace(0, 6, w)
        rows = np.stack([np.interp(xs, np.arange(7), r) for r in coarse])  # (5, w)
        grey = np.stack([np.interp(ys, np.arange(5), rows[:, j]) for j in range(w)], axis=1)
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


class Rasteriser:
    """Draws any frame of a scene; positions and the background are computed once."""

    def __init__(self, plan: ScenePlan) -> None:
        self.plan = plan
        self.positions = {o.id: positions(o, plan.num_frames) for o in plan.objects}
        self.order = sorted(plan.objects, key=lambda o: o.layer)
        self._background: np.ndarray | None = None
        self._image: np.ndarray | None = None
        self._owner: np.ndarray | None = None

    def clip(self, obj_id: int, frame: int) -> tuple[int, int, int, int, np.ndarray] | None:
        """(x0, y0, x1, y1, mask part) of the object's on-canvas part at `frame`, or None if off-canvas."""
        obj = self.plan.objects[obj_id]
        x, y = (int(v) for v in self.positions[obj_id][frame])
        s = obj.size
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + s, self.plan.width), min(y + s, self.plan.height)
        if x0 >= x1 or y0 >= y1:
            return None
        return x0, y0, x1, y1, shape_mask(obj.shape, s)[y0 - y : y1 - y, x0 - x : x1 - x]

    def draw(self, frame: int, *, with_image: bool = True) -> Raster:
        """Draw `frame`. The arrays are reused buffers, valid until the next call: copy to keep them."""
        plan = self.plan
        if self._owner is None:
            self._owner = np.empty((plan.height, plan.width), dtype=np.int16)
        owner = self._owner
        owner.fill(-1)
        image = None
        if with_image:
            if self._background is None:
                self._background = background(plan)
                self._image = np.empty_like(self._background)
            image = self._image
            np.copyto(image, self._background)
        for obj in self.order:
            if not obj.exists(frame):
                continue
            part = self.clip(obj.id, frame)
            if part is None:
                continue
            x0, y0, x1, y1, mask = part
            owner[y0:y1, x0:x1][mask] = obj.id
            if image is not None:
                image[y0:y1, x0:x1][mask] = COLOURS[obj.colour_at(frame)]
        return Raster(image, owner)


def yuv420p(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> the (H * 3/2, W) planes of yuv420p: BT.601, limited range, each chroma sample
    the rounded mean of its 2x2 block, in integer arithmetic.

    Done here rather than by FFmpeg's swscale, whose conversion is not bit-exact across the CPU code
    paths it picks at run time; the encoder (x264 is bit-exact) then sees the same input everywhere."""
    rgb = image.astype(np.int32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
    u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128
    v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128
    h, w = y.shape

    def quarter(c: np.ndarray) -> np.ndarray:
        return (c.reshape(h // 2, 2, w // 2, 2).sum(axis=(1, 3)) + 2) // 4

    planes = np.concatenate([y.ravel(), quarter(u).ravel(), quarter(v).ravel()])
    return planes.reshape(h * 3 // 2, w).astype(np.uint8)


def encode_video(plan: ScenePlan, path: str | Path, *, crf: int = 10) -> Path:
    """Render every frame of `plan` and write an H.264 (yuv420p) MP4 to `path`, atomically."""
    import av

    raster = Rasteriser(plan)
    with atomic_path(path) as tmp:  # `.NAME.PID.tmp.mp4`: a killed run's is removed by the next
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=plan.fps)
            stream.width, stream.height = plan.width, plan.height
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, plan.fps)
            stream.codec_context.time_base = Fraction(1, plan.fps)
            stream.options = {
                "crf": str(crf),
                "preset": "veryfast",
                "threads": "1",
                "x264-params": f"bframes=0:keyint={2 * plan.fps}:min-keyint=1:scenecut=0",
            }
            for i in range(plan.num_frames):
                frame = av.VideoFrame.from_ndarray(yuv420p(raster.draw(i).image), format="yuv420p")
                frame.pts = i
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    return Path(path)


def save_frame_png(plan: ScenePlan, frame: int, path: str | Path, raster: Rasteriser | None = None) -> Path:
    """Save the rendered (lossless, pre-compression) frame as PNG, atomically."""
    from PIL import Image

    raster = raster or Rasteriser(plan)
    with atomic_path(path) as tmp:
        Image.fromarray(raster.draw(frame).image).save(tmp, format="PNG")
    return Path(path)
