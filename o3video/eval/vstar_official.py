"""V-STaR's two official scorers, re-implemented from what they compute (never their code), so that a
results file can be scored exactly as published tables were:

* `vstar`   — V-STaR's own `eval.py` (V-STaR-Bench/V-STaR);
* `open-o3` — the paper's `eval/test/eval_vstar.py` (marinero4972/Open-o3-Video).

Both are reproduced quirks included (docs/scoring.md sets each against o3video's own protocol):

* A record whose `answer_vqa` is missing or empty is skipped: it is in no mean, yet the overall accuracy
  (and the combined ratios) divide by the number of records in the file. Per split (length, domain) they
  divide by the split's judged records only.
* The judge reads `answer_vqa` as written; its reply is read with `int()` (−1 when that fails), −1 counts
  0 in the average score, any rating ≥ 2 is correct (5 included).
* `answer_temporal` is a list or tuple of exactly two numbers (booleans count), or a string Python reads
  as one (`"[4, 8]"`, `"4, 8"`); anything else scores 0. The tIoU is not clipped; a reversed span has no
  positive intersection. `open-o3` alone, when the field is exactly `[]`, re-reads `answer_temporal_pre`:
  its `<answer>` part, each `m:ss` replaced everywhere it occurs by `<t>seconds</t>s`, then exactly two
  numbers `\\b\\d+(?:\\.\\d+)?\\b`.
* Boxes: a ground-truth box looks up the answer under `str(timestamp)` literally ("4.0" for 4.0), boxes
  are not rescaled, a second's value is one box or a list of boxes (best IoU), anything malformed in it
  makes that second 0. `vstar` tests `str(timestamp) in answer` whatever the answer's type.
* AM and LGM are plain means of the means; LGM takes `ln(1 − x)` with no cap.

Where the official script would stop with an exception, this module says so instead of giving a number:
`OfficialCrash` (naming the record) for a record, `OfficialSplit.crash` for a split's LGM (`math domain
error` at a mean of 1) or a split with no judged record (`ZeroDivisionError`). Pure Python: its means
agree with numpy's to ~1e-15.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from o3video.data.vstar import video_length
from o3video.errors import InputError
from o3video.eval.judges import Judge
from o3video.eval.vstar_metrics import SPLIT_HEADER
from o3video.grammar import render_time
from o3video.stats import mean
from o3video.tables import markdown_table

SCORERS = {"vstar": "V-STaR's eval.py", "open-o3": "Open-o3 Video's eval/test/eval_vstar.py"}
TIOU_THRESHOLDS = (0.3, 0.5, 0.7)
VIOU_THRESHOLDS = (0.1, 0.3, 0.5, 0.7, 0.9)
CHAIN_FIELDS = (("answer_temporal", "answer_temporal_pre", "answer_spatial"),
                ("answer_temporal_2", "answer_temporal_pre_2", "answer_spatial_2"))


class OfficialCrash(InputError):
    """The official script would stop with an exception on this file and print no numbers for it."""


class _Stop(Exception):
    """Raised inside a record's scoring; `official_record` turns it into an `OfficialCrash` naming the record."""


@dataclass
class OfficialRecord:
    """One record as the official script scores it; `judged` False (empty `answer_vqa`) means skipped."""

    index: int
    vid: str
    domain: Any
    duration: str  # "Short" / "Medium" / "Long"
    judged: bool
    score: int | None = None  # the judge's rating as read, −1 unreadable
    tiou: tuple[float, float] = (0.0, 0.0)
    viou: tuple[float, float] = (0.0, 0.0)
    ap: tuple[list[float], list[float]] = ([], [])


# --- one record -----------------------------------------------------------------------------------------


def duration_label(seconds: float) -> str:
    return "Short" if seconds < 60 else "Medium" if seconds < 180 else "Long"


def _span_value(pred: object) -> object:
    """A string span as the scripts read it (`ast.literal_eval`); None when that fails the way they expect."""
    try:
        return ast.literal_eval(pred)  # type: ignore[arg-type]
    except (ValueError, SyntaxError):
        return None
    except Exception as err:  # noqa: BLE001 - any other failure stops the official script
        raise _Stop(f"{type(err).__name__}: {err} reading the span {pred!r}") from None


def official_tiou(truth: Sequence[float], pred: object) -> float:
    """Temporal IoU as both scripts compute it (see the module docstring)."""
    if not pred:
        return 0.0
    if isinstance(pred, str):
        pred = _span_value(pred)
    if not isinstance(pred, (list, tuple)) or len(pred) != 2 or not all(isinstance(x, (int, float)) for x in pred):
        return 0.0
    (g0, g1), (p0, p1) = truth, pred
    overlap = max(0, min(g1, p1) - max(g0, p0))
    union = max(g1, p1) - min(g0, p0)
    return overlap / union if union > 0 else 0.0


