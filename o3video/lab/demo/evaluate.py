"""One evaluation of the demo: V-STaR on the held-out synthetic split, plus the format reward of every answer.

The V-STaR run is the project's (`o3video.eval.vstar_run`: five prompts per record through the shared
prompt builder, greedy, resumable JSONL); its metrics are `o3video.eval.vstar_metrics` with the
`exact` judge (closed-vocabulary synthetic answers). The format reward `r_fmt` (docs/design.md §3) is scored
on all five answers of every record, each with the task its prompt was asked as — the "format on the
test split" the demo's bar is about.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from o3video.io import atomic_write_text


@dataclass
class EvalSummary:
    name: str
    n: int
    what: float
    when_1: float  # chain 1 mean tIoU
    where_1: float  # chain 1 mean vIoU
    where_2: float
    when_2: float
    am_1: float
    am_2: float
    lgm_1: float
    lgm_2: float
    mAM: float
    mLGM: float
    format: float  # mean r_fmt over all answers
    format_by_kind: dict[str, float] = field(default_factory=dict)
    answer_shape: dict[str, float] = field(default_factory=dict)
    per_record: dict[str, dict[str, float]] = field(default_factory=dict)  # record key -> what / when_1 / ...
    seconds: float = 0.0
    results: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_scores(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """r_fmt of each answer, grouped by V-STaR prompt kind."""
    from o3video.data.vstar import completion_of, vstar_prompts
    from o3video.grammar import parse
    from o3video.rewards import format_reward

    scores: dict[str, list[float]] = {}
    for row in rows:
        if row.get("error"):
            continue
        for prompt in vstar_prompts(row):
            scores.setdefault(prompt.kind, []).append(format_reward(parse(completion_of(row, prompt.kind)), prompt.task))
    return scores


def answer_shape(rows: list[dict[str, Any]]) -> dict[str, float]:
    """What the answers look like, whatever their scores: mean answered span length (s), share of *when*
    answers with a readable span, share of *where* boxes that are proper boxes (x2 > x1, y2 > y1), and
    mean boxes per *where* answer. Shows what training changed even where the metrics cannot."""
    from o3video.data.vstar import (
        PARSED_FIELD,
        RAW_FIELD,
        answered_span,
        parse_spatial_answer,
    )

    # the parsed field first, as scoring reads it (answers that ignore the video write only that), else the raw text
    spans = [answered_span(r.get(PARSED_FIELD[k]), r.get(RAW_FIELD[k])) for r in rows for k in ("when_1", "when_2")]
    read = [s for s in spans if len(s) == 2]
    boxes = [parse_spatial_answer(r.get(PARSED_FIELD[k])) or parse_spatial_answer(r.get(RAW_FIELD[k]) or "")
             for r in rows for k in ("where_1", "where_2")]
    flat = [b for answer in boxes for b in answer.values()]
    return {
        "span_readable": len(read) / len(spans) if spans else 0.0,
        "span_length_s": sum(e - s for s, e in read) / len(read) if read else 0.0,
        "boxes_per_where": len(flat) / len(boxes) if boxes else 0.0,
        "proper_boxes": sum(b[2] > b[0] and b[3] > b[1] for b in flat) / len(flat) if flat else 0.0,
    }


def record_metrics(score: Any) -> dict[str, float]:
    """One record's what / when / where scores (a `vstar_metrics.RecordScore`), for paired comparisons."""
    return {"what": float((score.judge_score or 0) >= 2), "when_1": score.tiou[0], "where_1": score.viou[0],
            "where_2": score.viou[1], "when_2": score.tiou[1]}


def summarise(name: str, results: Path, seconds: float = 0.0) -> EvalSummary:
    """Score a V-STaR results file (`o3video.eval.scoring.score_vstar`, exact judge) into the demo's table row."""
    from o3video.eval.benchmark_runner import load_results
    from o3video.eval.scoring import score_vstar

    rows = load_results(results)
    score = score_vstar(results, "exact", progress=False)
    overall = score.report.overall
    formats = format_scores(rows)
    every = [s for kind in formats.values() for s in kind]
    return EvalSummary(
        name=name,
        n=overall.n,
        what=overall.what_accuracy,
        when_1=overall.chain1.tiou_mean,
        where_1=overall.chain1.viou_mean,
        where_2=overall.chain2.viou_mean,
        when_2=overall.chain2.tiou_mean,
        am_1=overall.chain1.am,
        am_2=overall.chain2.am,
        lgm_1=overall.chain1.lgm,
        lgm_2=overall.chain2.lgm,
        mAM=overall.mAM,
        mLGM=overall.mLGM,
        format=sum(every) / len(every) if every else 0.0,
        format_by_kind={k: sum(v) / len(v) for k, v in formats.items()},
        answer_shape=answer_shape([r for r in rows if not r.get("error")]),
        per_record={key: record_metrics(s) for key, s in score.scores},
        seconds=seconds,
        results=str(results),
    )


def evaluate(
    name: str,
    model: Any,
    processor: Any,
    *,
    anno: Path,
    videos: Path,
    out: Path,
    num_frames: int,
    max_new_tokens: int,
    cache_dir: Path | None,
    limit: int | None = None,
    blank_frames: bool = False,
) -> EvalSummary:
    """Run (or resume) V-STaR for one model (shown blank frames for the blind model) and summarise it; the
    summary is also written as JSON."""
    from o3video.answer import LocalModel
    from o3video.eval.vstar_run import VStarRunConfig, run_vstar

    config = VStarRunConfig(anno=anno, videos=videos, model=name, out=out, num_frames=num_frames,
                            max_new_tokens=max_new_tokens, cache_dir=cache_dir, limit=limit, blank_frames=blank_frames)
    started = time.perf_counter()
    model.eval()
    run_vstar(config, model=LocalModel(model, processor, name))
    summary = summarise(name, out, time.perf_counter() - started)
    atomic_write_text(out.with_suffix(".summary.json"), json.dumps(summary.to_dict(), indent=2))
    return summary


__all__ = ["EvalSummary", "answer_shape", "evaluate", "format_scores", "record_metrics", "summarise"]
