"""`o3video demo --seeds N`: the demo for N seeds (world, model initialisation and training order), then
every metric as mean ± sd across seeds — the spread a claim that training helps must exceed.

Each seed runs as an ordinary demo in `OUT/seed-K` (resumable like any demo); `OUT/report.md` and
`report.html` hold the aggregate: the V-STaR table as mean ± sd, each model's margin over its blind
twin with its seed-to-seed sd, and GSPO's mLGM gain over SFT against twice its sd.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from o3video.lab.demo.evaluate import EvalSummary, summarise
from o3video.lab.demo.run import DemoSettings, run_demo
from o3video.lab.demo.seeing import METRICS
from o3video.stats import effect_sign, mean_sd
from o3video.tables import markdown_table

# Results file of each row, as every demo run writes them (eval/KEY.jsonl).
ROWS = (("base", "base (untrained)"), ("sft", "SFT"), ("gspo", "SFT+GSPO"), ("blind_sft", "blind SFT"),
        ("blind_gspo", "blind SFT+GSPO"), ("baseline_whole", "ignoring video: whole span, whole frame"),
        ("baseline_centre", "ignoring video: middle half, centre box"),
        ("baseline_frequent", "ignoring video: most frequent training answer"))
COLUMNS = (*METRICS, ("mAM", "mAM"), ("mLGM", "mLGM"))


def _cell(values: list[float]) -> str:
    mean, sd = mean_sd(values)
    return f"{100 * mean:.1f} ± {100 * sd:.1f}"


def seed_settings(settings: DemoSettings, k: int) -> DemoSettings:
    return replace(settings, out=Path(settings.out) / f"seed-{k}", seed=settings.seed + k)


def mcq_markdown(mcq: list[dict]) -> str:
    """Accuracy (greedy and both votes), responses citing evidence, and the faithfulness probe's drops, as
    mean ± sd across the seeds' `mcq_gspo.summary.json`."""
    rows = [[label, _cell([m["accuracy"][key] for m in mcq])] for key, label in
            (("greedy", "greedy"), ("majority", "majority vote"), ("confidence", "confidence-aware vote"))]
    rows.append(["sampled responses citing evidence",
                 _cell([m["evidence"]["with_evidence"] / max(1, m["evidence"]["responses"]) for m in mcq])])
    for key, label in (("drop_evidence_removed", "accuracy drop without the cited frames"),
                       ("drop_random_removed", "accuracy drop without as many random frames")):
        rows.append([label, _cell([m["faithfulness"][key] for m in mcq])])
    return markdown_table(["SFT+GSPO", "percent"], rows, align="lr")


def aggregate_markdown(runs: list[dict[str, EvalSummary]], seeds: list[int], mcq: list[dict] | None = None) -> str:
    """The aggregate report of per-seed summaries (`runs[i][key]`; `mcq`: each seed's MCQ summary)."""
    parts = [f"# o3video demo across {len(runs)} seeds ({', '.join(map(str, seeds))})", "",
             "Every cell is mean ± sd across seeds (percent), each seed a full demo run in `seed-K/`.", "",
             "## V-STaR on the held-out synthetic split", ""]
    rows = [[name, *(_cell([getattr(run[key], m) for run in runs]) for m, _ in COLUMNS)]
            for key, name in ROWS if all(key in run for run in runs)]
    parts.append(markdown_table(["model", *(name for _, name in COLUMNS)], rows))
    parts += ["", "## Margin over the blind twin (model − blind, same seed)", ""]
    margins = []
    for model, blind in (("sft", "blind_sft"), ("gspo", "blind_gspo")):
        for metric, label in COLUMNS:
            mean, sd, sign = effect_sign([getattr(run[model], metric) - getattr(run[blind], metric) for run in runs])
            verdict = {1: "sees", -1: "the blind twin scores higher", 0: "cannot tell"}[sign]
            margins.append([dict(ROWS)[model], label, f"{100 * mean:+.1f} ± {100 * sd:.1f}", verdict])
    parts.append(markdown_table(["model", "metric", "margin", "verdict"], margins, align="llrl"))
    if mcq:
        parts += ["", "## Synthetic multiple choice (SFT+GSPO, 4 options)", "", mcq_markdown(mcq)]
    mean, sd, sign = effect_sign([run["gspo"].mLGM - run["sft"].mLGM for run in runs])
    verdict = {1: "larger than twice its sd.", -1: "a loss larger than twice its sd: GSPO lowered mLGM.",
               0: "not larger than twice its sd — cannot tell."}[sign]
    parts += ["", "## GSPO over SFT", "", f"mLGM gain {100 * mean:+.2f} ± {100 * sd:.2f} (sd across seeds): {verdict}", ""]
    return "\n".join(parts) + "\n"


def run_seeds(settings: DemoSettings, seeds: int, *, fresh: bool = False) -> Path:
    """Run (or finish) the demo for `seeds` seeds and write the aggregate report; returns report.md."""
    from o3video.io import atomic_write_text
    from o3video.lab.demo.report import markdown_html

    runs, used, mcq = [], [], []
    for k in range(seeds):
        one = seed_settings(settings, k)
        run_demo(one, fresh=fresh)
        evals = Path(one.out) / "eval"
        runs.append({key: summarise(name, evals / f"{key}.jsonl") for key, name in ROWS if (evals / f"{key}.jsonl").is_file()})
        used.append(one.seed)
        if (evals / "mcq_gspo.summary.json").is_file():
            mcq.append(json.loads((evals / "mcq_gspo.summary.json").read_text()))
    text = aggregate_markdown(runs, used, mcq if len(mcq) == len(runs) else None)
    out = Path(settings.out)
    atomic_write_text(out / "report.html", f"<!doctype html><meta charset='utf-8'><body>{markdown_html(text)}</body>")
    return atomic_write_text(out / "report.md", text)


__all__ = ["aggregate_markdown", "run_seeds", "seed_settings"]
