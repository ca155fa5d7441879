"""A results file of `o3video eval vstar|mcq|tg`, scored record by record by the evaluators' own scorers
(`o3video.eval.scoring`, `vstar_metrics`, `vstar_official`, `mcq`, `grounding`), so that a record's metrics
in the app are the scorer's, in any `--scoring` mode.

Optionally checked against its annotation file: every results record must be one of its records (same key,
same question), so a results file from another annotation set is refused with a message naming the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o3video.errors import InputError

BENCHMARKS = ("vstar", "mcq", "tg")


@dataclass(frozen=True)
class RecordMetrics:
    """One record's metrics as its benchmark's scorer computed them (None: not that benchmark's, or not scored)."""

    position: int  # 0-based place in the results file
    key: str
    task: str
    domain: str
    length: str
    error: str | None = None  # the record failed before answering (missing or corrupt video)
    judge_score: int | None = None  # V-STaR: the judge's 0-3 (official scorers: as read, -1 unreadable)
    tiou: tuple[float, float] | None = None  # V-STaR chains 1 and 2; temporal grounding: (IoU, IoU)
    viou: tuple[float, float] | None = None
    ap: tuple[list[float], list[float]] | None = None
    hits: dict[str, bool] = field(default_factory=dict)  # MCQ: each prediction kind right or not
    judge_error: str | None = None

    @property
    def scored(self) -> bool:
        return self.error is None and (self.tiou is not None or bool(self.hits))


@dataclass
class ScoredResults:
    path: Path
    benchmark: str
    scoring: str
    records: list[dict[str, Any]]
    metrics: list[RecordMetrics]  # one per record, in file order
    summary: str  # the scorer's Markdown report

    def position_of(self, key: str) -> int:
        """The position of the record with `key` (its results key, or its position as text)."""
        for metrics in self.metrics:
            if metrics.key == key:
                return metrics.position
        raise InputError(f"{self.path}: no record with key {key!r}")


def detect_benchmark(records: list[dict[str, Any]], path: Path) -> str:
    """vstar, mcq or tg, from the fields the evaluators write (or, for failed records, read)."""
    for record in records:
        if "temporal_question" in record or "answer_vqa" in record:
            return "vstar"
        if "predictions" in record or "options" in record or "candidates" in record:
            return "mcq"
        if "predicted_span" in record:
            return "tg"
    raise InputError(f"{path}: not a results file of o3video eval vstar, mcq or tg (no record has their fields)")


def _base(position: int, record: dict[str, Any], benchmark: str) -> dict[str, Any]:
    from o3video.data.vstar import video_length
    from o3video.eval.mcq import category
    from o3video.eval.vstar_metrics import length_bucket

    length = length_bucket(video_length(record)) if benchmark == "vstar" else "-"
    return {"position": position, "key": str(record.get("key", position)),
            "task": str(record.get("task") or record.get("task_type") or benchmark),
            "domain": str(record.get("domain", "unknown")) if benchmark == "vstar" else category(record),
            "length": length, "error": record.get("error")}


def _vstar_metrics(path: Path, records: list[dict[str, Any]], judge: str,
                   scoring: str) -> tuple[list[RecordMetrics], str]:
    from o3video.eval.scoring import OfficialScore, score_vstar

    scored = score_vstar(path, judge, scoring, progress=False)
    by_position: dict[int, dict[str, Any]] = {}
    if isinstance(scored, OfficialScore):
        for rec in scored.report.records:
            by_position[rec.index] = {"judge_score": rec.score, "tiou": rec.tiou, "viou": rec.viou, "ap": rec.ap} \
                if rec.judged else {}
    else:
        for _, s in scored.scores:
            by_position[s.index] = {"judge_score": s.judge_score, "tiou": s.tiou, "viou": s.viou, "ap": s.ap,
                                    "judge_error": s.judge_error}
    metrics = [RecordMetrics(**_base(i, r, "vstar"), **by_position.get(i, {})) for i, r in enumerate(records)]
    return metrics, scored.markdown()


def _mcq_metrics(path: Path, records: list[dict[str, Any]]) -> tuple[list[RecordMetrics], str]:
    from o3video.eval.mcq import prediction_hit
    from o3video.eval.scoring import score_mcq

    report = score_mcq(path)
    metrics = [RecordMetrics(**_base(i, r, "mcq"),
                             hits={} if r.get("error") else {k: prediction_hit(r, k) for k in r.get("predictions", {})})
               for i, r in enumerate(records)]
    return metrics, report.markdown()


def _grounding_metrics(path: Path, records: list[dict[str, Any]]) -> tuple[list[RecordMetrics], str]:
    from o3video.eval.grounding import record_iou
    from o3video.eval.scoring import score_grounding

    report = score_grounding(path)
    metrics = []
    for i, r in enumerate(records):
        iou = None if r.get("error") else record_iou(r)
        metrics.append(RecordMetrics(**_base(i, r, "tg"), tiou=None if iou is None else (iou, iou)))
    return metrics, report.markdown()


def check_against_annotations(records: list[dict[str, Any]], path: Path, anno: Path) -> None:
    """Every results record is a record of `anno`: its key is `record_key` of an annotation record with the
    same question. The first that is not is an `InputError` naming both files and the record."""
    from o3video.eval.benchmark_runner import load_annotations, record_key

    known = {record_key(i, r): r for i, r in enumerate(load_annotations(anno))}
    for position, record in enumerate(records):
        key = str(record.get("key", ""))
        source = known.get(key)
        if source is None or source.get("question") != record.get("question"):
            raise InputError(f"{path}: record {position} (key {key!r}) is not in the annotations {anno}: the results "
                             "file comes from another annotation set")


def score_results(path: str | Path, *, judge: str = "exact", scoring: str = "o3video", benchmark: str | None = None,
                  anno: str | Path | None = None) -> ScoredResults:
    """Read, check and score a results file; `benchmark` None tells it from the records' fields."""
    from o3video.eval.benchmark_runner import load_results
    from o3video.eval.scoring import SCORINGS

    path = Path(path)
    if scoring not in SCORINGS:
        raise InputError(f"scoring: one of {', '.join(SCORINGS)}, got {scoring!r}")
    records = load_results(path)
    if not records:
        raise InputError(f"{path}: no records")
    if not all(isinstance(r, dict) for r in records):
        bad = next(i for i, r in enumerate(records) if not isinstance(r, dict))
        raise InputError(f"{path}: record {bad}: must be a JSON object")
    benchmark = benchmark or detect_benchmark(records, path)
    if anno is not None:
        check_against_annotations(records, path, Path(anno))
    if benchmark == "vstar":
        metrics, summary = _vstar_metrics(path, records, judge, scoring)
    elif benchmark == "mcq":
        metrics, summary = _mcq_metrics(path, records)
    elif benchmark == "tg":
        metrics, summary = _grounding_metrics(path, records)
    else:
        raise InputError(f"benchmark: one of {', '.join(BENCHMARKS)}, got {benchmark!r}")
    return ScoredResults(path, benchmark, scoring, records, metrics, summary)


__all__ = ["BENCHMARKS", "RecordMetrics", "ScoredResults", "check_against_annotations", "detect_benchmark",
           "score_results"]
