"""Benchmark: frames extracted once (`o3video frames-cache`) against frames decoded on demand, in one run.

A training epoch over N video records (each its own copy of bench/frames.py's 3-minute 1280x720 H.264 video,
16 frames, the tiny Qwen2.5-VL's resize rule) asks the prompt builder for each record's frames:

* `on_demand`  — no frame cache: every record's video decoded when its prompt is built;
* `extraction` — `extract_frames` (what `o3video frames-cache --workers W` runs) into an empty cache;
* `cached`     — the same prompts built after the extraction: a cache read per record.

Reports the medians of interleaved repetitions and two ratios measured in the same run: a later epoch
(`on_demand / cached`) and the first epoch with the extraction paid (`on_demand / (extraction + cached)`).
Run:  python bench/frames_cache.py [--records 8] [--workers 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from frames import FPS, GOP, HEIGHT, SECONDS, WIDTH, render  # noqa: E402

from o3video.models import build_tiny_model  # noqa: E402
from o3video.models.load import frame_settings, load_processor  # noqa: E402
from o3video.train.frame_extraction import extract_frames  # noqa: E402
from o3video.train.train_config import load_config  # noqa: E402
from o3video.train.train_prompts import PromptBuilder  # noqa: E402

NUM = 16


def dataset(folder: Path, video: Path, records: int) -> Path:
    """`records` MCQ records, each on its own copy of `video` (its own modification time, so its own cache
    entry: the cache knows a video by size, time and content samples), as one STGR file."""
    rows = []
    stamp = video.stat().st_mtime_ns
    for index in range(records):
        link = folder / "videos" / f"v{index}.mp4"
        link.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(video, link)
        os.utime(link, ns=(stamp, stamp + index + 1))
        rows.append({"id": f"r{index}", "task": "General video QA MCQ", "question": "Which?\nOptions:\nA. a\nB. b",
                     "answer": "A", "video_path": f"videos/v{index}.mp4"})
    path = folder / "stgr.json"
    path.write_text(json.dumps(rows))
    return path


def build_all(config, model: Path, expect_cached: bool) -> float:
    """Seconds to build every record's prompt (its frames decoded, or read from the cache)."""
    data_file = Path(config.data.train[0])
    settings = frame_settings(load_processor(model, max_pixels=config.data.max_pixels))
    builder = PromptBuilder(config.data, data_file.parent, frame_kwargs=settings, memory=0)
    rows = json.loads(data_file.read_text())
    start = time.perf_counter()
    for row in rows:
        prompt = builder.build(row)
        if prompt.frames.from_cache != expect_cached:
            raise RuntimeError(f"record {row['id']}: from_cache={prompt.frames.from_cache}, expected {expect_cached}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="use this video instead of the rendered one")
    parser.add_argument("--records", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    video = args.video or ROOT / ".cache" / "bench" / f"frames_{SECONDS}s_{WIDTH}x{HEIGHT}_{FPS}fps_gop{GOP}.mp4"
    if not video.exists():
        video.parent.mkdir(parents=True, exist_ok=True)
        print(f"rendering {video} ...", flush=True)
        render(video)
    times: dict[str, list[float]] = {"on_demand": [], "extraction": [], "cached": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        model = build_tiny_model(tmp_path / "model", seed=0)
        data = dataset(tmp_path / "data", video, args.records)
        print(f"{args.records} records x {NUM} frames of {video.name}; frames-cache with {args.workers} workers",
              flush=True)
        for rep in range(args.repeats):
            values = {"data.train": [str(data)], "data.num_frames": NUM}
            on_demand = load_config(None, [f"model={model}", "output_dir=."], stage="sft",
                                    values={**values, "data.cache_dir": None})
            cache = load_config(None, [f"model={model}", "output_dir=."], stage="sft",
                                values={**values, "data.cache_dir": str(tmp_path / f"cache{rep}")})
            times["on_demand"].append(build_all(on_demand, model, expect_cached=False))
            start = time.perf_counter()
            done = extract_frames(cache, args.workers, show_progress=False)
            times["extraction"].append(time.perf_counter() - start)
            assert done.decoded == args.records, done
            times["cached"].append(build_all(cache, model, expect_cached=True))
            print(f"  repetition {rep + 1}/{args.repeats}: " + "  ".join(f"{n} {v[-1]:.2f}s" for n, v in times.items()),
                  flush=True)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\nmedian of {args.repeats} (s, {args.records} records):  "
          + "  ".join(f"{n} {v:.3f}" for n, v in median.items()))
    print(f"  later epoch, cache read vs decoding on demand:          {median['on_demand'] / median['cached']:7.1f}x")
    print(f"  first epoch, extraction + cache read vs on demand:      "
          f"{median['on_demand'] / (median['extraction'] + median['cached']):7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
