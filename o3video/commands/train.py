"""`o3video train sft|rl --config FILE [key=value ...]`: SFT cold start or GSPO/GRPO on TRL."""

from __future__ import annotations

import argparse

HELP = "Train: SFT cold start or GSPO reinforcement learning (TRL) from a YAML config plus key=value overrides."


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


def _flag_overrides(args: argparse.Namespace) -> list[str]:
    flags = []
    if getattr(args, "algo", None):
        flags.append(f"algo={args.algo}")
    if getattr(args, "fixed_sigma", None) is not None:
        flags.append(f"rewards.sigma={args.fixed_sigma}")
    if getattr(args, "no_gating", False):
        flags.append("rewards.gating=false")
    if args.no_resume:
        flags.append("resume=false")
    if args.overwrite:
        flags.append("overwrite=true")
    return flags


def run(args: argparse.Namespace) -> int:
    import yaml

    from o3video.train.train_config import load_config

    config = load_config(args.config, [*args.overrides, *_flag_overrides(args)], stage=args.stage)
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
