"""Temporal grounding evaluation (TVGBench / Charades-STA style: a video, a query, a span): mean IoU and
R1@0.3/0.5/0.7. Resumable like every evaluator here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.answer import VideoModel
from o3video.data.vstar import parse_temporal_answer
from o3video.eval.benchmark_runner import EvalRunConfig, run_benchmark, sample_video
from o3video.geometry import temporal_iou
from o3video.grammar import parse_span
from o3video.tables import markdown_table
from o3video.tasks import Task

THRESHOLDS = (0.3, 0.5, 0.7)


@dataclass
class GroundingRunConfig(EvalRunConfig):
    """Temporal-grounding runs use the common settings."""


def grounding_query(record: dict[str, Any]) -> str:
    for key in ("query", "sentence", "question", "caption"):
        if record.get(key):
            return str(record[key])
    raise KeyError("record has no query, sentence or question")


def grounding_truth(record: dict[str, Any]) -> tuple[float, float] | None:
    """The ground-truth span: `span`, `timestamp(s)`, or a `"[S, E]"` answer."""
    for key in ("span", "timestamp", "timestamps", "answer"):
        if record.get(key) is not None:
            span = parse_span(record[key])
            if span is not None:
                return span
    return None


def ask_grounding(model: VideoModel, index: int, record: dict[str, Any], video: Path, cfg: EvalRunConfig) -> dict[str, Any]:
    from o3video.answer import Question, ask_frames

    sampled = sample_video(video, cfg, model)
    (completion,) = ask_frames(model, sampled.frames, [Question(grounding_query(record), Task.TEMPORAL)],
                               duration=sampled.duration, max_new_tokens=cfg.max_new_tokens)
    return {"completion": completion, "predicted_span": parse_temporal_answer(completion)}


def run_grounding(cfg: EvalRunConfig, *, model: VideoModel | None = None) -> Path:
    return run_benchmark(cfg, ask_grounding, description=f"grounding {cfg.anno.name}", model=model)


def predicted_span(record: dict[str, Any]) -> list[float]:
    """The span a results record answered (`predicted_span`, else re-read from its completion); [] if none."""
    return record.get("predicted_span") or parse_temporal_answer(record.get("completion", ""))


def record_iou(record: dict[str, Any]) -> float:
    """One answered record's IoU of its predicted span with the ground truth (0 without a span)."""
    return temporal_iou(predicted_span(record), grounding_truth(record))


def grounding_metrics(results: list[dict[str, Any]]) -> dict[str, Any]:
    """mean IoU and R1@0.3/0.5/0.7 over the records that were answered (a missing span scores 0)."""
    scored = [r for r in results if not r.get("error")]
    ious = [record_iou(r) for r in scored]
    n = len(ious)
    return {"n": n, "errors": len(results) - n, "mean_iou": sum(ious) / n if n else 0.0,
            **{f"R1@{t}": (sum(i >= t for i in ious) / n if n else 0.0) for t in THRESHOLDS}}


def grounding_markdown(metrics: dict[str, Any], title: str) -> str:
    row = [metrics["n"], f"{100 * metrics['mean_iou']:.1f}", *(f"{100 * metrics[f'R1@{t}']:.1f}" for t in THRESHOLDS)]
    table = markdown_table(["n", "mean IoU", *(f"R1@{t}" for t in THRESHOLDS)], [row], align="rrrrr")
    return f"### {title}\n\n{table}\n\n{metrics['errors']} record(s) failed (missing or corrupt video).\n"
