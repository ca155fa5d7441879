"""Benchmark: sampling 16 frames from a 3-minute 1280x720 30 fps H.264 video (GOP 250, B-frames).

Measures in one run, as medians of interleaved repetitions (so load from other processes hits
every method alike):

* `opencv_seek` — the reference code's method: OpenCV, `CAP_PROP_POS_FRAMES` seek + read per frame
  (plus a cv2 resize to the same model-input size, so every method ends with model-ready frames);
* `exact`       — `sample_frames(mode="exact")`, no cache;
* `keyframe`    — `sample_frames(mode="keyframe")`, no cache;
* `cached`      — `sample_frames(mode="exact", cache_dir=...)` after the entry exists;
* `pyav_naive`  — (with --with-naive) PyAV seek per target + decode forward, every frame decoded.

Targets: keyframe >= 6x faster than opencv_seek; exact no slower than it; cached >= 50x faster than
a cold exact read. Run:  python bench/frames.py   (renders its video once into .cache/bench/).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from o3video.video import input_size, probe, sample_frames  # noqa: E402

SECONDS, FPS, WIDTH, HEIGHT, GOP = 180, 30, 1280, 720, 250
NUM = 16


def render(path: Path) -> None:
    """Scrolling colour texture + moving gradient: real motion, ~3 Mbit/s, key frame every GOP frames."""
    import av

    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (HEIGHT // 16 + 64, WIDTH // 16 + 64, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(texture, 16, 0), 16, 1)
    wide = np.concatenate([texture, texture], 1)
    tmp = path.with_suffix(".partial.mp4")
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "superfast", "crf": "26", "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"}
        for i in range(SECONDS * FPS):
            x, y = (i * 3) % 1000, (i % 512) // 2
            picture = np.ascontiguousarray(wide[y : y + HEIGHT, x : x + WIDTH])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    tmp.rename(path)


def opencv_seek(path: Path, size: tuple[int, int]) -> list[np.ndarray]:
    """The reference evaluation's way: seek by frame number, read, convert, resize."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in np.linspace(0, total - 1, NUM).round().astype(int):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = capture.read()
        if not ok:
            raise RuntimeError(f"OpenCV could not read frame {index}")
        frames.append(cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), size, interpolation=cv2.INTER_AREA))
    capture.release()
    return frames


def pyav_naive(path: Path, size: tuple[int, int]) -> list:
    """Seek per target and decode forward to it, decoding every frame on the way."""
    import av

    info = probe(path)
    out = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base)
        for t in np.linspace(0, info.last_frame_time, NUM):
            container.seek(int(t / tb), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts * tb >= t - 1e-6:
                    out.append(frame.to_image(width=size[0], height=size[1]))
                    break
    return out


def measure(methods: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in methods}
    for name, run in methods.items():  # warm-up: page cache, imports, cache entry
        run()
    for rep in range(repeats):
        for name, run in methods.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
        print(f"  repetition {rep + 1}/{repeats}: " + "  ".join(f"{n} {times[n][-1]:.3f}s" for n in methods), flush=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="use this video instead of the rendered one")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--with-naive", action="store_true", help="also time a naive PyAV seek+decode loop")
    args = parser.parse_args()

    video = args.video or ROOT / ".cache" / "bench" / f"frames_{SECONDS}s_{WIDTH}x{HEIGHT}_{FPS}fps_gop{GOP}.mp4"
    if not video.exists():
        video.parent.mkdir(parents=True, exist_ok=True)
        print(f"rendering {video} ...", flush=True)
        start = time.perf_counter()
        render(video)
        print(f"rendered in {time.perf_counter() - start:.1f}s", flush=True)
    info = probe(video)
    size = input_size(info.size)
    print(f"video: {video.name}  {info.width}x{info.height}  {info.duration:.1f}s  {info.fps:.2f} fps  "
          f"{info.frame_count} frames  {video.stat().st_size / 1e6:.1f} MB;  {NUM} frames -> {size[0]}x{size[1]}")

    with tempfile.TemporaryDirectory() as cache_dir:
        methods: dict[str, Callable[[], object]] = {
            "opencv_seek": lambda: opencv_seek(video, size),
            "exact": lambda: sample_frames(video, NUM, mode="exact"),
            "keyframe": lambda: sample_frames(video, NUM, mode="keyframe"),
            "cached": lambda: sample_frames(video, NUM, mode="exact", cache_dir=cache_dir),
        }
        if args.with_naive:
            methods["pyav_naive"] = lambda: pyav_naive(video, size)
        times = measure(methods, args.repeats)
        assert sample_frames(video, NUM, mode="exact", cache_dir=cache_dir).from_cache

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\nmedian of {args.repeats} (s):  " + "  ".join(f"{n} {v:.3f}" for n, v in median.items()))
    checks = [
        ("keyframe vs opencv_seek", median["opencv_seek"] / median["keyframe"], 6.0),
        ("exact vs opencv_seek", median["opencv_seek"] / median["exact"], 1.0),
        ("cached vs cold exact", median["exact"] / median["cached"], 50.0),
    ]
    if "pyav_naive" in median:
        checks.append(("exact vs pyav_naive", median["pyav_naive"] / median["exact"], 1.0))
    ok = True
    for label, ratio, target in checks:
        passed = ratio >= target
        ok &= passed
        print(f"  {label:26s} {ratio:7.1f}x faster   (target >= {target:g}x)  {'ok' if passed else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
