"""The Results view: a scored results file as a table to sort and filter, and one record in detail: its
predicted spans against the ground-truth span, for every annotated second its predicted boxes against the
ground-truth box on the decoded frame, its five prompts and answers, and its metrics. A second results
file of the same annotations (a blind twin, SFT against SFT+GSPO) is shown beside it: its judge score, tIoU
and vIoU as more columns of the table, matched by record key, and its record beside the first's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from o3video.app.scored_results import RecordMetrics, ScoredResults

COLUMNS = ("key", "task", "domain", "length", "judge", "tIoU c1", "tIoU c2", "vIoU c1", "vIoU c2", "correct", "error")
SORTABLE = ("key", "task", "domain", "length", "judge", "tIoU c1", "tIoU c2", "vIoU c1", "vIoU c2")
BESIDE = ("judge", "tIoU c1", "tIoU c2", "vIoU c1", "vIoU c2")  # the second file's columns, after the first's
BESIDE_SUFFIX = " (beside)"


@dataclass(frozen=True)
class RecordFilter:
    """Which records the table shows: exact task / domain / length (None: any), chain-`chain` tIoU and vIoU
    within [min, max], and a judge score (None: any)."""

    task: str | None = None
    domain: str | None = None
    length: str | None = None
    chain: int = 1
    tiou: tuple[float, float] = (0.0, 1.0)
    viou: tuple[float, float] = (0.0, 1.0)
    judge_score: int | None = None

    def keeps(self, m: RecordMetrics) -> bool:
        if any(want is not None and have != want
               for want, have in ((self.task, m.task), (self.domain, m.domain), (self.length, m.length))):
            return False
        if self.judge_score is not None and m.judge_score != self.judge_score:
            return False
        c = self.chain - 1
        for bounds, values in ((self.tiou, m.tiou), (self.viou, m.viou)):
            if bounds != (0.0, 1.0) and (values is None or not bounds[0] <= values[c] <= bounds[1]):
                return False
        return True


def cell(m: RecordMetrics, column: str) -> Any:
    """The table cell of `column` for one record (numbers stay numbers; None where it has none)."""
    pairs = {"tIoU c1": (m.tiou, 0), "tIoU c2": (m.tiou, 1), "vIoU c1": (m.viou, 0), "vIoU c2": (m.viou, 1)}
    if column in pairs:
        values, c = pairs[column]
        return None if values is None else round(values[c], 4)
    if column == "judge":
        return m.judge_score
    if column == "correct":
        return ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in m.hits.items()) or None
    return getattr(m, column)


def twin_metrics(scored: ScoredResults, beside: ScoredResults) -> dict[str, RecordMetrics]:
    """The second file's metrics by record key, for the records both files hold. Refused (`InputError`) when
    the files are of different benchmarks, share no record, or a shared key asks another question (another
    annotation set)."""
    from o3video.errors import InputError

    if beside.benchmark != scored.benchmark:
        raise InputError(f"{beside.path}: results of {beside.benchmark}, not {scored.benchmark} as {scored.path}")
    ours = {m.key: scored.records[m.position] for m in scored.metrics}
    twins = {}
    for m in beside.metrics:
        record = ours.get(m.key)
        if record is None:
            continue
        if record.get("question") != beside.records[m.position].get("question"):
            raise InputError(f"{beside.path}: record {m.position} (key {m.key!r}) asks another question than "
                             f"{scored.path}: the files come from different annotation sets")
        twins[m.key] = m
    if not twins:
        raise InputError(f"{beside.path}: no record key in common with {scored.path}")
    return twins


def columns(beside: ScoredResults | None = None) -> list[str]:
    """The table's columns: `COLUMNS`, then the second file's `BESIDE` columns when one is open."""
    return [*COLUMNS, *(c + BESIDE_SUFFIX for c in BESIDE)] if beside is not None else list(COLUMNS)


def sortable(beside: ScoredResults | None = None) -> list[str]:
    """The columns the table sorts by: `SORTABLE`, then the second file's `BESIDE` columns when one is open."""
    return [*SORTABLE, *(c + BESIDE_SUFFIX for c in BESIDE)] if beside is not None else list(SORTABLE)


