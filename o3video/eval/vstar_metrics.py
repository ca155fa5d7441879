"""V-STaR metrics (docs/design.md §4) on a results file: ours (JSON lines) or the benchmark's own (a JSON list
with the same field names). Pure Python apart from the judge, which is passed in.

what-accuracy = share of answers the judge scores ≥ 2 on 0–3. Per chain: tIoU per record (R1@0.3/0.5/0.7,
mean); vIoU per record = mean over ground-truth boxes of the IoU with the predicted box at that second
(0 if missing), AP@0.1/0.3/0.5/0.7/0.9 and mean. AM_c = (acc + tIoU_c + vIoU_c)/3,
LGM_c = −(ln(1−acc) + ln(1−tIoU_c) + ln(1−vIoU_c))/3; mAM and mLGM average the two chains.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from o3video.data.vstar import (
    PARSED_FIELD,
    RAW_FIELD,
    answer_text,
    answered_span,
    completion_of,
    ground_truth_boxes,
    parse_spatial_boxes,
    rescale_spatial,
    second_key,
    video_length,
)
from o3video.eval.judges import Judge
from o3video.geometry import BoxConvention, box_iou, temporal_iou
from o3video.grammar import parse
from o3video.stats import mean
from o3video.tables import markdown_table

TIOU_THRESHOLDS = (0.3, 0.5, 0.7)
VIOU_THRESHOLDS = (0.1, 0.3, 0.5, 0.7, 0.9)
# The per-split table's columns, ours and the official scorers' alike (percent).
SPLIT_HEADER = ("split", "n", "What acc", "When tIoU c1", "When tIoU c2", "Where vIoU c1", "Where vIoU c2", "mAM", "mLGM")
# ln(1 − x) is −∞ at x = 1; LGM caps each mean just below 1 so a perfect score stays finite.
_LGM_CAP = 1 - 1e-6



def length_bucket(seconds: float) -> str:
    return "short" if seconds < 60 else "medium" if seconds < 180 else "long"


@dataclass
class RecordScore:
    """One record's scores. `judge_score` is None when the judge failed (recorded in `judge_error`)."""

    index: int
    vid: str
    domain: str
    length: str
    judge_score: int | None
    tiou: tuple[float, float]
    viou: tuple[float, float]
    ap: tuple[list[float], list[float]]
    judge_error: str | None = None

    @property
    def correct(self) -> bool:
        return self.judge_score is not None and self.judge_score >= 2


def spatial_scores(record: dict[str, Any], predicted: dict[str, list[list[float]]]) -> tuple[float, list[float]]:
    """(vIoU, AP at each threshold) of one chain's boxes against the record's ground-truth boxes: each
    ground-truth box scores the best IoU of the boxes answered for its second (0 if none)."""
    ious = []
    for gt in ground_truth_boxes(record):
        truth = [gt["xmin"], gt["ymin"], gt["xmax"], gt["ymax"]]
        ious.append(max((box_iou(box, truth) for box in predicted.get(second_key(gt["timestamp"]), [])), default=0.0))
    if not ious:
        return 0.0, [0.0] * len(VIOU_THRESHOLDS)
    return sum(ious) / len(ious), [sum(i >= t for i in ious) / len(ious) for t in VIOU_THRESHOLDS]


@dataclass(frozen=True)
class WhereCitations:
    """How one *where* answer relates to its reasoning (`where_citations`)."""

    answer_viou: float  # what V-STaR scores: the answer's JSON boxes
    cited_viou: float  # had the JSON listed the boxes `<think>` cites, each at the whole second nearest its time
    copied: float  # share of the answer's boxes repeating a box `<think>` cites at that second (IoU ≥ 0.9)


