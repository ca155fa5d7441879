"""`o3video perception-base`: build (once) the perception-pretrained tiny base that `o3video demo --base perception`
starts from."""

from __future__ import annotations

import argparse

HELP = ("Build the demo's perception-pretrained tiny base (localising named objects, then the named one among "
        "several, then asked as videos, then in V-STaR's where layout, then about the synthetic world's own videos; "
        "cached, resumable, or continued in parts with --from; its first two stages alone ~2.7 h on 2 cores).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", choices=("qwen3_vl", "qwen2_5_vl"), default="qwen3_vl")
    parser.add_argument("--size", choices=("small", "base"), default="small")
    parser.add_argument("--seed", type=int, default=0, help="model initialisation; training frames use seed + 1")
    parser.add_argument("--from", dest="source", default="", metavar="DIR",
                        help="continue this saved base (or model folder) by the stages asked, with a fresh optimizer, "
                             "instead of building a new tiny model; then --steps may be 0")
    parser.add_argument("--steps", type=int, default=4000,
                        help="optimizer steps of 16 frames of single objects (default 4000)")
    parser.add_argument("--binding-steps", type=int, default=4000,
                        help="then steps of 1-3 objects with attention supervision, so the model finds the named one "
                             "(default 4000; 0: none)")
    parser.add_argument("--video-steps", type=int, default=400,
                        help="then steps with half the questions asked as videos of 1-8 labelled frames, so the boxes "
                             "do not depend on the prompt's layout (default 400; 0: none)")
    parser.add_argument("--where-steps", type=int, default=400,
                        help="then steps with half the questions asked in V-STaR's chain-1 where layout (8 frames, its "
                             "~60-word instruction, a JSON of boxes per second; default 400; 0: none)")
    parser.add_argument("--world-steps", type=int, default=400,
                        help="then steps with half the questions about new videos of the synthetic world, in that "
                             "layout, half of those its own questions about the videos' events (default 400; 0: none)")
    parser.add_argument("--what-steps", type=int, default=0,
                        help="then steps with three quarters of the questions about such videos, half of those the "
                             "world's own V-STaR what questions (default 0: none)")
    parser.add_argument("--when-steps", type=int, default=0,
                        help="then steps as those, the world's own chain-1 when questions in place of the what ones, "
                             "attention on the asked object in the frames of the answer's span (default 0: none)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from o3video.commands.option_checks import Bound, check_bounds
    from o3video.errors import InputError
    from o3video.lab.perception.build_base import STAGES, BaseRecipe, build_perception_base
    from o3video.train.common import set_threads

    stages = STAGES[1:]  # after the single-object stage (--steps)
    check_bounds(args, [Bound("--threads", 1), Bound("--steps", 0 if args.source else 1),
                        *(Bound(f"--{option.replace('_', '-')}", 0) for option in stages)])
    if args.source:
        if not (Path(args.source) / "config.json").is_file():
            raise InputError(f"--from {args.source}: not a model directory (no config.json)")
        if args.steps + sum(getattr(args, option) for option in stages) == 0:
            raise InputError("--from: every stage has 0 steps, nothing to continue")
        args.source = str(Path(args.source).resolve())
    set_threads(args.threads)
    folder = build_perception_base(BaseRecipe(arch=args.arch, size=args.size, seed=args.seed, steps=args.steps,
                                              binding_steps=args.binding_steps, video_steps=args.video_steps,
                                              where_steps=args.where_steps, world_steps=args.world_steps,
                                              what_steps=args.what_steps, when_steps=args.when_steps,
                                              source=args.source))
    print(f"perception base: {folder}")
    return 0
