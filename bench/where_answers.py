"""Do a model's V-STaR *where* answers use the boxes its reasoning cites?

For each results file (`o3video eval vstar` / the demo's `eval/*.jsonl`) and each chain's *where* prompt:
- `answer vIoU`: what V-STaR scores, the answer's JSON boxes;
- `cited vIoU`: what the answer would score had its JSON listed the boxes its `<think>` cites, each at the whole
  second nearest its time (`o3video.eval.vstar_metrics.where_citations`);
- `copied`: the share of the answer's boxes that repeat a box the reasoning cites at that second.

A model whose cited vIoU beats its answer vIoU localises but does not carry it into its answer.

    python bench/where_answers.py runs/demo/eval/sft.jsonl runs/demo/eval/gspo.jsonl [--json]

Results on the demo's models: docs/experiments/where-answers.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from o3video.eval.benchmark_runner import load_results
from o3video.eval.vstar_metrics import where_citations
from o3video.tables import markdown_table

KINDS = ("where_1", "where_2")


def where_answers(path: Path) -> dict[str, dict[str, Any]]:
    """Per *where* prompt: records read, and the mean answer vIoU, cited vIoU and copied share."""
    records = load_results(path)
    out = {}
    for kind in KINDS:
        found = [c for c in (where_citations(r, kind) for r in records) if c is not None]
        out[kind] = {"n": len(found), **{name: statistics.fmean(getattr(c, name) for c in found) if found else 0.0
                                           for name in ("answer_viou", "cited_viou", "copied")}}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="V-STaR results files (JSON lines or the benchmark's JSON)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    found = {}
    for path in args.results:
        try:
            found[str(path)] = where_answers(path)
        except (OSError, ValueError) as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(found, indent=1))
        return 0
    rows = [[name, kind, str(v["n"]), f"{100 * v['answer_viou']:.1f}", f"{100 * v['cited_viou']:.1f}",
             f"{100 * v['copied']:.0f} %"] for name, kinds in found.items() for kind, v in kinds.items()]
    print(markdown_table(("results", "prompt", "n", "answer vIoU", "cited vIoU", "copied"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