def where_citations(record: dict[str, Any], kind: str = "where_1") -> WhereCitations | None:
    """A diagnostic that tells a model that localises in its reasoning but answers something else from one that
    does not localise. None when the record does not say what its boxes are in (`input_size`)."""
    input_size = record.get("input_size") or record.get("input_shape")
    if not input_size:
        return None
    cited: dict[str, list[list[float]]] = defaultdict(list)
    for claim in parse(completion_of(record, kind)).claims:
        if claim.time is not None and math.isfinite(claim.time):
            cited[second_key(round(claim.time))].extend(list(box) for box in claim.boxes)
    original = (record["width"], record["height"])
    cited_boxes = rescale_spatial(dict(cited), input_size, original, record.get("box_convention") or BoxConvention.PIXELS)
    answered = parse_spatial_boxes(record.get(PARSED_FIELD[kind]))
    pairs = [(box, cited_boxes.get(second, [])) for second, boxes in answered.items() for box in boxes]
    copied = sum(any(box_iou(box, c) >= 0.9 for c in cites) for box, cites in pairs) / len(pairs) if pairs else 0.0
    answer = _spatial(record, PARSED_FIELD[kind], RAW_FIELD[kind])[0]
    return WhereCitations(answer, spatial_scores(record, cited_boxes)[0], copied)


def _temporal(record: dict[str, Any], parsed_field: str, raw_field: str) -> float:
    return temporal_iou(answered_span(record.get(parsed_field), record.get(raw_field)), record["timestamps"])


def predicted_boxes(record: dict[str, Any], parsed_field: str, raw_field: str) -> dict[str, list[list[float]]]:
    """The boxes one *where* answer is scored on, by second, in original-video pixels. Parsed boxes already are;
    when parsing failed when the file was written (the benchmark stores None), the raw text is re-read, which is
    in the model's box convention on its input frame, if the file says what that input size was (`input_size`,
    or the benchmark's `input_shape`); the convention is the record's `box_convention` (a file written before it
    was recorded: pixels)."""
    parsed, input_size = record.get(parsed_field), record.get("input_size") or record.get("input_shape")
    predicted = parse_spatial_boxes(parsed) if isinstance(parsed, (dict, list)) else {}
    if not predicted and record.get(raw_field) and input_size:
        convention = record.get("box_convention") or BoxConvention.PIXELS
        predicted = rescale_spatial(parse_spatial_boxes(record[raw_field]), input_size, (record["width"], record["height"]),
                                    convention)
    return predicted


def _spatial(record: dict[str, Any], parsed_field: str, raw_field: str) -> tuple[float, list[float]]:
    return spatial_scores(record, predicted_boxes(record, parsed_field, raw_field))


def score_record(index: int, record: dict[str, Any], judge: Judge) -> RecordScore:
    """Score one result record; a judge exception is recorded, not raised."""
    judge_score, judge_error = None, None
    candidate = answer_text(str(record.get("answer_vqa") or ""))
    try:
        judge_score = judge(record["question"], record["answer"], candidate) if candidate.strip() else 0
        judge_score = max(judge_score, 0)  # unreadable judge output (−1) counts as 0, as the benchmark does
    except Exception as err:  # noqa: BLE001 - any judge failure is recorded with the record
        judge_error = f"{type(err).__name__}: {err}"
    viou_1, ap_1 = _spatial(record, "answer_spatial", "answer_spatial_pre")
    viou_2, ap_2 = _spatial(record, "answer_spatial_2", "answer_spatial_pre_2")
    return RecordScore(
        index=index,
        vid=str(record.get("vid", index)),
        domain=str(record.get("domain", "unknown")),
        length=length_bucket(video_length(record)),
        judge_score=judge_score,
        tiou=(_temporal(record, "answer_temporal", "answer_temporal_pre"), _temporal(record, "answer_temporal_2", "answer_temporal_pre_2")),
        viou=(viou_1, viou_2),
        ap=(ap_1, ap_2),
        judge_error=judge_error,
    )


def _lgm(*means: float) -> float:
    return sum(-math.log(1 - min(m, _LGM_CAP)) for m in means) / len(means)  # sum() starts at +0.0: no "-0.0"


@dataclass
class ChainMetrics:
    tiou_r1: dict[str, float]
    tiou_mean: float
    viou_ap: dict[str, float]
    viou_mean: float
    am: float
    lgm: float


