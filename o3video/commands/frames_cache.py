"""`o3video frames-cache --config FILE [--data STGR.json] [--videos DIR] [--workers N] [key=value ...]`: probe
and decode every training record's frames into the frame cache once, before `o3video train` with the same
config reads them."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "Extract every training record's frames into the frame cache once (same config as `o3video train`)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="the training YAML config the frames are for (its data: section decides)")
    parser.add_argument("--data", action="append", metavar="STGR.json", help="training file (data.train), repeatable")
    parser.add_argument("--videos", metavar="DIR", help="folder the records' media paths are relative to (data.root)")
    parser.add_argument("--cache-dir", metavar="DIR", help="frame cache (data.cache_dir; default: the config's)")
    parser.add_argument("--workers", type=int, default=1, help="decoding processes (default 1)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="dotted overrides, as for `o3video train`: model=... (whose resize rule the frames "
                        "follow), data.num_frames=8 ...")


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags set (dotted key -> value); without a config file, the stage and output folder a
    training config needs, which the frames do not depend on."""
    values: dict[str, Any] = {} if args.config else {"stage": "sft", "output_dir": "."}
    if args.data:
        values["data.train"] = list(args.data)
    if args.videos:
        values["data.root"] = args.videos
    if args.cache_dir:
        values["data.cache_dir"] = args.cache_dir
    return values


def run(args: argparse.Namespace) -> int:
    from o3video.train.frame_extraction import extract_frames
    from o3video.train.train_config import load_config

    config = load_config(args.config, args.overrides, values=_flag_values(args))
    done = extract_frames(config, args.workers)
    print(f"{config.data.cache_dir}: frames of {done.videos} video records cached ({done.decoded} decoded now, "
          f"{done.cached} found there), {done.images} image records, {len(done.skipped)} skipped")
    for problem in done.skipped[:5]:
        print(f"  skipped {problem}")
    return 0