def _pair_iou(gt: tuple[Any, Any, Any, Any], box: object) -> float:
    if not isinstance(box, (list, tuple)) or len(box) != 4:
        return 0.0
    gx0, gy0, gx1, gy1 = gt
    px0, py0, px1, py1 = box
    inter = max(0, min(gx1, px1) - max(gx0, px0)) * max(0, min(gy1, py1) - max(gy0, py0))
    union = (gx1 - gx0) * (gy1 - gy0) + (px1 - px0) * (py1 - py0) - inter
    return inter / union if union > 0 else 0.0


def official_box_iou(gt: tuple[Any, Any, Any, Any], value: object) -> float:
    """Best IoU of the box(es) answered for one second; the scripts turn any error in here into 0
    (a string coordinate, a dict, a number), so this does too."""
    try:
        if not value:
            return 0.0
        boxes = [value] if isinstance(value[0], (int, float)) and len(value) == 4 else value  # type: ignore[index, arg-type]
        return max(_pair_iou(gt, box) for box in boxes)  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - the official scripts' bare `except` around this computation
        return 0.0


def _lookup(pred: object, key: str, scorer: str, name: str) -> tuple[bool, object]:
    """(found, value) of `key` in an answer: `open-o3` reads dicts only; `vstar` tests membership on any
    type, and then indexes it, which only a dict survives."""
    if scorer == "open-o3" or isinstance(pred, dict):
        found = isinstance(pred, dict) and key in pred
        return found, pred[key] if found else None  # type: ignore[index]
    if not isinstance(pred, (list, str)):
        raise _Stop(f"TypeError: `{key!r} in {name}` on a {type(pred).__name__} ({pred!r})")
    if key in pred:
        raise _Stop(f"TypeError: {name} is a {type(pred).__name__} holding {key!r}, and the script indexes it by that string")
    return False, None


def official_spatial(gt_boxes: list[Any], pred: object, scorer: str, name: str = "answer_spatial") -> tuple[list[float], float]:
    """(AP at each threshold, mean IoU) of one chain's truthy answer."""
    ious = []
    for i, entry in enumerate(gt_boxes):
        if not isinstance(entry, dict) or "timestamp" not in entry:
            raise _Stop(f"KeyError: 'timestamp' — bboxes[{i}] is {entry!r}, and the script reads bboxes[].timestamp "
                        "directly (nested boxes are not unwrapped)")
        found, value = _lookup(pred, str(entry["timestamp"]), scorer, name)
        gt = (entry["xmin"], entry["ymin"], entry["xmax"], entry["ymax"])
        ious.append(official_box_iou(gt, value) if found else 0.0)
    if not ious:
        return [0.0] * len(VIOU_THRESHOLDS), 0.0
    return [mean([1 if x >= t else 0 for x in ious]) for t in VIOU_THRESHOLDS], mean(ious)


_CLOCK_RE = re.compile(r"(\d+:\d+)")
_BARE_NUMBER_RE = re.compile(r"\b\d+(?:\.\d+)?\b")


def refined_span(text: str) -> list[float]:
    """`open-o3`'s re-reading of a raw *when* answer (see the module docstring)."""
    inner = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)
    if inner:
        text = inner.group(1).strip()
    for clock in _CLOCK_RE.findall(text):  # each found string replaced wherever it occurs, in turn
        minutes, seconds = (int(part) for part in clock.split(":"))
        text = text.replace(clock, render_time(minutes * 60 + seconds))
    numbers = _BARE_NUMBER_RE.findall(text)
    return [float(numbers[0]), float(numbers[1])] if len(numbers) == 2 else []


def _chain_span(record: dict[str, Any], parsed: str, raw: str, scorer: str) -> object:
    if scorer == "vstar":
        return record.get(parsed)
    if parsed not in record:
        raise _Stop(f"KeyError: {parsed!r} (that script reads it from every judged record)")
    if record[parsed] != []:  # noqa: PLC1901 - the script tests `== []` exactly
        return record[parsed]
    if raw not in record:
        raise _Stop(f"KeyError: {raw!r} ({parsed} is [] and the script re-reads {raw})")
    if not isinstance(record[raw], str):
        raise _Stop(f"TypeError: {raw} is {record[raw]!r}, not text ({parsed} is [] and the script re-reads it)")
    return refined_span(record[raw])


