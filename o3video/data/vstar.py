"""The V-STaR protocol (docs/design.md §4): the five prompts per record, in the benchmark's wording, and the
robust parsing of the answers they get back. Pure Python.

Per record the model answers *what* (VQA); chain 1 *when* then *where* (a box per whole second inside
the ground-truth span); chain 2 *where* (told how many boxes, it picks the seconds) then *when* (told the
boxes). Boxes come back in the model's box convention (pixels of the model-input frames, or 0–1000 of them)
and are rescaled to the original video.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from o3video.geometry import (
    BoxConvention,
    GeometryError,
    check_box,
    check_size,
    convention_to_pixels,
    finite_float,
    rescale_box,
    temporal_iou,
)
from o3video.grammar import block, read_times
from o3video.tasks import Task

PROMPT_KINDS = ("what", "when_1", "where_1", "where_2", "when_2")
# The benchmark's field names for each prompt's raw and parsed answer.
RAW_FIELD = {"what": "answer_vqa", "when_1": "answer_temporal_pre", "where_1": "answer_spatial_pre",
             "where_2": "answer_spatial_pre_2", "when_2": "answer_temporal_pre_2"}
# Where each prompt's full completion is kept: the *what* answer's own field holds only the answer text (what
# both official scorers hand their judge), its completion goes under the paper's inference-script name.
COMPLETION_FIELD = {**RAW_FIELD, "what": "answer_vqa_raw_output"}


def completion_of(record: dict[str, Any], kind: str) -> str:
    """The full completion a results record holds for prompt `kind` (older files kept it in the raw field)."""
    return str(record.get(COMPLETION_FIELD[kind]) or record.get(RAW_FIELD[kind]) or "")


PARSED_FIELD = {"when_1": "answer_temporal", "where_1": "answer_spatial", "where_2": "answer_spatial_2",
                "when_2": "answer_temporal_2"}


@dataclass(frozen=True)
class VStarPrompt:
    """One of the five questions: the text, the task whose system prompt frames it, the answer format."""

    kind: str
    task: Task
    question: str
    instruction: str


def video_length(record: dict[str, Any]) -> float:
    return round(float(record["frame_count"]) / float(record["fps"]), 2)


def span_seconds(record: dict[str, Any]) -> list[int]:
    """The whole seconds inside the ground-truth span, boundaries included."""
    start, end = record["timestamps"]
    return list(range(math.ceil(start), math.floor(end) + 1))


def question_span_prior(records: Sequence[dict[str, Any]], key: str = "event",
                        step: float = 0.05) -> dict[str, tuple[tuple[float, float], float, int]]:
    """How much the kind of question alone tells about *when*: per value of `key`, the one span (as
    fractions of each video's length, on a grid of `step`) with the highest mean tIoU over these
    records, that tIoU, and the number of records. Fitted on the records it scores, so an upper bound
    for a model that reads only the question; a high one means a blind model can answer *when*."""
    groups: dict[str, list[tuple[float, float]]] = {}
    for r in records:
        length = video_length(r)
        groups.setdefault(str(r.get(key, "")), []).append((r["timestamps"][0] / length, r["timestamps"][1] / length))
    grid = [round(i * step, 6) for i in range(round(1 / step) + 1)]
    out = {}
    for kind, spans in sorted(groups.items()):
        scores = {(a, b): sum(temporal_iou((a, b), s) for s in spans) / len(spans) for a in grid for b in grid if b > a}
        best = max(scores, key=scores.__getitem__)
        out[kind] = (best, scores[best], len(spans))
    return out


def ground_truth_boxes(record: dict[str, Any]) -> list[dict[str, float]]:
    """The record's boxes as `{timestamp, xmin, ymin, xmax, ymax}` dicts (also unwraps the
    `{"<frame>": {...}}` nesting some releases use)."""
    boxes = []
    for entry in record.get("bboxes") or []:
        if isinstance(entry, dict) and "xmin" not in entry and len(entry) == 1:
            key, inner = next(iter(entry.items()))
            entry = {"timestamp": inner.get("timestamp", key), **inner}
        boxes.append(entry)
    return boxes


def _box_list(record: dict[str, Any]) -> list[list[float]]:
    return [[b["xmin"], b["ymin"], b["xmax"], b["ymax"]] for b in ground_truth_boxes(record)]


def vstar_prompts(record: dict[str, Any]) -> list[VStarPrompt]:
    """The five prompts for one annotation record, in the benchmark's wording."""
    length, (w, h) = video_length(record), (record["width"], record["height"])
    seconds, boxes = span_seconds(record), _box_list(record)
    first = seconds[0] if seconds else 0
    span_form = "From <t>start_time</t>s to <t>end_time</t>s"
    what = VStarPrompt(
        "what", Task.GENERAL_FREE,
        f"Answer the question about the video: {record['question']} \n (If the answer is a person, you don't need to identify the person.)",
        "Answer in a short sentence.",
    )
    when_1 = VStarPrompt(
        "when_1", Task.TEMPORAL,
        f"This video is {length} seconds long. Answer the question about the video: {record['temporal_question']}",
        f"Output the start and end moment timestamps in the form `{span_form}`.",
    )
    where_1 = VStarPrompt(
        "where_1", Task.SPATIO_TEMPORAL,
        f"Please answer the question about the video: {record['spatial_question']} with a series of bounding boxes in [x1, y1, x2, y2] format.",
        f"For each whole second within the time range {seconds} provided (inclusive of the boundaries), output a series of "
        "bounding boxes of the object in JSON format. The keys should be the whole seconds (as strings), and the values "
        f'should be the box in [x1, y1, x2, y2] format.\nExample output: {{"{first}": [x1, y1, x2, y2],...}}',
    )
    where_2 = VStarPrompt(
        "where_2", Task.SPATIO_TEMPORAL,
        f"Please answer the question about the video: {record.get('spatial_question_2') or record['spatial_question']} "
        "with a series of bounding boxes in [x1, y1, x2, y2] format.",
        f"For each whole second that may related to the question, output a series of bounding boxes of the object in JSON "
        f"format. You only need to output {len(boxes)} bbox(es). You need to determine which frame is related to the "
        "question, and you don't need to output the bbox for the frames not related to the question.\nThe keys should be "
        "the whole seconds (as strings), and the values should be the bounding box in [x0,y0,x1,y1] format.\n"
        f'Example output:\n{{"0": [x0,y0,x1,y1], "1":..., ..., "{len(boxes)}":...}} '
        f"(if the frames at 0~{len(boxes)} second are related to the questions)",
    )
    when_2 = VStarPrompt(
        "when_2", Task.TEMPORAL,
        f"This video is {length} seconds long with a resolution of {w}x{h} (width x height). Answer the question about "
        f"the video: {record['temporal_question']} \nThere are {len(boxes)} bounding boxes of the key object related to "
        f"the question in the video without knowing the time, which are:{boxes}.",
        f"Output the start and end moment timestamps in the form `{span_form}`.",
    )
    return [what, when_1, where_1, where_2, when_2]


