"""`o3video eval vstar|mcq|tg`: run a model on a benchmark (resumable), and/or score a results file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from o3video.commands.option_checks import Bound
from o3video.eval.scoring import SCORINGS
from o3video.geometry import (
    AUTO_CONVENTION,
    CONVENTION_CHOICES,
    CONVENTION_HELP,
    MAX_PIXELS,
)

# The numeric options every evaluator takes, with their ranges; mcq adds --n.
EVAL_BOUNDS = (Bound("--limit", 1), Bound("--concurrency", 1))
MCQ_BOUNDS = (Bound("--n", 1),)

HELP = "Evaluate on V-STaR, multiple-choice video QA (with test-time scaling) or temporal grounding."


def _common(parser: argparse.ArgumentParser, frames: int) -> None:
    from o3video.commands.infer import MODEL_HELP, add_served_arguments

    parser.add_argument("--anno", type=Path, help="annotation file (JSON list or JSON lines)")
    parser.add_argument("--videos", type=Path, help="folder holding the videos (searched recursively)")
    parser.add_argument("--model", help=MODEL_HELP)
    parser.add_argument("--out", type=Path, help="results file (JSON lines), appended to and resumed")
    parser.add_argument("--frames", type=int, default=frames, help=f"frames sampled per video (default {frames})")
    parser.add_argument("--mode", choices=["exact", "keyframe"], default="exact")
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS)
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--box-convention", choices=CONVENTION_CHOICES, default=AUTO_CONVENTION, help=CONVENTION_HELP)
    parser.add_argument("--limit", type=int, help="only the first N records (N >= 1)")
    parser.add_argument("--blank-frames", action="store_true",
                        help="the blind baseline: show the model blank frames (times and sizes kept)")
    parser.add_argument("--restart", action="store_true",
                        help="start --out over (a resume with other settings than the recorded ones is refused)")
    parser.add_argument("--results", type=Path, help="only score this results file")
    parser.add_argument("--report", type=Path,
                        help="metrics JSON path (default: <results>.metrics.json, or <results>.<scoring>.metrics.json "
                             "under --scoring vstar|open-o3; a .md beside it)")
    add_served_arguments(parser)
    parser.add_argument("--concurrency", type=int, default=8,
                        help="records a served model is asked about at once (default 8; results keep record order)")


def _run_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The `EvalRunConfig` fields that every evaluator's options share (`_common`)."""
    return {"anno": args.anno, "videos": args.videos, "model": args.model, "out": args.out, "num_frames": args.frames,
            "mode": args.mode, "max_pixels": args.max_pixels, "max_new_tokens": args.max_new_tokens,
            "limit": args.limit, "restart": args.restart, "blank_frames": args.blank_frames,
            "box_convention": args.box_convention, "served_family": args.served_family,
            "concurrency": args.concurrency, "retries": args.retries, "request_timeout": args.request_timeout}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    vstar = sub.add_parser("vstar", help="V-STaR: what / when / where in two chains; mAM, mLGM")
    _common(vstar, 16)
    vstar.add_argument("--judge", help="exact | hf:PATH | openai:BASE_URL:MODEL (scores after running when given)")
    vstar.add_argument("--baseline", choices=["whole", "centre", "frequent"],
                       help="instead of a model, answers that ignore the video: whole span and frame | middle half and "
                            "centre box | the training split's most frequent answer, mean span and box (--prior)")
    vstar.add_argument("--prior", type=Path, help="training-split V-STaR annotations, for --baseline frequent")
    vstar.add_argument("--scoring", choices=SCORINGS, default="o3video",
                       help="o3video (default): the project's protocol; vstar: V-STaR's eval.py; open-o3: the paper's "
                            "eval_vstar.py, quirks included (docs/scoring.md)")
    vstar.set_defaults(_bench_run=run_vstar_command)
    mcq = sub.add_parser("mcq", help="multiple-choice QA (VideoMME/WorldSense/VideoMMMU style); accuracy per category")
    _common(mcq, 64)
    mcq.add_argument("--tts", choices=["none", "majority", "confidence"], default="none",
                     help="test-time scaling: sample --n responses; both votes are recorded")
    mcq.add_argument("--n", type=int, default=8, help="responses per question with --tts (default 8)")
    mcq.add_argument("--faithfulness", action="store_true", help="also re-answer without the cited frames / random frames")
    mcq.add_argument("--seed", type=int, default=0)
    mcq.set_defaults(_bench_run=run_mcq_command)
    tg = sub.add_parser("tg", help="temporal grounding (TVGBench/Charades-STA style): mean IoU, R1@0.3/0.5/0.7")
    _common(tg, 16)
    tg.set_defaults(_bench_run=run_tg_command)