@dataclass
class VStarResult:
    """Aggregate V-STaR metrics over a set of records (all values in [0, 1] except LGM)."""

    n: int
    what_accuracy: float
    chain1: ChainMetrics
    chain2: ChainMetrics
    mAM: float
    mLGM: float
    judge_failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def aggregate(scores: list[RecordScore]) -> VStarResult:
    acc = mean((float(s.correct) for s in scores), empty=0.0)
    chains = []
    for c in (0, 1):
        tious = [s.tiou[c] for s in scores]
        vious = [s.viou[c] for s in scores]
        tiou, viou = mean(tious, empty=0.0), mean(vious, empty=0.0)
        chains.append(ChainMetrics(
            tiou_r1={f"R1@{t}": mean((float(x >= t) for x in tious), empty=0.0) for t in TIOU_THRESHOLDS},
            tiou_mean=tiou,
            viou_ap={f"AP@{t}": mean((s.ap[c][i] for s in scores), empty=0.0) for i, t in enumerate(VIOU_THRESHOLDS)},
            viou_mean=viou,
            am=(acc + tiou + viou) / 3,
            lgm=_lgm(acc, tiou, viou),
        ))
    return VStarResult(
        n=len(scores), what_accuracy=acc, chain1=chains[0], chain2=chains[1],
        mAM=(chains[0].am + chains[1].am) / 2, mLGM=(chains[0].lgm + chains[1].lgm) / 2,
        judge_failures=sum(s.judge_error is not None for s in scores),
    )


@dataclass
class VStarReport:
    overall: VStarResult
    by_domain: dict[str, VStarResult] = field(default_factory=dict)
    by_length: dict[str, VStarResult] = field(default_factory=dict)

    def markdown(self, title: str = "V-STaR") -> str:
        return vstar_markdown(self, title)

    def to_dict(self) -> dict[str, Any]:
        return {"overall": self.overall.to_dict(),
                "by_domain": {k: v.to_dict() for k, v in self.by_domain.items()},
                "by_length": {k: v.to_dict() for k, v in self.by_length.items()}}


def report(scores: list[RecordScore]) -> VStarReport:
    groups: dict[str, dict[str, list[RecordScore]]] = {"domain": defaultdict(list), "length": defaultdict(list)}
    for s in scores:
        groups["domain"][s.domain].append(s)
        groups["length"][s.length].append(s)
    return VStarReport(
        overall=aggregate(scores),
        by_domain={k: aggregate(v) for k, v in sorted(groups["domain"].items())},
        by_length={k: aggregate(v) for k in ("short", "medium", "long") if (v := groups["length"].get(k))},
    )


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def vstar_markdown(rep: VStarReport, title: str = "V-STaR") -> str:
    """What / When / Where per chain, mAM and mLGM, overall and per breakdown (percent)."""
    splits = [("overall", rep.overall)] + [(f"domain: {k}", v) for k, v in rep.by_domain.items()] + \
             [(f"length: {k}", v) for k, v in rep.by_length.items()]
    rows = [[name, r.n, *map(_pct, (r.what_accuracy, r.chain1.tiou_mean, r.chain2.tiou_mean, r.chain1.viou_mean,
                                    r.chain2.viou_mean, r.mAM, r.mLGM))] for name, r in splits]
    lines = [f"### {title}", "", markdown_table(SPLIT_HEADER, rows), ""]
    o = rep.overall
    header = ["chain", *(f"R1@{t}" for t in TIOU_THRESHOLDS), "mean tIoU", *(f"AP@{t}" for t in VIOU_THRESHOLDS), "mean vIoU", "AM", "LGM"]
    chains = [[name, *map(_pct, c.tiou_r1.values()), _pct(c.tiou_mean), *map(_pct, c.viou_ap.values()), _pct(c.viou_mean),
               _pct(c.am), _pct(c.lgm)] for name, c in (("1 (what-when-where)", o.chain1), ("2 (what-where-when)", o.chain2))]
    lines.append(markdown_table(header, chains))
    if o.judge_failures:
        lines += ["", f"{o.judge_failures} record(s) could not be judged and count as wrong."]
    return "\n".join(lines) + "\n"