# --- answers --------------------------------------------------------------------------------------------


def answer_text(raw: str) -> str:
    """The `<answer>` part of a grounded completion (also when generation stopped before `</answer>`),
    or the whole text when it has none."""
    answer = block(raw or "", "answer")
    if answer is not None:
        return answer.strip()
    opened = re.split(r"<\s*answer\s*>", raw or "", flags=re.IGNORECASE)
    return opened[-1] if len(opened) > 1 else (raw or "")


_MMSS_RE = re.compile(r"\b(\d+):(\d{2})\b")
_MAX_MINUTE_DIGITS = 6  # 999999 minutes is about two years; a longer count is not a time (int() refuses > 4300 digits)


def _mmss_to_seconds(text: str) -> str:
    """`m:ss` → seconds. One with an absurd count of minute digits becomes a blank: that time is unreadable."""

    def seconds(match: re.Match[str]) -> str:
        minutes = match.group(1).lstrip("0") or "0"
        return str(int(minutes) * 60 + int(match.group(2))) if len(minutes) <= _MAX_MINUTE_DIGITS else " "

    return _MMSS_RE.sub(seconds, text)


# A bare number in an answer: digits with at most one decimal point. A token with more (`5.5.1`, `.3.0`)
# is no number at all, rather than the 5.5 and 1 that `\b\d+(?:\.\d+)?\b` finds in it.
_NUMBER_TOKEN_RE = re.compile(r"(?<![\w.])\.?\d++(?:\.\d+)*+(?!\w)")  # possessive: "1.2.3s" is not "1.2"