def run(args: argparse.Namespace) -> int:
    from o3video.commands.infer import GENERATION_BOUNDS, SERVED_BOUNDS
    from o3video.commands.option_checks import check_bounds, check_suffix

    check_bounds(args, (*GENERATION_BOUNDS, *EVAL_BOUNDS, *SERVED_BOUNDS, *MCQ_BOUNDS))
    check_suffix(args.report, "--report", (".json",))
    return args._bench_run(args)


def _mode(args: argparse.Namespace) -> str:
    """'run' or 'score'; what is missing for either is an `InputError`."""
    from o3video.errors import InputError

    if any(getattr(args, n) is not None for n in ("anno", "videos", "model", "out")):
        missing = [f"--{n}" for n in ("anno", "videos", "model", "out") if getattr(args, n) is None]
        if missing:
            raise InputError(f"running a model needs {' '.join(missing)}")
        if not args.videos.is_dir():
            raise InputError(f"--videos {args.videos}: no such folder")
        return "run"
    if args.results is None:
        raise InputError("give --anno/--videos/--model/--out to run, or --results to score")
    return "score"


def _checked(path: Path, benchmark: str) -> list[dict]:
    from o3video.eval.scoring import checked_records

    return checked_records(path, benchmark)


def _report(report: Any, results: Path, report_path: Path | None) -> Path:
    """Write a scorer's report (`o3video.eval.scoring.write_report`) and print its Markdown."""
    from o3video.eval.scoring import write_report

    path = write_report(report, results, report_path)
    print(report.markdown())
    return path


def score_results(results: Path, judge_spec: str, report_path: Path | None = None, scoring: str = "o3video") -> Path:
    from o3video.eval.scoring import score_vstar

    return _report(score_vstar(results, judge_spec, scoring), results, report_path)


def _answered_all(out: Path) -> int:
    """0 when every record of the run's results file `out` was answered; records that failed before answering
    (no video, an unreadable one) end the command as bad input, summarised by kind."""
    from o3video.eval.benchmark_runner import failed_records

    failure = failed_records(out)
    if failure is not None:
        raise failure
    return 0


def run_vstar_command(args: argparse.Namespace) -> int:
    from o3video.errors import InputError
    from o3video.eval.judges import parse_judge_spec

    if args.judge:
        parse_judge_spec(args.judge)  # a typo is found now, not after the run
    if args.baseline:
        if args.anno is None or args.out is None:
            raise InputError("--baseline needs --anno and --out")
        from o3video.eval.vstar_run import write_baseline

        _checked(args.anno, "vstar")
        if args.baseline == "frequent":
            if args.prior is None:
                raise InputError("--baseline frequent needs --prior (the training split's V-STaR annotations)")
            _checked(args.prior, "vstar")
        write_baseline(args.anno, args.out, args.baseline, args.prior)
        if args.judge:
            score_results(args.out, args.judge, args.report, args.scoring)
        return 0
    mode = _mode(args)
    if mode == "run":
        from o3video.eval.vstar_run import VStarRunConfig, run_vstar

        _checked(args.anno, "vstar")
        run_vstar(VStarRunConfig(**_run_fields(args)))
        if args.judge:
            score_results(args.out, args.judge, args.report, args.scoring)
        return _answered_all(args.out)
    if args.judge is None:
        from o3video.eval.judges import judge_forms

        raise InputError(f"scoring needs --judge: {judge_forms()}")
    score_results(args.results, args.judge, args.report, args.scoring)
    return 0


def run_mcq_command(args: argparse.Namespace) -> int:
    mode = _mode(args)
    if mode == "run":
        from o3video.eval.mcq import MCQRunConfig, run_mcq

        _checked(args.anno, "mcq")
        run_mcq(MCQRunConfig(**_run_fields(args), tts=args.tts, n=args.n, faithfulness=args.faithfulness, seed=args.seed))
    from o3video.eval.scoring import score_mcq

    results = args.out if mode == "run" else args.results
    _report(score_mcq(results), results, args.report)
    return _answered_all(results) if mode == "run" else 0


def run_tg_command(args: argparse.Namespace) -> int:
    mode = _mode(args)
    if mode == "run":
        from o3video.eval.grounding import GroundingRunConfig, run_grounding

        _checked(args.anno, "tg")
        run_grounding(GroundingRunConfig(**_run_fields(args)))
    from o3video.eval.scoring import score_grounding

    results = args.out if mode == "run" else args.results
    _report(score_grounding(results), results, args.report)
    return _answered_all(results) if mode == "run" else 0
