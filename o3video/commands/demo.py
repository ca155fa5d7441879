"""`o3video demo`: the main job — the whole method end to end on the tiny model, with a report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HELP = "Demo: synthetic world, tiny model, SFT then GSPO, V-STaR before/after each, report.md/.html (~15 min on 2 cores)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory (default runs/demo)")
    parser.add_argument("--quick", action="store_true", help="little data and few steps: every stage in about a minute")
    parser.add_argument("--fresh", action="store_true", help="delete the run directory first instead of resuming it")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--base", default="auto",
                        help="the model the run starts from: perception (the perception-pretrained tiny Qwen3-VL of "
                             "`o3video perception-base`, built once and cached when missing), random (a tiny model "
                             "built for the run), a model directory, or auto (default: perception when the cache or "
                             "this checkout's bases/perception holds it, else random; random with --quick)")
    parser.add_argument("--arch", choices=("qwen2_5_vl", "qwen3_vl"), default="qwen2_5_vl",
                        help="architecture of a random base")
    parser.add_argument("--perception-replay", type=int, default=None, metavar="N",
                        help="mix N perception questions (\"Where is the <colour> <shape>?\", o3video/lab/perception/pretrain.py) "
                             "into SFT; without it, as many as the world's SFT records (360, or 48 with --quick) when the run "
                             "starts from a pre-trained base (SFT erases the base's localisation otherwise: "
                             "bench/sft_retention.py), and none from a random one")
    parser.add_argument("--replay-video", type=float, default=None, metavar="P",
                        help="the share of the perception replay asked of still videos as spatio-temporal QA, the "
                             "object cited with its box at a time (default 0.5; the rest are visual QA of the image)")
    parser.add_argument("--replay-where", type=float, default=None, metavar="P",
                        help="the share of those still videos asked as V-STaR's chain-1 where prompt: the seconds of a "
                             "span listed, the reasoning citing the box at each, the answer their JSON (default 0.5)")
    parser.add_argument("--no-twin-cache", action="store_true",
                        help="train the blind twin in this run even when the cache ($O3VIDEO_CACHE, default "
                             "~/.cache/o3video) holds one of the same recipe, and do not keep it there")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="run the demo for N seeds (OUT/seed-K) and report every metric as mean ± sd across them")
    parser.add_argument("--grounded-mcq", action="store_true",
                        help="train on synthetic general MCQ whose reasoning cites its evidence (test-time scaling "
                             "and the faithfulness probe then have evidence to read)")
    parser.add_argument("--sft", action="append", default=[], metavar="key=value",
                        help="override for the SFT config (repeatable), e.g. --sft trainer.num_train_epochs=3")
    parser.add_argument("--rl", action="append", default=[], metavar="key=value",
                        help="override for the GSPO config (repeatable), e.g. --rl trainer.max_steps=40")


def chosen_base(base: str, quick: bool, size: str) -> str:
    """`--base auto`: the perception base when one is at hand without a build (cached, or embedded in this source
    checkout), else a random tiny model; the quick preset (the suite's) always starts from random weights."""
    if base != "auto":
        return base
    if quick:
        return "random"
    from o3video.lab.perception.build_base import BaseRecipe, ready_base

    return "perception" if ready_base(BaseRecipe(size=size)) is not None else "random"


def run(args: argparse.Namespace) -> int:
    from o3video.lab.demo import DemoSettings, quick_settings, run_demo

    started = time.perf_counter()
    settings = quick_settings(args.out) if args.quick else DemoSettings(out=args.out)
    settings.threads = args.threads
    settings.twin_cache = not args.no_twin_cache
    settings.base, settings.arch = chosen_base(args.base, quick=args.quick, size=settings.model_size), args.arch
    if args.perception_replay is not None:
        settings.perception_replay = args.perception_replay
    elif settings.base != "random":
        settings.perception_replay = settings.sft_records  # as many as the world's own SFT records
    if settings.perception_replay < 0:
        from o3video.errors import InputError

        raise InputError(f"--perception-replay must be >= 0, got {settings.perception_replay}")
    for option in ("replay_video", "replay_where"):
        share = getattr(args, option)
        if share is not None:
            if not 0 <= share <= 1:
                from o3video.errors import InputError

                raise InputError(f"--{option.replace('_', '-')} must be between 0 and 1, got {share}")
            setattr(settings, option, share)
    settings.grounded_general_mcq = args.grounded_mcq
    settings.sft_overrides += args.sft
    settings.rl_overrides += args.rl
    if args.seeds > 1:
        from o3video.lab.demo.seeds import run_seeds

        report = run_seeds(settings, args.seeds, fresh=args.fresh)
    else:
        report = run_demo(settings, fresh=args.fresh)
    print(f"demo finished in {time.perf_counter() - started:.0f} s: {report} (and {report.with_suffix('.html')})")
    return 0