def _bare_numbers(text: str) -> list[float | None]:
    """The numbers of `text`; one that does not fit a finite float is None (unreadable)."""
    return [finite_float(t) for t in _NUMBER_TOKEN_RE.findall(text) if t.count(".") <= 1]


def parse_temporal_answer(raw: object) -> list[float]:
    """`[start, end]` from a *when* answer, or `[]` (unreadable). Reads `<t>` tags first (our grounded
    form), else exactly two numbers (the benchmark's rule), after turning `m:ss` into seconds. A number
    that does not fit a finite float, or with several decimal points, is unreadable. Never raises."""
    if isinstance(raw, (list, tuple)):
        values = [finite_float(v) for v in raw if isinstance(v, (int, float)) and not isinstance(v, bool)]
        finite = [v for v in values if v is not None]
        return finite[:2] if len(finite) >= 2 else []
    text = _mmss_to_seconds(answer_text(str(raw or "")))
    times = read_times(text)
    if len(times) >= 2:
        return [times[0], times[1]]
    numbers = _bare_numbers(text)
    return numbers if len(numbers) == 2 and None not in numbers else []  # type: ignore[return-value]


def answered_span(parsed: object, raw: object) -> list[float]:
    """The span of one *when* prompt in a results record: its parsed field (a list, or the string
    `"[4, 8]"` some writers store), else, when that gives none, its raw text."""
    return parse_temporal_answer(parsed) or parse_temporal_answer(raw if isinstance(raw, str) else "")


def _json_candidates(text: str) -> list[str]:
    """Where JSON may sit in an answer: code fences, the outermost braces/brackets, or an unclosed tail.
    Each distinct non-blank candidate once, in that order (`'```' * n` would give n/2 empty ones)."""
    candidates = re.findall(r"```(?:json)?\s*(.*?)(?:```|$)", text, re.DOTALL)
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if start >= 0:
            if end > start:
                candidates.append(text[start : end + 1])
            candidates.append(text[start:])
    return [c for c in dict.fromkeys(c.strip() for c in (*candidates, text)) if c]


def _close_brackets(text: str) -> str:
    """Close what a truncated generation left open, innermost first."""
    stack = []
    for ch in text:
        if ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}" and stack:
            stack.pop()
    return text.rstrip().rstrip(",") + "".join(reversed(stack))


def _loads(text: str) -> object | None:
    """JSON as written, with single quotes, or with its open brackets closed; None if none reads. Deep
    nesting (RecursionError) and integers past Python's digit limit (ValueError) are unreadable too."""
    for candidate in (text, text.replace("'", '"'), _close_brackets(text.replace("'", '"'))):
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            continue
    return None


_MAX_BOX_NESTING = 8  # deeper lists are no answer a model gives; the limit keeps recursion shallow


def _boxes_in(value: object, depth: int = 0) -> list[list[float]]:
    """Every box in an answer's value for one second: `[x1,y1,x2,y2]`, a list of boxes (nested up to
    `_MAX_BOX_NESTING` deep), or `[label, box]`."""
    if not isinstance(value, (list, tuple)) or depth >= _MAX_BOX_NESTING:
        return []
    if len(value) == 4 and not any(isinstance(v, (list, tuple, dict)) for v in value):
        try:
            return [list(check_box(value))]
        except GeometryError:
            return []
    if len(value) == 2 and not isinstance(value[0], (list, tuple)) and isinstance(value[1], (list, tuple)):
        return _boxes_in(value[1], depth + 1)
    return [box for item in value for box in _boxes_in(item, depth + 1)]


