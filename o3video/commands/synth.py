"""`o3video synth`: generate the synthetic spatio-temporal world (videos, STGR training records,
V-STaR / MCQ / temporal-grounding benchmarks) into a directory."""

from __future__ import annotations

import argparse

from o3video.commands.option_checks import Bound

HELP = "Generate synthetic videos with exact ground truth: STGR training sets and V-STaR-format benchmarks."


SYNTH_BOUNDS = (Bound("--sft", 0), Bound("--rl", 0), Bound("--bench", 0), Bound("--temporal-mcq-share", 0, 1),
                Bound("--general-mcq-share", 0, 1), Bound("--fps", 1), Bound("--workers", 1))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output directory (created; an interrupted run resumes)")
    parser.add_argument("--preset", default="easy", choices=["one", "two", "easy", "medium", "hard"],
                        help="the world (default easy): one (a single object, in view for part of the video: its "
                             "colour or shape, when it is seen, where it is), two (2-3 such objects, each named by its "
                             "colour or shape), easy (2-3 objects that touch, stop, change colour), medium and hard "
                             "(more objects, occlusion, larger and longer videos); one, two and easy are the ladder")
    parser.add_argument("--sft", type=int, default=200, help="SFT records (default 200)")
    parser.add_argument("--rl", type=int, default=200, help="RL records (default 200)")
    parser.add_argument("--bench", type=int, default=50, help="records in each benchmark split (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same dataset (default 0)")
    parser.add_argument("--sft-mix", help="SFT category weights 'temporal,spatial,spatio-temporal,general' "
                                          "(default the paper's 13.7,16.7,19.7,50)")
    parser.add_argument("--rl-mix", help="RL category weights (default the paper's 14.4,13.9,30.3,41.7)")
    parser.add_argument("--temporal-mcq-share", type=float, default=0.5,
                        help="share of temporal records that are temporal MCQ (default 0.5)")
    parser.add_argument("--general-mcq-share", type=float, default=0.5,
                        help="share of general QA records that are MCQ (default 0.5)")
    parser.add_argument("--size", help="frame size WxH overriding the preset's, e.g. 224x168 (even sides; "
                                       "multiples of 28 are kept as they are by Qwen2.5-VL)")
    parser.add_argument("--fps", type=int, help="frames per second overriding the preset's")
    parser.add_argument("--duration", help="video length range in seconds MIN,MAX overriding the preset's")
    parser.add_argument("--objects", help="objects per video MIN,MAX overriding the preset's")
    parser.add_argument("--grounded-general-mcq", action="store_true",
                        help="general MCQ reasoning cites its evidence (boxes at times, with key frames)")
    parser.add_argument("--workers", type=int, default=1, help="processes encoding videos (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from o3video.commands.option_checks import check_bounds
    from o3video.data.synth import RL_MIX, SFT_MIX, SynthConfig, build_dataset
    from o3video.errors import InputError

    check_bounds(args, SYNTH_BOUNDS)
    shares = {"temporal_mcq_share": args.temporal_mcq_share, "general_mcq_share": args.general_mcq_share}
    try:
        sft_mix = replace(_mix(args.sft_mix, SFT_MIX, "--sft-mix"), **shares)
        rl_mix = replace(_mix(args.rl_mix, RL_MIX, "--rl-mix"), **shares)
        config = SynthConfig(out=Path(args.out), preset=_preset(args), sft=args.sft, rl=args.rl,
                             bench=args.bench, seed=args.seed, sft_mix=sft_mix, rl_mix=rl_mix,
                             workers=max(1, args.workers), grounded_general_mcq=args.grounded_general_mcq)
        summary = build_dataset(config, progress=not args.quiet)
    except ValueError as err:  # the options and presets check their values with ValueError
        raise InputError(str(err)) from None
    counts = ", ".join(f"{name} {len(recs)}" for name, recs in summary.records.items())
    videos = sum(len(v) for v in summary.scenes.values())
    print(f"wrote {summary.out}: {counts}; {videos} videos in {summary.seconds:.1f} s (card: {summary.out / 'README.md'})")
    return 0


def _mix(text: str | None, default, option: str):
    """The mix `text` gives (`o3video.mixes.parse_mix`), `default` without one; a bad one names `option`."""
    from o3video.mixes import parse_mix

    try:
        return parse_mix(text, default) if text else default
    except ValueError as error:
        raise ValueError(f"{option}: {error}") from None


def _pair(text: str, kind: type, option: str, sep: str = ","):
    parts = text.lower().split(sep)
    try:
        values = tuple(kind(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 2:
        raise ValueError(f"--{option} {text!r}: expected two numbers separated by {sep!r}")
    return values


def _preset(args: argparse.Namespace):
    """The named preset with any --size / --fps / --duration / --objects overrides applied."""
    from dataclasses import replace

    from o3video.data.synth import get_preset

    changes: dict = {}
    if args.size:
        changes["width"], changes["height"] = _pair(args.size, int, "size", "x")
    if args.fps is not None:
        changes["fps"] = args.fps
    if args.duration:
        changes["duration_s"] = _pair(args.duration, float, "duration")
    if args.objects:
        changes["num_objects"] = _pair(args.objects, int, "objects")
    return replace(get_preset(args.preset), **changes)
