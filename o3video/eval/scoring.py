"""Scoring a results file into a report object: its metrics (written as JSON) and its Markdown (printed by
`o3video eval` and written beside the JSON). V-STaR (`score_vstar`, the project's protocol or an official
scorer's), multiple-choice QA (`score_mcq`) and temporal grounding (`score_grounding`); the demo reads
V-STaR through `score_vstar` too."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from o3video.io import atomic_write_text

if TYPE_CHECKING:  # the command line reads SCORINGS before any scoring is asked for
    from o3video.eval.vstar_metrics import RecordScore, VStarReport
    from o3video.eval.vstar_official import OfficialReport

SCORINGS = ("o3video", "vstar", "open-o3")


class Report(Protocol):
    def markdown(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


def checked_records(path: Path, benchmark: str, of_results: bool = False) -> list[dict[str, Any]]:
    """The records of an annotation (or results) file, every one checked for the fields `benchmark`
    (vstar | mcq | tg) reads; results records that failed before answering are not."""
    from o3video.eval.annotations import check_records, grounding_problems, mcq_problems, vstar_problems

    problems = {"vstar": vstar_problems, "mcq": mcq_problems, "tg": grounding_problems}[benchmark]
    skip = (lambda record: bool(record.get("error"))) if of_results else (lambda record: False)
    return check_records(path, problems, skip=skip)


@dataclass
class VStarScore:
    """A V-STaR results file scored with the project's protocol; `scores` per record key, in file order."""

    title: str
    report: VStarReport
    scores: list[tuple[str, RecordScore]]
    meta: dict[str, Any]  # results, judge, scoring
    errors: int  # records that failed before answering (not scored)

    def markdown(self) -> str:
        text = self.report.markdown(self.title)
        if self.errors:
            text += f"\n{self.errors} record(s) failed before answering (missing or corrupt video) and are not scored.\n"
        return text

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict() | self.meta | {"records_with_errors": self.errors}


@dataclass
class OfficialScore:
    """A V-STaR results file scored as an official script scores it (`o3video.eval.vstar_official`)."""

    title: str
    report: OfficialReport
    meta: dict[str, Any]

    def markdown(self) -> str:
        from o3video.eval.vstar_official import official_markdown

        return official_markdown(self.report, self.title)

    def to_dict(self) -> dict[str, Any]:
        from o3video.io import finite

        return finite(self.report.to_dict() | self.meta)


@dataclass
class MetricsReport:
    """An MCQ or temporal-grounding results file scored: the evaluator's metrics dict and its table."""

    kind: str  # mcq | tg
    title: str
    metrics: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        from o3video.eval.grounding import grounding_markdown
        from o3video.eval.mcq import mcq_markdown

        return (mcq_markdown if self.kind == "mcq" else grounding_markdown)(self.metrics, self.title)

    def to_dict(self) -> dict[str, Any]:
        return self.metrics | self.meta


def score_vstar(results: Path, judge_spec: str, scoring: str = "o3video", *, progress: bool = True) -> VStarScore | OfficialScore:
    """Score a V-STaR results file. `scoring`: `o3video` (the project's protocol), or `vstar` / `open-o3` to
    reproduce an official scorer (docs/scoring.md lists where they differ)."""
    from o3video.eval.judges import make_judge, official_rating

    records = checked_records(results, "vstar", of_results=True)
    title = f"V-STaR — {results.name} (judge: {judge_spec})"
    meta = {"results": str(results), "judge": judge_spec, "scoring": scoring}
    if scoring != "o3video":
        from o3video.eval.vstar_official import official_report

        # every record, failed ones included, as the official script reads the file and the judge's reply
        rep = official_report(records, make_judge(judge_spec, rating=official_rating), scoring, where=f"{results}: ")
        return OfficialScore(title, rep, meta)
    from o3video.eval.vstar_metrics import report, score_record
    from o3video.progress import ProgressBar

    judge = make_judge(judge_spec)
    answered = [(i, r) for i, r in enumerate(records) if not r.get("error")]
    scores = []
    with ProgressBar(len(answered), desc="judging", unit="record", disable=not progress, transient=True) as bar:
        for i, r in answered:
            scores.append((str(r.get("key", i)), score_record(i, r, judge)))
            bar.update()
    return VStarScore(title, report([s for _, s in scores]), scores, meta, errors=len(records) - len(scores))


def score_mcq(results: Path) -> MetricsReport:
    from o3video.eval.mcq import mcq_metrics

    metrics = mcq_metrics(checked_records(results, "mcq", of_results=True))
    return MetricsReport("mcq", f"MCQ — {results.name}", metrics, {"results": str(results)})


def score_grounding(results: Path) -> MetricsReport:
    from o3video.eval.grounding import grounding_metrics

    metrics = grounding_metrics(checked_records(results, "tg", of_results=True))
    return MetricsReport("tg", f"Temporal grounding — {results.name}", metrics, {"results": str(results)})


def report_path_of(results: Path, scoring: str | None = None) -> Path:
    """Where a results file's metrics go by default: `<results>.metrics.json`, or `<results>.<scoring>.metrics.json`
    under an official V-STaR protocol, so that scoring one file under each protocol keeps every report."""
    middle = "" if scoring in (None, "o3video") else f".{scoring}"
    return results.with_suffix(f"{middle}.metrics.json")


def write_report(report: Report, results: Path, report_path: Path | None = None) -> Path:
    """The metrics JSON (default `report_path_of`) and the Markdown beside it (`.md`); returns the JSON's path. A
    metrics file of another scoring protocol is not overwritten (an `InputError`)."""
    from o3video.errors import InputError

    metrics = report.to_dict()
    report_path = report_path or report_path_of(results, metrics.get("scoring"))
    earlier, scoring = _scoring_of(report_path), metrics.get("scoring")
    if earlier is not None and earlier != scoring:
        raise InputError(f"--report {report_path}: holds the metrics of --scoring {earlier}, not {scoring}; "
                         f"name another --report (or leave it out for {report_path_of(results, scoring)})")
    atomic_write_text(report_path, json.dumps(metrics, indent=2))
    atomic_write_text(report_path.with_suffix(".md"), report.markdown())
    return report_path


def _scoring_of(report_path: Path) -> str | None:
    """The scoring protocol an existing metrics file was written under (None: no such file, or not one of ours)."""
    try:
        earlier = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return earlier.get("scoring") if isinstance(earlier, dict) else None


__all__ = ["SCORINGS", "MetricsReport", "OfficialScore", "VStarScore", "checked_records", "report_path_of",
           "score_grounding", "score_mcq", "score_vstar", "write_report"]