def table(scored: ScoredResults, where: RecordFilter = RecordFilter(), *, sort_by: str = "key",
          descending: bool = False, beside: ScoredResults | None = None) -> list[list[Any]]:
    """Rows (`columns(beside)`) of the records `where` keeps, sorted by `sort_by` (records without a value
    last); with `beside`, each row ends with that file's metrics of the same record (None where it has none)."""
    if sort_by not in sortable(beside):
        raise ValueError(f"sort_by: one of {', '.join(sortable(beside))}, got {sort_by!r}")
    twins = twin_metrics(scored, beside) if beside is not None else {}

    def value(m: RecordMetrics, column: str) -> Any:
        if not column.endswith(BESIDE_SUFFIX):
            return cell(m, column)
        twin = twins.get(m.key)
        return None if twin is None else cell(twin, column.removesuffix(BESIDE_SUFFIX))

    kept = [m for m in scored.metrics if where.keeps(m)]
    present = [m for m in kept if value(m, sort_by) is not None]
    absent = [m for m in kept if value(m, sort_by) is None]
    present.sort(key=lambda m: value(m, sort_by), reverse=descending)
    return [[value(m, column) for column in columns(beside)] for m in present + absent]


def without_empty_columns(names: list[str], rows: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
    """The columns that hold a value in some row (MCQ's `correct` goes from a V-STaR table), and the rows cut
    to them; all of them when there is no row."""
    keep = [i for i in range(len(names)) if not rows or any(row[i] is not None for row in rows)]
    return [names[i] for i in keep], [[row[i] for i in keep] for row in rows]


def choices(scored: ScoredResults, column: str) -> list[str]:
    """The distinct values of a text column (task, domain, length), for the filters."""
    return sorted({str(getattr(m, column)) for m in scored.metrics})


@dataclass
class RecordDetail:
    key: str
    spans: Image.Image | None  # ground truth and predicted spans on one axis
    frames: list[tuple[Image.Image, str]]  # per annotated second: the decoded frame, truth and predicted boxes
    prompts: list[tuple[str, str, str]]  # (kind, prompt, completion)
    metrics: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # e.g. the video could not be found


def record_metrics(m: RecordMetrics, scoring: str) -> dict[str, Any]:
    """What the scorer computed for the record, by name."""
    out: dict[str, Any] = {"scoring": scoring}
    if m.error:
        return out | {"error": m.error}
    if m.judge_score is not None or m.judge_error:
        out["judge score"] = m.judge_score
    if m.tiou is not None:
        out |= {"tIoU chain 1": m.tiou[0], "tIoU chain 2": m.tiou[1]}
    if m.viou is not None:
        out |= {"vIoU chain 1": m.viou[0], "vIoU chain 2": m.viou[1]}
    if m.ap is not None:
        from o3video.eval.vstar_metrics import VIOU_THRESHOLDS

        for c in (0, 1):
            out |= {f"AP@{t} chain {c + 1}": v for t, v in zip(VIOU_THRESHOLDS, m.ap[c])}
    out |= {f"{kind} correct": hit for kind, hit in m.hits.items()}
    if m.judge_error:
        out["judge error"] = m.judge_error
    return out


def _prompts(record: dict[str, Any], benchmark: str) -> list[tuple[str, str, str]]:
    if benchmark == "vstar":
        from o3video.data.vstar import completion_of, vstar_prompts

        try:
            return [(p.kind, p.question, completion_of(record, p.kind)) for p in vstar_prompts(record)]
        except (KeyError, TypeError, ValueError):
            return []
    question = record.get("query") or record.get("sentence") or record.get("question") or ""
    return [(benchmark, str(question), str(record.get("completion", "")))]


def _spans(record: dict[str, Any], benchmark: str) -> Image.Image | None:
    from o3video.data.vstar import answered_span, video_length
    from o3video.viz.compare import PREDICTED, TRUTH, LabelledSpan, draw_spans

    if benchmark == "vstar":
        duration = video_length(record)
        rows = [LabelledSpan("ground truth", record.get("timestamps"), TRUTH)]
        for c, (parsed, raw) in enumerate((("answer_temporal", "answer_temporal_pre"),
                                           ("answer_temporal_2", "answer_temporal_pre_2"))):
            rows.append(LabelledSpan(f"chain {c + 1} answer", answered_span(record.get(parsed), record.get(raw)),
                                     PREDICTED[c]))
    elif benchmark == "tg":
        from o3video.eval.grounding import grounding_truth, predicted_span

        truth = grounding_truth(record)
        duration = float(record.get("duration") or max([*(truth or [0]), *predicted_span(record), 1.0]))
        rows = [LabelledSpan("ground truth", truth, TRUTH),
                LabelledSpan("answer", predicted_span(record), PREDICTED[0])]
    else:
        return None
    return draw_spans(rows, max(duration, 1e-6))


def predicted_by_second(record: dict[str, Any]) -> list[dict[str, list[list[float]]]]:
    """Each chain's predicted boxes by second, in original-video pixels, as the project's scorer reads them."""
    from o3video.eval.vstar_metrics import predicted_boxes

    return [predicted_boxes(record, "answer_spatial", "answer_spatial_pre"),
            predicted_boxes(record, "answer_spatial_2", "answer_spatial_pre_2")]


def box_frames(record: dict[str, Any], video: Path) -> list[tuple[Image.Image, str]]:
    """For every annotated second of a V-STaR record, the decoded frame nearest it with the ground-truth box
    (green) and each chain's predicted boxes at that second (red, blue), and a caption with their IoUs."""
    from o3video.data.vstar import ground_truth_boxes, second_key
    from o3video.geometry import box_iou, rescale_box
    from o3video.video import sample_frames
    from o3video.viz.compare import PREDICTED, TRUTH, LabelledBox, draw_boxes

    truths = ground_truth_boxes(record)
    if not truths:
        return []
    sampled = sample_frames(video, 1, key_times=[float(b["timestamp"]) for b in truths])
    original = (record["width"], record["height"])
    chains = predicted_by_second(record)
    out = []
    for gt in truths:
        frame = min(sampled.frames, key=lambda f: abs(f.timestamp - float(gt["timestamp"])))
        size = frame.image.size
        truth = [gt["xmin"], gt["ymin"], gt["xmax"], gt["ymax"]]
        boxes = [LabelledBox("truth", rescale_box(truth, original, size), TRUTH)]
        words = []
        for c, chain in enumerate(chains):
            predicted = chain.get(second_key(gt["timestamp"]), [])
            boxes += [LabelledBox(f"chain {c + 1}", rescale_box(b, original, size), PREDICTED[c]) for b in predicted]
            best = max((box_iou(b, truth) for b in predicted), default=0.0)
            words.append(f"chain {c + 1} IoU {best:.2f}" if predicted else f"chain {c + 1}: no box")
        out.append((draw_boxes(frame.image, boxes), f"{gt['timestamp']:g} s (frame at {frame.timestamp:.2f} s): "
                    + ", ".join(words)))
    return out


def record_detail(scored: ScoredResults, key: str, videos: Path | None) -> RecordDetail:
    """Everything the view shows about the record with `key`; `videos` is where its video is looked for
    (`find_video`), None to skip the frames."""
    from o3video.eval.benchmark_runner import find_video

    position = scored.position_of(key)
    record, m = scored.records[position], scored.metrics[position]
    detail = RecordDetail(m.key, _spans(record, scored.benchmark), [], _prompts(record, scored.benchmark),
                          record_metrics(m, scored.scoring))
    if scored.benchmark != "vstar":
        return detail
    video = find_video(videos, record) if videos is not None else None
    if video is None:
        detail.notes.append(f"no video for this record under {videos}: frames not shown")
        return detail
    detail.frames = box_frames(record, video)
    return detail


__all__ = ["BESIDE", "BESIDE_SUFFIX", "COLUMNS", "SORTABLE", "RecordDetail", "RecordFilter", "box_frames", "cell",
           "choices", "columns", "record_detail", "record_metrics", "sortable", "table", "twin_metrics",
           "without_empty_columns"]