def _score_record(index: int, record: dict[str, Any], judge: Judge, scorer: str) -> OfficialRecord:
    domain = record.get("domain", "unknown")
    out = OfficialRecord(index, str(record.get("vid", index)), domain, duration_label(video_length(record)), judged=False)
    candidate = record.get("answer_vqa")
    if not candidate:
        return out
    try:
        out.score = int(judge(record["question"], record["answer"], str(candidate)))
    except Exception as err:  # noqa: BLE001 - a failed judge: the official script has no rule for it
        raise _Stop(f"the judge failed ({type(err).__name__}: {err}); the script would stop here") from None
    out.judged = True
    tious = []
    for parsed, raw, _ in CHAIN_FIELDS:  # both spans first, then both box answers: the scripts' order
        span = _chain_span(record, parsed, raw, scorer)
        tious.append(official_tiou(record["timestamps"], span) if span else 0.0)
    spatial = []
    for _, _, name in CHAIN_FIELDS:
        pred = record.get(name)
        spatial.append(official_spatial(record["bboxes"], pred, scorer, name) if pred else ([0.0] * len(VIOU_THRESHOLDS), 0.0))
    out.tiou = (tious[0], tious[1])
    out.ap, out.viou = (spatial[0][0], spatial[1][0]), (spatial[0][1], spatial[1][1])
    return out


def official_record(index: int, record: dict[str, Any], judge: Judge, scorer: str, *, where: str = "") -> OfficialRecord:
    """Score one results record as `scorer` does; `OfficialCrash` names the record where it would stop."""
    try:
        return _score_record(index, record, judge, scorer)
    except _Stop as stop:
        vid = f" (vid {record.get('vid')})" if record.get("vid") is not None else ""
        raise OfficialCrash(f"{where}record {index}{vid}: {SCORERS[scorer]} stops here with {stop}; it gives no "
                            "numbers for this file (--scoring o3video scores it)") from None


# --- aggregates -----------------------------------------------------------------------------------------


@dataclass
class OfficialChain:
    tiou_r1: dict[str, float]
    tiou_mean: float
    viou_ap: dict[str, float]
    viou_mean: float
    am: float
    lgm: float | None  # None where the script stops with `math domain error`


@dataclass
class OfficialSplit:
    """What the script's summary of one split computes: `n` records in the split, `total` the accuracy
    denominator, `crash` where it stops instead (nothing after it is printed by the script)."""

    label: str
    n: int
    total: int
    avg_all_score: float | None = None
    avg_valid_score: float | None = None
    what_accuracy: float | None = None
    chain1: OfficialChain | None = None
    chain2: OfficialChain | None = None
    mAM: float | None = None
    mLGM: float | None = None
    combined: dict[str, float] = field(default_factory=dict)
    crash: str | None = None


def _lgm(chain: int, means: dict[str, float]) -> tuple[float | None, str | None]:
    logs = []
    for name, value in means.items():
        try:
            logs.append(math.log(1 - value))
        except ValueError:
            return None, f"ValueError: math domain error in LGM{chain}, ln(1 − {name}) with {name} = {value!r}"
    return -sum(logs) / len(logs), None


def _chain(scores: list[OfficialRecord], c: int, acc: float) -> tuple[OfficialChain, str | None]:
    tious, vious = [s.tiou[c] for s in scores], [s.viou[c] for s in scores]
    tiou, viou = mean(tious), mean(vious)
    lgm, crash = _lgm(c + 1, {"what-accuracy": acc, f"mean tIoU{c + 1}": tiou, f"mean vIoU{c + 1}": viou})
    return OfficialChain(
        tiou_r1={f"R1@{t}": mean([1 if x >= t else 0 for x in tious]) for t in TIOU_THRESHOLDS}, tiou_mean=tiou,
        viou_ap={f"AP@{t}": mean([s.ap[c][i] for s in scores]) for i, t in enumerate(VIOU_THRESHOLDS)}, viou_mean=viou,
        am=(acc + tiou + viou) / 3, lgm=lgm,
    ), crash


def _combined(scores: list[OfficialRecord], total: int) -> dict[str, float]:
    tests: dict[str, Callable[[OfficialRecord, int], bool]] = {
        "vqa_temporal": lambda s, c: s.score >= 2 and s.tiou[c] >= 0.3,  # type: ignore[operator]
        "vqa_spatial": lambda s, c: s.score >= 2 and s.viou[c] >= 0.1,  # type: ignore[operator]
        "temporal_spatial": lambda s, c: s.tiou[c] >= 0.3 and s.viou[c] >= 0.1,
        "vqa_temporal_spatial": lambda s, c: s.score >= 2 and s.tiou[c] >= 0.3 and s.viou[c] >= 0.1,  # type: ignore[operator]
    }
    return {f"{name}_{c + 1}": sum(test(s, c) for s in scores) / total for name, test in tests.items() for c in (0, 1)}


