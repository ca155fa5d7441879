"""`o3video ablate`: the paper's ablation tables (3, 5, 6, 8, 9, 13) reproduced on the demo's world and tiny model."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from o3video.commands.option_checks import Bound

ABLATE_BOUNDS = (Bound("--threads", 1), Bound("--seeds", 1))
TABLE_CHOICES = ("3", "5", "6", "8", "9", "13", "all")

HELP = ("Ablate: the paper's ablation tables on the demo's world, each arm over seeds beside its blind twin, "
        "with verdicts (ablate.md, plots, ablate.json).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", choices=TABLE_CHOICES, default="all",
                        help="the paper table to reproduce (default all): 3 training strategy, 5 thinking reward, "
                             "6 evidence faithfulness, 8 proximity schedule, 9 text-only reasoning, "
                             "13 test-time voting")
    parser.add_argument("--seeds", type=int, default=None, metavar="N",
                        help="seeds per arm (default 3, or 2 with --quick)")
    parser.add_argument("--world", choices=("one", "two", "easy"), default="one",
                        help="the synthetic world every arm trains and is evaluated on (default one, the demo's), "
                             "as `o3video demo --world`")
    parser.add_argument("--out", type=Path, default=Path("runs/ablate"), help="output folder (default runs/ablate)")
    parser.add_argument("--quick", action="store_true",
                        help="two arms (SFT+GSPO, fixed σ = 4) at the demo's --quick sizes: a smoke test of the grid")
    parser.add_argument("--base", default="auto",
                        help="the model every arm starts from, as `o3video demo --base`: perception, random, a model "
                             "directory, or auto (default: perception when at hand without a build, else random; "
                             "random with --quick)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")


def run(args: argparse.Namespace) -> int:
    from o3video.commands.demo import choose_base
    from o3video.commands.option_checks import check_bounds
    from o3video.lab.ablate.runner import ALL_TABLES, AblateSettings, run_ablation
    from o3video.lab.demo.settings import DemoSettings, quick_settings

    check_bounds(args, ABLATE_BOUNDS)
    started = time.perf_counter()
    demo = quick_settings(args.out) if args.quick else DemoSettings(out=args.out)
    demo.world, demo.threads = args.world, args.threads
    choose_base(demo, args.base, quick=args.quick)
    tables = ALL_TABLES if args.table == "all" else (int(args.table),)
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 3)
    report = run_ablation(AblateSettings(out=args.out, tables=tables, seeds=seeds, quick=args.quick, demo=demo))
    print(f"ablate finished in {time.perf_counter() - started:.0f} s: {report}, plots and ablate.json beside it")
    return 0
