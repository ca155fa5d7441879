"""`o3video score`: score completions against their samples with the paper's rewards."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, TextIO

# What each task's accuracy term is (the range a mean of it lies in), printed under the table: a temporal MCQ
# scores its letter plus the span's IoU, so its accuracy goes up to 2.
ACCURACY_NOTE = ("accuracy per task: MCQ the option letter (0-1); temporal QA the span's IoU (0-1); temporal QA (MCQ) "
                 "the letter plus the span's IoU (0-2); visual QA the box IoU (0-1); free-form QA ROUGE (0-1)")

HELP = "Score model completions with the paper's rewards (accuracy, thinking, format) per task."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, type=Path, help='JSON lines: {"completion": str, "sample": {...}}')
    parser.add_argument("--out", type=Path, help="write one JSON line of scores per input line here (default: stdout)")
    parser.add_argument("--progress", type=float, default=1.0, help="training progress p in [0, 1] for the adaptive σ")
    parser.add_argument("--sigma", type=_sigma, help="fixed σ > 0 for the temporal proximity (ablation; default adaptive)")
    parser.add_argument("--tau", type=_tau, default=3.0, help="temporal gate τ ≥ 0 in seconds (default 3)")
    parser.add_argument("--no-gating", action="store_true", help="turn the temporal gate off (ablation, τ = ∞)")


def _sigma(text: str) -> float:
    from o3video.rewards import check_sigma

    try:
        return check_sigma(float(text))  # type: ignore[return-value]
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _tau(text: str) -> float:
    """τ ≥ 0 seconds; inf is allowed (no gate), NaN is not (it would silently turn the gate off)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"tau: must be a number ≥ 0 (seconds), got {text!r}")
    return value


def _score_line(line: str, args: argparse.Namespace) -> tuple[str, dict[str, float]]:
    from o3video.rewards import score

    try:
        entry = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON ({err.msg} at column {err.colno})") from None
    except RecursionError:
        raise ValueError("not readable JSON (nested too deeply)") from None
    except ValueError as err:  # an int past Python's digit limit
        raise ValueError(f"not readable JSON ({err})") from None
    if not isinstance(entry, dict) or not isinstance(entry.get("completion"), str) or not isinstance(entry.get("sample"), dict):
        raise ValueError('expected {"completion": "<text>", "sample": {...}}')
    tau = None if args.no_gating else args.tau
    scores = score(entry["completion"], entry["sample"], args.progress, sigma=args.sigma, tau=tau)
    return str(entry["sample"]["task"]), scores


def _print_summary(per_task: dict[str, list[dict[str, float]]], failed: int, total: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from o3video.rewards import TERMS

    table = Table(title=f"Mean rewards per task ({total - failed} scored, {failed} failed)")
    table.add_column("task")
    table.add_column("n", justify="right")
    for term in (*TERMS, "total"):
        table.add_column(term, justify="right")
    for task, rows in sorted(per_task.items()):
        means = [sum(r[t] for r in rows) / len(rows) for t in (*TERMS, "total")]
        table.add_row(task, str(len(rows)), *(f"{m:.3f}" for m in means))
    console = Console(stderr=True)
    console.print(table)
    console.print(f"[dim]{ACCURACY_NOTE}")


def run(args: argparse.Namespace) -> int:
    from o3video.commands.option_checks import Bound, check_bounds
    from o3video.errors import InputError
    from o3video.io import check_output_file, json_line, read_text

    check_bounds(args, (Bound("--progress", 0, 1),))
    if not read_text(args.input).strip():  # missing, a folder, not UTF-8 (naming the line): one line, before any output
        raise InputError(f"{args.input}: no lines to score (an empty file)")
    if args.out:
        check_output_file(args.out, "--out")
    per_task: dict[str, list[dict[str, float]]] = defaultdict(list)
    failed = total = 0
    out: TextIO = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    try:
        with args.input.open(encoding="utf-8") as lines:
            for line_no, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                total += 1
                result: dict[str, Any] = {"line": line_no}
                try:
                    task, scores = _score_line(line, args)
                except ValueError as err:  # includes RewardInputError
                    failed += 1
                    print(f"{args.input}:{line_no}: {err}", file=sys.stderr)
                    result["error"] = str(err)
                else:
                    per_task[task].append(scores)
                    result |= {"task": task, **scores}
                out.write(json_line(result))
                out.flush()
    finally:
        if args.out:
            out.close()
    _print_summary(per_task, failed, total)
    return 1 if failed else 0
