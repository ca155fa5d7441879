"""`o3video frames VIDEO`: sample frames as the model will see them, write them + frames.json."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from o3video.commands.option_checks import Bound
from o3video.geometry import MAX_PIXELS
from o3video.io import atomic_write_text

HELP = "Sample N frames from a video (true timestamps, model-input size); write images + frames.json."


FRAMES_BOUNDS = (Bound("--num", 1), Bound("--min-pixels", 1), Bound("--max-pixels", 1), Bound("--factor", 1),
                 Bound("--key-time", 0))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="any file FFmpeg reads (MP4, MKV, WebM, ...)")
    parser.add_argument("--num", type=int, default=16, help="uniformly sampled frames (default 16)")
    parser.add_argument("--mode", choices=["exact", "keyframe"], default="exact",
                        help="exact: the frame at/after each target time; keyframe: nearest key frame (faster)")
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS, help="pixel budget per frame (default 128*28*28)")
    parser.add_argument("--min-pixels", type=int, default=4 * 28 * 28, help="minimum pixels per frame (default 4*28*28)")
    parser.add_argument("--factor", type=int, default=28, help="side multiple: 28 for Qwen2.5-VL, 32 for Qwen3-VL")
    parser.add_argument("--key-time", type=float, action="append", default=[], metavar="SECONDS",
                        help="also insert the frame nearest this time (repeatable)")
    parser.add_argument("--allow-duplicates", action="store_true", help="keep repeated frames of short videos")
    parser.add_argument("--cache-dir", type=Path, help="frame cache directory (a repeated request skips decoding)")
    parser.add_argument("--out", type=Path, help="output directory (default: ./<video name>.frames)")
    parser.add_argument("--format", choices=["png", "jpg"], default="png", help="image format (default png, lossless)")


def run(args: argparse.Namespace) -> int:
    from o3video.commands.option_checks import check_bounds
    from o3video.errors import InputError
    from o3video.io import check_output_folder
    from o3video.video import sample_frames

    check_bounds(args, FRAMES_BOUNDS)
    if args.max_pixels < args.min_pixels:
        raise InputError(f"--max-pixels must be >= --min-pixels ({args.min_pixels}), got {args.max_pixels}")
    out = check_output_folder(args.out or Path(f"{Path(args.video).name}.frames"), "--out")
    try:
        sampled = sample_frames(
            args.video,
            args.num,
            mode=args.mode,
            max_pixels=args.max_pixels,
            min_pixels=args.min_pixels,
            factor=args.factor,
            key_times=args.key_time,
            cache_dir=args.cache_dir,
            allow_duplicates=args.allow_duplicates,
        )
    except ValueError as error:  # the sampling options (--num 0, a pixel budget too small)
        raise InputError(str(error)) from None
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for frame in sampled.frames:
        name = f"frame_{frame.index + 1:03d}_{frame.timestamp:09.3f}s.{args.format}"
        frame.image.save(out / name)
        records.append({
            "index": frame.index,
            "timestamp": round(frame.timestamp, 6),
            "target": None if frame.target is None else round(frame.target, 6),
            "is_key": frame.is_key,
            "frame_number": frame.frame_number,
            "file": name,
        })
    summary = {
        "video": str(args.video),
        "mode": sampled.mode,
        "duration": round(sampled.duration, 6),
        "fps": round(sampled.fps, 6),
        "frame_count": sampled.info.frame_count if sampled.info else None,
        "source_size": list(sampled.source_size),
        "input_size": list(sampled.input_size),
        "from_cache": sampled.from_cache,
        "frames": records,
    }
    atomic_write_text(out / "frames.json", json.dumps(summary, indent=2) + "\n")
    width, height = sampled.input_size
    print(f"{args.video}: {sampled.duration:.2f}s, {sampled.source_size[0]}x{sampled.source_size[1]} -> "
          f"{len(sampled)} frames at {width}x{height} ({sampled.mode}{', cached' if sampled.from_cache else ''})")
    for record in records:
        key = "  key" if record["is_key"] else ""
        print(f"  {record['index'] + 1:3d}  {record['timestamp']:9.3f}s  {record['file']}{key}")
    print(f"wrote {len(records)} images and frames.json to {out}")
    return 0