_SECOND_FRAME_RE = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)_\d+\s*")


def second_key(value: object) -> str:
    """Seconds as a dict key: `"3"` for 3, 3.0 or "3"; `"4"` for the old `"4_120"` (second_frame) form;
    otherwise the value's text. (`float("4_120")` is 4120: Python reads `_` as a digit separator.)"""
    if isinstance(value, str):
        old_form = _SECOND_FRAME_RE.fullmatch(value)
        value = old_form.group(1) if old_form else value
        if "_" in value:
            return value
    number = finite_float(value)
    if number is None:
        return str(value)
    return str(int(number)) if number.is_integer() else str(number)


def _boxes_by_second(data: object) -> dict[str, list[list[float]]]:
    pairs: list[tuple[object, object]] = []
    if isinstance(data, dict):
        pairs = list(data.items())
    elif isinstance(data, list) and data and all(isinstance(d, dict) for d in data):
        pairs = [item for d in data for item in d.items()]
    elif isinstance(data, list):
        pairs = [(d[0], d[1]) for d in data if isinstance(d, (list, tuple)) and len(d) == 2]
    boxes: dict[str, list[list[float]]] = {}
    for second, value in pairs:
        found = _boxes_in(value)
        if found:
            boxes.setdefault(second_key(second), []).extend(found)
    return boxes


def parse_spatial_boxes(raw: object) -> dict[str, list[list[float]]]:
    """`{second: [box, ...]}` from a *where* answer: every box answered for each second (JSON object,
    list of objects, list of `[second, box]` pairs; code fences, single quotes and truncated output
    tolerated); `{}` if none. The benchmark's scorers take the best IoU of a second's boxes."""
    if isinstance(raw, (dict, list)):
        return _boxes_by_second(raw)
    text = answer_text(str(raw or ""))
    for candidate in _json_candidates(text):
        boxes = _boxes_by_second(_loads(candidate))
        if boxes:
            return boxes
    return {}


def parse_spatial_answer(raw: object) -> dict[str, list[float]]:
    """`{second: [x1,y1,x2,y2]}`: the first box of each second of `parse_spatial_boxes` (for callers that
    want one box per second; scoring reads them all)."""
    return {second: boxes[0] for second, boxes in parse_spatial_boxes(raw).items()}


def rescale_spatial(boxes: dict[str, list[list[float]]], input_size: tuple[float, float],
                    original_size: tuple[float, float],
                    box_convention: BoxConvention | str = BoxConvention.PIXELS) -> dict[str, list[list[float]]]:
    """Every second's boxes from the model's `box_convention` on its input frame of `input_size` to the
    original video's pixels. A box that does not rescale to finite numbers is dropped (a second left with
    none is unanswered); a bad size is the caller's error (GeometryError, raised only when there is a box
    to rescale)."""
    if boxes:
        check_size(input_size)
        check_size(original_size)
    out = {}
    for second, bs in boxes.items():
        kept = []
        for box in bs:
            try:
                pixels = convention_to_pixels(box, box_convention, input_size)
                kept.append([round(v, 1) for v in rescale_box(pixels, input_size, original_size)])
            except GeometryError:
                continue
        if kept:
            out[second] = kept
    return out


def spatial_field(boxes: dict[str, list[list[float]]]) -> dict[str, list[float] | list[list[float]]]:
    """Boxes as a results file stores them for the benchmark's scorers: one box per second as a plain box,
    several as a list of boxes (both scorers read either, taking the best IoU)."""
    return {k: bs[0] if len(bs) == 1 else bs for k, bs in boxes.items()}


def render_spatial_answer(boxes: dict[str, Sequence[float]]) -> str:
    """A *where* answer as the practice records teach it: `{"<second>": [x1,y1,x2,y2]}`, whole numbers, compact
    JSON (fewer tokens to get right)."""
    return json.dumps({k: [round(v) for v in box] for k, box in boxes.items()}, separators=(",", ":"))