def official_split(label: str, records: list[OfficialRecord], total: int | None = None) -> OfficialSplit:
    """A split's summary; `total` is the accuracy denominator (the whole file for the overall split, the
    split's judged records otherwise)."""
    scores = [r for r in records if r.judged]
    total = len(scores) if total is None else total
    split = OfficialSplit(label, n=len(records), total=total)
    if total == 0:
        split.crash = f"ZeroDivisionError: none of its {len(records)} record(s) has an answer_vqa"
        return split
    ratings = [s.score for s in scores]
    split.avg_all_score = mean([0 if r == -1 else r for r in ratings])  # type: ignore[misc]
    valid = [r for r in ratings if r != -1]
    split.avg_valid_score = mean(valid) if valid else 0  # type: ignore[arg-type]
    acc = split.what_accuracy = sum(r >= 2 for r in ratings) / total  # type: ignore[operator]
    split.chain1, crash1 = _chain(scores, 0, acc)
    split.chain2, crash2 = _chain(scores, 1, acc)
    split.mAM = (split.chain1.am + split.chain2.am) / 2
    split.crash = crash1 or crash2
    if crash1:
        split.chain2.lgm = None  # the script never gets to it
    if split.crash is None:
        split.mLGM = (split.chain1.lgm + split.chain2.lgm) / 2  # type: ignore[operator]
    split.combined = _combined(scores, total)
    return split


@dataclass
class OfficialReport:
    scorer: str
    records: list[OfficialRecord]
    splits: list[OfficialSplit]  # in the script's print order: overall, lengths, domains (first seen first)

    @property
    def overall(self) -> OfficialSplit:
        return self.splits[0]

    @property
    def crash(self) -> str | None:
        """Where the script stops (the first split it cannot finish), or None."""
        first = next((s for s in self.splits if s.crash), None)
        return None if first is None else f"{SCORERS[self.scorer]} stops at {first.label!r}: {first.crash}"

    def to_dict(self) -> dict[str, Any]:
        return {"scorer": self.scorer, "crash": self.crash, "splits": [asdict(s) for s in self.splits],
                "records": [asdict(r) for r in self.records]}


def official_report(records: list[dict[str, Any]], judge: Judge, scorer: str, *, where: str = "") -> OfficialReport:
    """Score every record of a results file as `scorer` does (`"vstar"` or `"open-o3"`)."""
    if scorer not in SCORERS:
        raise ValueError(f"unknown official scorer {scorer!r}; choose from {sorted(SCORERS)}")
    scored = [official_record(i, r, judge, scorer, where=where) for i, r in enumerate(records)]
    lengths: dict[str, list[OfficialRecord]] = {}
    domains: dict[Any, list[OfficialRecord]] = {}
    for s in scored:
        lengths.setdefault(s.duration, []).append(s)
        domains.setdefault(s.domain if _hashable(s.domain) else str(s.domain), []).append(s)
    splits = [official_split("Overall Statistics", scored, total=len(records))]
    splits += [official_split(f"Video Length: {k}", v) for k, v in lengths.items()]
    splits += [official_split(f"Domain: {k}", v) for k, v in domains.items()]
    return OfficialReport(scorer, scored, splits)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


# --- report ---------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "—" if x is None else "nan" if math.isnan(x) else f"{100 * x:.1f}"


def official_markdown(rep: OfficialReport, title: str) -> str:
    """What / When / Where per chain, mAM and mLGM per split, in percent, as the script prints them."""
    rows = []
    for s in rep.splits:
        c1, c2 = s.chain1, s.chain2
        cells = [s.what_accuracy, c1 and c1.tiou_mean, c2 and c2.tiou_mean, c1 and c1.viou_mean, c2 and c2.viou_mean, s.mAM, s.mLGM]
        rows.append([s.label, s.n, *map(_pct, cells)])
    lines = [f"### {title}", "", f"Scored as {SCORERS[rep.scorer]} scores (--scoring {rep.scorer}).", "",
             markdown_table(SPLIT_HEADER, rows)]
    skipped = sum(not r.judged for r in rep.records)
    if skipped:
        lines += ["", f"{skipped} record(s) with an empty answer_vqa are left out of every mean but counted in the "
                      "overall accuracy's denominator, as the script does."]
    if rep.crash:
        lines += ["", f"**{rep.crash}.** It prints neither AM nor LGM for that split, nor anything after it."]
    return "\n".join(lines) + "\n"


__all__ = ["SCORERS", "OfficialCrash", "OfficialRecord", "OfficialReport", "OfficialSplit", "official_markdown",
           "official_record", "official_report", "official_tiou", "refined_span"]
