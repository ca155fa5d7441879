"""`o3video export --to verl --config FILE --out FILE.parquet [--data STGR.json] [--videos DIR] [key=value ...]`:
a training config's RL records as another engine's training data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "Export a training config's STGR records for another engine (verl's RL parquet)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", choices=["verl"], required=True, help="the engine: verl (parquet rows for its RL)")
    parser.add_argument("--out", type=Path, required=True, help="the parquet file to write")
    parser.add_argument("--config", help="the training YAML config whose records and frames are exported")
    parser.add_argument("--data", action="append", metavar="STGR.json", help="training file (data.train), repeatable")
    parser.add_argument("--videos", metavar="DIR", help="folder the records' media paths are relative to (data.root)")
    parser.add_argument("--data-source", default="o3video/stgr", help="the rows' data_source (default o3video/stgr)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="dotted overrides, as for `o3video train`: model=... (whose resize rule and box "
                        "convention the prompts follow), data.num_frames=16 ...")


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags set (dotted key -> value); without a config file, the stage and output folder a
    training config needs, which the rows do not depend on."""
    values: dict[str, Any] = {} if args.config else {"stage": "rl", "output_dir": "."}
    if args.data:
        values["data.train"] = list(args.data)
    if args.videos:
        values["data.root"] = args.videos
    return values


def run(args: argparse.Namespace) -> int:
    from o3video.integrations import verl
    from o3video.integrations.verl_export import training_records, verl_rows, write_verl_parquet
    from o3video.io import check_output_file
    from o3video.progress import ProgressBar
    from o3video.train.train_config import load_config

    out = check_output_file(args.out, "--out")
    config = load_config(args.config, args.overrides, values=_flag_values(args))
    records = training_records(config)
    with ProgressBar(len(records), desc="verl rows", unit="record") as bar:
        count = write_verl_parquet(verl_rows(records, args.data_source), out, on_row=bar.update)
    print(f"wrote {count} rows to {out} (verl: data.train_files={out} "
          f"custom_reward_function.path={Path(verl.__file__).resolve()})")
    return 0
