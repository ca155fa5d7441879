"""`o3video demo`: the main job — the whole method end to end on the tiny model, with a report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from o3video.commands.option_checks import Bound

DEMO_BOUNDS = (Bound("--threads", 1), Bound("--seeds", 1), Bound("--perception-replay", 0),
               Bound("--replay-video", 0, 1), Bound("--replay-where", 0, 1))
# Said on the terminal after a quick run's PASS/FAIL lines: its checks are printed, not held to.
QUICK_CAVEAT = ("quick run: a smoke test of every stage on little data and few steps; it is not held to the bars "
                "above (FAIL lines are expected); `o3video demo` without --quick is the run they apply to")

HELP = "Demo: synthetic world, tiny model, SFT then GSPO, V-STaR before/after each, report.md/.html (~15 min on 2 cores)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory (default runs/demo)")
    parser.add_argument("--quick", action="store_true", help="little data and few steps: every stage in about a minute")
    parser.add_argument("--fresh", action="store_true", help="delete the run directory first instead of resuming it")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--world", choices=("one", "two", "easy"), default="one",
                        help="the synthetic world, a rung of the ladder (default one, the rung the tiny model comes closest to passing): one (a single object in view "
                             "for part of the video), two (2-3 such objects, each named by its colour or shape), easy "
                             "(2-3 objects that touch, stop, change colour); the world, its practice world and the "
                             "perception replay are rendered from it, and data/world/synth_config.json records it")
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
    checkout), else a random tiny model; the quick preset (the suite's) always starts from random weights. A model
    directory is checked here, before the run renders anything."""
    if base in ("random", "perception"):
        return base
    if base != "auto":
        from o3video.lab.demo.run import base_directory

        base_directory(base)
        return base
    if quick:
        return "random"
    from o3video.lab.perception.build_base import BaseRecipe, ready_base

    return "perception" if ready_base(BaseRecipe(size=size)) is not None else "random"


def choose_base(settings, base: str, *, quick: bool, replay: int | None = None) -> None:
    """Set the run's base (`chosen_base`) and its perception replay: `replay` when given, else as many as the
    world's own SFT records for a pre-trained base and none for a random one."""
    settings.base = chosen_base(base, quick=quick, size=settings.model_size)
    if replay is not None:
        settings.perception_replay = replay
    elif settings.base != "random":
        settings.perception_replay = settings.sft_records


def run(args: argparse.Namespace) -> int:
    from o3video.commands.option_checks import check_bounds
    from o3video.lab.demo import DemoSettings, quick_settings, run_demo

    check_bounds(args, DEMO_BOUNDS)
    started = time.perf_counter()
    settings = quick_settings(args.out) if args.quick else DemoSettings(out=args.out)
    settings.threads = args.threads
    settings.world = args.world
    settings.twin_cache = not args.no_twin_cache
    settings.arch = args.arch
    choose_base(settings, args.base, quick=args.quick, replay=args.perception_replay)
    for option in ("replay_video", "replay_where"):
        if getattr(args, option) is not None:
            setattr(settings, option, getattr(args, option))
    settings.grounded_general_mcq = args.grounded_mcq
    settings.sft_overrides += args.sft
    settings.rl_overrides += args.rl
    if args.seeds > 1:
        from o3video.lab.demo.seeds import run_seeds

        report = run_seeds(settings, args.seeds, fresh=args.fresh)
    else:
        report = run_demo(settings, fresh=args.fresh)
    print(f"demo finished in {time.perf_counter() - started:.0f} s: {report} (and {report.with_suffix('.html')})")
    if args.quick:
        print(QUICK_CAVEAT)
    return 0
