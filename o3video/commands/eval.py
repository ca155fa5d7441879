"""`o3video eval vstar`: run a model on V-STaR-format annotations, and/or score a results file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "Evaluate: V-STaR (five prompts per record; every metric, by domain and by video length)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    vstar = sub.add_parser("vstar", help="V-STaR: run a model (--anno/--videos/--model/--out) and/or score (--results/--judge)")
    vstar.add_argument("--anno", type=Path, help="V-STaR annotation file (JSON list or JSON lines)")
    vstar.add_argument("--videos", type=Path, help="folder holding <vid>.mp4 (searched recursively)")
    vstar.add_argument("--model", help="checkpoint path or hub id")
    vstar.add_argument("--out", type=Path, help="results file (JSON lines), appended to and resumed")
    vstar.add_argument("--frames", type=int, default=16, help="frames sampled per video (default 16)")
    vstar.add_argument("--mode", choices=["exact", "keyframe"], default="exact")
    vstar.add_argument("--max-pixels", type=int, default=128 * 28 * 28)
    vstar.add_argument("--max-new-tokens", type=int, default=512)
    vstar.add_argument("--limit", type=int, help="only the first N records")
    vstar.add_argument("--baseline", choices=["whole"], help="instead of a model: the whole video as span, whole frame as box")
    vstar.add_argument("--results", type=Path, help="score this results file (ours, or the benchmark's JSON list)")
    vstar.add_argument("--judge", help="exact | hf:PATH | openai:BASE_URL:MODEL (scores after running when given)")
    vstar.add_argument("--report", type=Path, help="metrics JSON path (default: <results>.metrics.json, with a .md beside it)")
    vstar.set_defaults(_bench_run=run_vstar_command)


def run(args: argparse.Namespace) -> int:
    return args._bench_run(args)


def score_results(results: Path, judge_spec: str, report_path: Path | None = None) -> Path:
    """Score a results file; writes the metrics JSON and a Markdown table beside it; returns the JSON path."""
    from rich.progress import track

    from o3video.eval.judges import make_judge
    from o3video.eval.vstar_metrics import load_results, markdown_table, report, score_record

    judge = make_judge(judge_spec)
    records = load_results(results)
    scores = [score_record(i, r, judge) for i, r in track(list(enumerate(records)), description="judging", transient=True)
              if not r.get("error")]
    errors = sum(1 for r in records if r.get("error"))
    rep = report(scores)
    report_path = report_path or results.with_suffix(".metrics.json")
    payload = rep.to_dict() | {"results": str(results), "judge": judge_spec, "records_with_errors": errors}
    report_path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    table = markdown_table(rep, title=f"V-STaR — {results.name} (judge: {judge_spec})")
    if errors:
        table += f"\n{errors} record(s) failed before answering (missing or corrupt video) and are not scored.\n"
    report_path.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table)
    return report_path


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
    running = any(v is not None for v in (args.anno, args.videos, args.model, args.out))
    if running:
        missing = [f"--{n}" for n in ("anno", "videos", "model", "out") if getattr(args, n) is None]
        if missing:
            print(f"o3video eval vstar: running a model needs {' '.join(missing)}", file=sys.stderr)
            return 2
        from o3video.eval.vstar_run import VStarRunConfig, run_vstar

        cfg = VStarRunConfig(anno=args.anno, videos=args.videos, model=args.model, out=args.out, num_frames=args.frames,
                             mode=args.mode, max_pixels=args.max_pixels, max_new_tokens=args.max_new_tokens, limit=args.limit)
        run_vstar(cfg)
        if args.judge:
            score_results(args.out, args.judge, args.report)
        return 0
    if args.results is None or args.judge is None:
        print("o3video eval vstar: give --anno/--videos/--model/--out to run, or --results and --judge to score", file=sys.stderr)
        return 2
    if not args.results.is_file():
        print(f"o3video eval vstar: {args.results}: no such file", file=sys.stderr)
        return 2
    score_results(args.results, args.judge, args.report)
    return 0
