"""Test videos whose pixels say which frame they are.

Each frame shows its frame number as a 4 x 3 grid of black/white blocks (12 bits, most significant
first, row by row). Blocks are a quarter/third of the picture, so the number survives lossy
compression and any resize; `read_number` recovers it from a decoded (and resized) image.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

GRID_COLS, GRID_ROWS = 4, 3
BITS = GRID_COLS * GRID_ROWS


def number_image(number: int, width: int, height: int) -> np.ndarray:
    """RGB array of `number` drawn as the bit grid."""
    if not 0 <= number < 2**BITS:
        raise ValueError(f"frame number {number} does not fit in {BITS} bits")
    bits = [(number >> (BITS - 1 - i)) & 1 for i in range(BITS)]
    grid = np.array(bits, dtype=np.uint8).reshape(GRID_ROWS, GRID_COLS) * 255
    rows = np.arange(height) * GRID_ROWS // height
    cols = np.arange(width) * GRID_COLS // width
    plane = grid[rows][:, cols]
    return np.repeat(plane[:, :, None], 3, axis=2)


def read_number(image: Image.Image | np.ndarray) -> int:
    """The frame number drawn in `image` (any size): mean of each block's centre, thresholded."""
    pixels = np.asarray(image.convert("L") if isinstance(image, Image.Image) else image, dtype=np.float32)
    if pixels.ndim == 3:
        pixels = pixels.mean(axis=2)
    height, width = pixels.shape
    number = 0
    for r in range(GRID_ROWS):
        for c in range(GRID_COLS):
            y0, y1 = (4 * r + 1) * height // (4 * GRID_ROWS), (4 * r + 3) * height // (4 * GRID_ROWS)
            x0, x1 = (4 * c + 1) * width // (4 * GRID_COLS), (4 * c + 3) * width // (4 * GRID_COLS)
            bit = pixels[y0:y1, x0:x1].mean() > 127
            number = (number << 1) | int(bit)
    return number


def render_numbered(
    path: str | Path,
    *,
    frames: int = 60,
    fps: int = 30,
    size: tuple[int, int] = (128, 96),
    codec: str = "libx264",
    gop: int = 12,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int | None = None,
    bframes: int = 3,
) -> list[float]:
    """Encode `frames` numbered frames to `path` (container from the suffix); returns their times (s).

    `pts` (in `time_base`, default 1/fps) makes a variable-frame-rate video. Key frames every `gop`
    frames exactly (no scene-cut key frames), B-frames on for H.264, so seeking and reordering are real.
    """
    width, height = size
    time_base = time_base or Fraction(1, fps)
    stamps = list(pts) if pts is not None else list(range(frames))
    if len(stamps) != frames:
        raise ValueError("need one pts per frame")
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = time_base
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {
                "preset": "superfast",
                "crf": "18",
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}",
            }
        elif codec.startswith("libvpx"):
            stream.options = {"deadline": "realtime", "cpu-used": "8", "crf": "20", "b": "0"}
        for number, stamp in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(number_image(number, width, height), format="rgb24")
            frame.pts, frame.time_base = stamp, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    if rotation is not None:
        set_mp4_rotation(path, rotation)
    return [float(Fraction(stamp) * time_base) for stamp in stamps]


def set_mp4_rotation(path: str | Path, degrees: int) -> None:
    """Write a display rotation (degrees counter-clockwise, a multiple of 90) into the MP4's only track
    header, the matrix a phone's camera writes. PyAV < 16 has no `set_display_rotation` (lmms-eval pins
    av < 16), and FFmpeg's muxer ignores the old `rotate` tag, so the bytes are written directly."""
    if degrees % 90:
        raise ValueError(f"rotation must be a multiple of 90, got {degrees}")
    cos, sin = [(1, 0), (0, 1), (-1, 0), (0, -1)][degrees // 90 % 4]
    one = 0x10000  # a, b, c, d are 16.16 fixed point, w is 2.30
    matrix = [cos * one, -sin * one, 0, sin * one, cos * one, 0, 0, 0, 0x40000000]
    data = bytearray(Path(path).read_bytes())
    at = data.index(b"tkhd") + 4  # the full box's version byte
    offset = at + (4 + 8 + 8 + 4 + 4 + 8 if data[at] == 1 else 4 + 4 + 4 + 4 + 4 + 4) + 8 + 8
    data[offset:offset + 36] = b"".join(v.to_bytes(4, "big", signed=True) for v in matrix)
    Path(path).write_bytes(bytes(data))
