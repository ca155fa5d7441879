"""`o3video export --to verl --config FILE --out FILE.parquet [--data STGR.json] [--videos DIR] [key=value ...]`:
a training config's RL records as another engine's training data."""

from __future__ import annotations

import argparse
from pathlib import Path

from o3video.commands.frames_cache import add_training_data_arguments, training_data_values

HELP = "Export a training config's STGR records for another engine (verl's RL parquet)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", choices=["verl"], required=True, help="the engine: verl (parquet rows for its RL)")
    parser.add_argument("--out", type=Path, required=True, help="the parquet file to write")
    add_training_data_arguments(parser)
    parser.add_argument("--data-source", default="o3video/stgr", help="the rows' data_source (default o3video/stgr)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="dotted overrides, as for `o3video train`: model=... (whose resize rule and box "
                        "convention the prompts follow), data.num_frames=16 ...")


def run(args: argparse.Namespace) -> int:
    from o3video.integrations import verl
    from o3video.integrations.verl_export import training_records, verl_rows, write_verl_parquet
    from o3video.io import check_output_file
    from o3video.progress import ProgressBar
    from o3video.train.train_config import load_config

    out = check_output_file(args.out, "--out")
    config = load_config(args.config, args.overrides, values=training_data_values(args, "rl"))
    records = training_records(config)
    with ProgressBar(len(records), desc="verl rows", unit="record") as bar:
        count = write_verl_parquet(verl_rows(records, args.data_source), out, on_row=bar.update)
    print(f"wrote {count} rows to {out} (verl: data.train_files={out} "
          f"reward.custom_reward_function.path={Path(verl.__file__).resolve()})")
    return 0
