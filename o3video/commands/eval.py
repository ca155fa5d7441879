"""`o3video eval vstar|mcq|tg`: run a model on a benchmark (resumable), and/or score a results file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HELP = "Evaluate on V-STaR, multiple-choice video QA (with test-time scaling) or temporal grounding."


def _common(parser: argparse.ArgumentParser, frames: int) -> None:
    parser.add_argument("--anno", type=Path, help="annotation file (JSON list or JSON lines)")
    parser.add_argument("--videos", type=Path, help="folder holding the videos (searched recursively)")
    parser.add_argument("--model", help="checkpoint path or hub id")
    parser.add_argument("--out", type=Path, help="results file (JSON lines), appended to and resumed")
    parser.add_argument("--frames", type=int, default=frames, help=f"frames sampled per video (default {frames})")
    parser.add_argument("--mode", choices=["exact", "keyframe"], default="exact")
    parser.add_argument("--max-pixels", type=int, default=128 * 28 * 28)
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--limit", type=int, help="only the first N records")
    parser.add_argument("--restart", action="store_true",
                        help="start --out over (a resume with other settings than the recorded ones is refused)")
    parser.add_argument("--results", type=Path, help="only score this results file")
    parser.add_argument("--report", type=Path, help="metrics JSON path (default: <results>.metrics.json, a .md beside it)")


def _run_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The `EvalRunConfig` fields that every evaluator's options share (`_common`)."""
    return {"anno": args.anno, "videos": args.videos, "model": args.model, "out": args.out, "num_frames": args.frames,
            "mode": args.mode, "max_pixels": args.max_pixels, "max_new_tokens": args.max_new_tokens,
            "limit": args.limit, "restart": args.restart}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    vstar = sub.add_parser("vstar", help="V-STaR: what / when / where in two chains; mAM, mLGM")
    _common(vstar, 16)
    vstar.add_argument("--judge", help="exact | hf:PATH | openai:BASE_URL:MODEL (scores after running when given)")
    vstar.add_argument("--baseline", choices=["whole"], help="instead of a model: the whole video as span, whole frame as box")
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
    return args._bench_run(args)


def _mode(args: argparse.Namespace) -> str | None:
    """'run' or 'score', or None after printing what is missing."""
    name = f"o3video eval {args.benchmark}"
    if any(getattr(args, n) is not None for n in ("anno", "videos", "model", "out")):
        missing = [f"--{n}" for n in ("anno", "videos", "model", "out") if getattr(args, n) is None]
        if missing:
            print(f"{name}: running a model needs {' '.join(missing)}", file=sys.stderr)
            return None
        return "run"
    if args.results is None:
        print(f"{name}: give --anno/--videos/--model/--out to run, or --results to score", file=sys.stderr)
        return None
    if not args.results.is_file():
        print(f"{name}: {args.results}: no such file", file=sys.stderr)
        return None
    return "score"


def _write_report(results: Path, report_path: Path | None, payload: dict, table: str) -> Path:
    report_path = report_path or results.with_suffix(".metrics.json")
    report_path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    report_path.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    return report_path


def score_results(results: Path, judge_spec: str, report_path: Path | None = None) -> Path:
    """Score a V-STaR results file; writes the metrics JSON and a Markdown table beside it."""
    from rich.progress import track

    from o3video.eval.judges import make_judge
    from o3video.eval.records_io import load_results
    from o3video.eval.vstar_metrics import markdown_table, report, score_record

    judge = make_judge(judge_spec)
    records = load_results(results)
    scores = [score_record(i, r, judge) for i, r in track(list(enumerate(records)), description="judging", transient=True)
              if not r.get("error")]
    errors = sum(1 for r in records if r.get("error"))
    rep = report(scores)
    table = markdown_table(rep, title=f"V-STaR — {results.name} (judge: {judge_spec})")
    if errors:
        table += f"\n{errors} record(s) failed before answering (missing or corrupt video) and are not scored.\n"
    payload = rep.to_dict() | {"results": str(results), "judge": judge_spec, "records_with_errors": errors}
    return _write_report(results, report_path, payload, table)


def run_vstar_command(args: argparse.Namespace) -> int:
    if args.baseline:
        if args.anno is None or args.out is None:
            print("o3video eval vstar: --baseline needs --anno and --out", file=sys.stderr)
            return 2
        from o3video.eval.vstar_run import write_baseline

        write_baseline(args.anno, args.out)
        if args.judge:
            score_results(args.out, args.judge, args.report)
        return 0
    mode = _mode(args)
    if mode is None:
        return 2
    if mode == "run":
        from o3video.eval.vstar_run import VStarRunConfig, run_vstar

        run_vstar(VStarRunConfig(**_run_fields(args)))
        if args.judge:
            score_results(args.out, args.judge, args.report)
        return 0
    if args.judge is None:
        print("o3video eval vstar: scoring needs --judge", file=sys.stderr)
        return 2
    score_results(args.results, args.judge, args.report)
    return 0


def score_mcq(results: Path, report_path: Path | None = None) -> Path:
    from o3video.eval.mcq import mcq_markdown, mcq_metrics
    from o3video.eval.records_io import load_results

    metrics = mcq_metrics(load_results(results))
    return _write_report(results, report_path, metrics | {"results": str(results)}, mcq_markdown(metrics, f"MCQ — {results.name}"))


def run_mcq_command(args: argparse.Namespace) -> int:
    mode = _mode(args)
    if mode is None:
        return 2
    if mode == "run":
        from o3video.eval.mcq import MCQRunConfig, run_mcq

        run_mcq(MCQRunConfig(**_run_fields(args), tts=args.tts, n=args.n, faithfulness=args.faithfulness, seed=args.seed))
    score_mcq(args.out if mode == "run" else args.results, args.report)
    return 0


def score_grounding(results: Path, report_path: Path | None = None) -> Path:
    from o3video.eval.grounding import grounding_markdown, grounding_metrics
    from o3video.eval.records_io import load_results

    metrics = grounding_metrics(load_results(results))
    table = grounding_markdown(metrics, f"Temporal grounding — {results.name}")
    return _write_report(results, report_path, metrics | {"results": str(results)}, table)


def run_tg_command(args: argparse.Namespace) -> int:
    mode = _mode(args)
    if mode is None:
        return 2
    if mode == "run":
        from o3video.eval.grounding import GroundingRunConfig, run_grounding

        run_grounding(GroundingRunConfig(**_run_fields(args)))
    score_grounding(args.out if mode == "run" else args.results, args.report)
    return 0
