"""`o3video frames-cache --config FILE [--data STGR.json] [--videos DIR] [--workers N] [key=value ...]`: probe
and decode every training record's frames into the frame cache once, before `o3video train` with the same
config reads them."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "Extract every training record's frames into the frame cache once (same config as `o3video train`)."


def add_training_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--config, --data, --videos: a training config's records (for frames-cache and export)."""
    parser.add_argument("--config", help="the training YAML config whose records are read (its data: section)")
    parser.add_argument("--data", action="append", metavar="STGR.json", help="training file (data.train), repeatable")
    parser.add_argument("--videos", metavar="DIR", help="folder the records' media paths are relative to (data.root)")


def training_data_values(args: argparse.Namespace, stage: str) -> dict[str, Any]:
    """The settings `add_training_data_arguments`'s flags set (dotted key -> value); without a config file, the
    stage and output folder a training config needs, which the records' frames and prompts do not depend on."""
    values: dict[str, Any] = {} if args.config else {"stage": stage, "output_dir": "."}
    if args.data:
        values["data.train"] = list(args.data)
    if args.videos:
        values["data.root"] = args.videos
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_data_arguments(parser)
    parser.add_argument("--cache-dir", metavar="DIR", help="frame cache (data.cache_dir; default: the config's)")
    parser.add_argument("--workers", type=int, default=1, help="decoding processes (default 1)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="dotted overrides, as for `o3video train`: model=... (whose resize rule the frames "
                        "follow), data.num_frames=8 ...")


def run(args: argparse.Namespace) -> int:
    from o3video.train.frame_extraction import extract_frames
    from o3video.train.train_config import load_config

    values = training_data_values(args, "sft")
    if args.cache_dir:
        values["data.cache_dir"] = args.cache_dir
    config = load_config(args.config, args.overrides, values=values)
    done = extract_frames(config, args.workers)
    print(f"{config.data.cache_dir}: frames of {done.videos} video records cached ({done.decoded} decoded now, "
          f"{done.cached} found there), {done.images} image records, {len(done.skipped)} skipped")
    for problem in done.skipped[:5]:
        print(f"  skipped {problem}")
    return 0
