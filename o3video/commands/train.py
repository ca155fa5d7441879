"""`o3video train sft|rl --config FILE [key=value ...]`: SFT cold start or GSPO/GRPO on TRL."""

from __future__ import annotations

import argparse
from typing import Any

from o3video.commands.option_checks import Bound

HELP = "Train: SFT cold start or GSPO reinforcement learning (TRL) from a YAML config plus key=value overrides."


TRAIN_BOUNDS = (Bound("--fixed-sigma", 0, strict=True),)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)
    sft = stages.add_parser("sft", help="supervised cold start on STGR records (assistant-only loss)")
    rl = stages.add_parser("rl", help="GSPO (sequence-level ratio) with the paper's rewards; --algo grpo for token level")
    for sub in (sft, rl):
        sub.add_argument("--config", help="YAML config (see configs/); overrides may supply every field instead")
        sub.add_argument("--no-resume", action="store_true",
                         help="start over, deleting output_dir's checkpoints (a finished run still needs --overwrite)")
        sub.add_argument("--overwrite", action="store_true",
                         help="train again even if output_dir holds a finished run, deleting it first")
        sub.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    rl.add_argument("--algo", choices=["gspo", "grpo"], help="sequence-level GSPO (default) or token-level GRPO")
    rl.add_argument("--fixed-sigma", type=float, metavar="S", help="ablation: fixed σ instead of the 4 -> 1 schedule")
    rl.add_argument("--no-gating", action="store_true", help="ablation: no temporal gate on the spatial reward")
    for sub in (sft, rl):  # last, so that options may come first: `rl --config F --algo grpo a=1 b=2`
        sub.add_argument("overrides", nargs="*", metavar="key=value",
                         help="dotted overrides, e.g. trainer.learning_rate=1e-5 data.num_frames=8 model=runs/sft")


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command's flags set, typed (dotted config key -> value)."""
    values: dict[str, Any] = {}
    if getattr(args, "algo", None):
        values["algo"] = args.algo
    if getattr(args, "fixed_sigma", None) is not None:
        values["rewards.sigma"] = args.fixed_sigma
    if getattr(args, "no_gating", False):
        values["rewards.gating"] = False
    if args.no_resume:
        values["resume"] = False
    if args.overwrite:
        values["overwrite"] = True
    return values


def run(args: argparse.Namespace) -> int:
    import yaml

    from o3video.commands.option_checks import check_bounds
    from o3video.errors import InputError
    from o3video.train.train_config import load_config

    check_bounds(args, TRAIN_BOUNDS)
    values = _flag_values(args)
    for assignment in args.overrides:
        key = assignment.partition("=")[0].strip()
        if key in values:
            raise InputError(f"{assignment!r} and a flag both set {key}; give one of them")
    config = load_config(args.config, args.overrides, stage=args.stage, values=values)
    if args.print_config:
        print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
        return 0
    from o3video.train import train_rl, train_sft
    from o3video.train.checkpoints import finished_step

    step = finished_step(config.output_dir)
    if step is not None and not config.overwrite:
        print(f"{config.output_dir}: already finished at step {step}; nothing was changed (--overwrite trains again)")
        return 0
    out = (train_sft if args.stage == "sft" else train_rl)(config)
    print(f"saved {args.stage} model to {out} (metrics: {out / 'metrics.jsonl'})")
    return 0
