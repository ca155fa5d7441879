"""Property-based checks: parsing and scoring never raise on arbitrary text and stay within range."""

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from o3video.geometry import box_iou, temporal_iou
from o3video.grammar import Claim, parse, render_claim, render_completion
from o3video.rewards import score

SAMPLES = [
    {"task": "temporal-spatial free-form QA", "answer": "the cup", "image_size": [64, 48],
     "key_frames": [{"idx": 1, "time": 1.0, "path": "a"}, {"idx": 5, "time": 4.0, "path": "b"}],
     "key_items": {"1": {"cup": [[0.1, 0.1, 0.5, 0.5]]}, "5": {"cup": [[0.2, 0.2, 0.9, 0.9]]}}},
    {"task": "temporal QA", "answer": "[1.0, 3.0]"},
    {"task": "temporal QA (MCQ)", "answer": "B\n[1.0, 3.0]"},
    {"task": "visual QA", "answer": "<box>[1,1,20,20]</box>", "image_size": [64, 48], "original_image_size": [128, 96]},
    {"task": "General video QA MCQ", "answer": "C"},
    {"task": "General video QA Free-form", "answer": "it rains"},
]
MAX_ACCURACY = {"temporal QA (MCQ)": 2.0}

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6))
fragments = st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "<obj>", "</obj>", "<box>", "</box>",
                             "<t>", "</t>", "s", "at", "[", "]", ",", " ", "\n", "cup", "Correct Option:", "From", "to"])
grounded_text = st.lists(st.one_of(fragments, numbers.map(str), st.text(max_size=5)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), grounded_text))
def test_parse_never_raises(text):
    c = parse(text)
    assert all(math.isfinite(t) for t in c.times + c.answer_times)
    assert all(len(b) == 4 and all(math.isfinite(v) for v in b) for b in c.boxes + c.answer_boxes)
    assert all(cl.time is None or math.isfinite(cl.time) for cl in c.claims)


@settings(max_examples=300, deadline=None)
@given(grounded_text, st.sampled_from(SAMPLES), st.floats(allow_nan=False, allow_infinity=False, min_value=-2, max_value=3),
       st.one_of(st.none(), st.floats(min_value=0.1, max_value=10)), st.one_of(st.none(), st.floats(min_value=0, max_value=10)))
def test_score_never_raises_and_stays_in_range(text, sample, progress, sigma, tau):
    out = score(text, sample, progress, sigma=sigma, tau=tau)
    assert 0.0 <= out["accuracy"] <= MAX_ACCURACY.get(sample["task"], 1.0)
    for term in ("temporal", "spatial"):
        assert 0.0 <= out[term] <= 1.0
    assert out["format"] in (0.0, 0.5, 1.0)
    assert math.isclose(out["total"], out["accuracy"] + out["temporal"] + out["spatial"] + out["format"])


@settings(max_examples=200, deadline=None)
@given(st.lists(numbers, min_size=0, max_size=6), st.lists(numbers, min_size=0, max_size=6))
def test_iou_in_unit_range_for_any_numbers(a, b):
    assert 0.0 <= box_iou(a, b) <= 1.0
    assert 0.0 <= temporal_iou(a[:2], b[:2]) <= 1.0


coords = st.floats(min_value=0, max_value=2000, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="<>", blacklist_categories=("Cs",)), min_size=1, max_size=20).filter(str.strip),
       st.lists(st.tuples(coords, coords, coords, coords), min_size=1, max_size=3), st.floats(min_value=0, max_value=3600))
def test_rendered_claims_parse_back(name, boxes, time):
    claim = Claim(name, tuple(boxes), time)
    parsed = parse(render_completion(render_claim(claim, decimals=2, time_decimals=2), "a"))
    assert len(parsed.claims) == 1
    back = parsed.claims[0]
    assert back.object == " ".join(name.split())
    assert len(back.boxes) == len(boxes)
    assert all(abs(x - y) <= 0.006 for bb, ob in zip(back.boxes, boxes) for x, y in zip(bb, ob))
    assert abs(back.time - time) <= 0.006


# --- issue #12: total and finite on hostile model output and malformed samples ------------------------------
# What models emit at their worst: deep brackets, runs of digits, m:ss with absurd minutes, non-finite words.

hostile = st.sampled_from(["[" * 1200, "{" * 50, "]", "}", "```json\n", "```", '"', "'", ":", "9" * 400, "1" * 4400,
                           "1" * 4301 + ":30", "12:05", "1e309", "-1e309", "NaN", "Infinity", "-inf", "null", "true",
                           '{"1": [', "[[", ", ", "0.5", "Correct Option: B", "\n[1, 3]"])
hostile_text = st.lists(st.one_of(fragments, hostile, numbers.map(str)), max_size=25).map("".join)
any_text = st.one_of(st.text(), grounded_text, hostile_text)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.integers(10**300, 10**400), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=12,
)


def _finite_numbers(values) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in values)


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_grammar_is_total_and_finite(text):
    from o3video.grammar import (block, map_boxes, parse_answer_box, parse_box, parse_number, parse_option_letter,
                                 parse_span, parse_temporal_truth, read_times, split_temporal_mcq, tags_balanced)

    number = parse_number(text)
    assert number is None or math.isfinite(number)
    for box in (parse_box(text), parse_answer_box(text)):
        assert box is None or (len(box) == 4 and _finite_numbers(box))
    for span in (parse_span(text), parse_temporal_truth(text, with_option=True)[1], parse_temporal_truth(text, with_option=False)[1]):
        assert span is None or _finite_numbers(span)
    assert _finite_numbers(read_times(text))
    assert parse_option_letter(text) in (None, *"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert split_temporal_mcq(text)[0] in (None, *"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert tags_balanced(text) in (True, False)
    assert block(text, "think") is None or "<" in text
    assert map_boxes(text, lambda b: b) is not None


@settings(max_examples=500, deadline=None)
@given(st.one_of(any_text, json_values.map(json.dumps), json_values))
def test_vstar_answer_parsers_are_total_and_finite(raw):
    from o3video.data.vstar import answer_text, parse_spatial_answer, parse_temporal_answer, rescale_spatial

    if isinstance(raw, str):
        answer_text(raw)
    span = parse_temporal_answer(raw)
    assert span == [] or (len(span) == 2 and _finite_numbers(span))
    boxes = parse_spatial_answer(raw) if isinstance(raw, (str, dict, list)) else {}
    assert all(isinstance(k, str) and len(b) == 4 and _finite_numbers(b) for k, b in boxes.items())
    rescaled = rescale_spatial(boxes, (448, 252), (1280, 720))
    assert all(len(b) == 4 and _finite_numbers(b) for b in rescaled.values())
    json.dumps({"span": span, "boxes": rescaled}, allow_nan=False)  # standard JSON whoever writes it


JUNK = [None, True, 0, 5, -1, 10**400, 1e308, -1e308, math.nan, math.inf, -math.inf, "", "x", "1e999", "nan", [], [[]],
        {}, {"a": 1}, [1, 2], [math.nan, 1], [1e308, 1e308], [0, 0, 1, 1], [[0, 0, 1e308, 1]], {"cup": 5}, "[" * 1200]
junk = st.one_of(st.sampled_from(JUNK), st.floats())
key_frame = st.fixed_dictionaries({"idx": st.one_of(st.integers(0, 6), junk), "time": st.one_of(st.floats(-1e308, 1e308), junk)})
malformed_fields = st.fixed_dictionaries({}, optional={
    "task": st.one_of(st.sampled_from([s["task"] for s in SAMPLES]), junk),
    "answer": st.one_of(st.sampled_from([s["answer"] for s in SAMPLES]), hostile_text, junk),
    "image_size": st.one_of(st.sampled_from([[64, 48], [0, 48], [1e-300, 1e-300], [1e308, 1e308]]), junk),
    "original_image_size": st.one_of(st.sampled_from([[1e-300, 1e-300], [1e308, 1], [128, 96]]), junk),
    "key_frames": st.one_of(st.lists(st.one_of(key_frame, junk), max_size=3), junk),
    "key_items": st.one_of(st.dictionaries(st.sampled_from("0156"), st.one_of(
        st.dictionaries(st.just("cup"), st.one_of(st.lists(st.lists(st.floats(), min_size=4, max_size=4), max_size=2), junk),
                        max_size=1), junk), max_size=3), junk),
})
any_float = st.one_of(st.floats(), st.sampled_from([0.0, -1.0, 1e-300, 1e300]))


@settings(max_examples=600, deadline=None)
@given(st.one_of(any_text, st.just(SAMPLES[0]["answer"])), st.sampled_from(SAMPLES), malformed_fields,
       any_float, st.one_of(st.none(), any_float), st.one_of(st.none(), any_float))
def test_score_is_total_and_finite_on_malformed_samples(text, base, changes, progress, sigma, tau):
    from o3video.rewards import RewardInputError

    try:
        out = score(text, {**base, **changes}, progress, sigma=sigma, tau=tau)
    except RewardInputError:
        return  # a malformed sample: an input error naming its field
    except ValueError as err:
        assert str(err).startswith("sigma:") and not (sigma is not None and math.isfinite(sigma) and sigma > 0)
        return
    assert all(math.isfinite(v) for v in out.values())
    assert 0.0 <= out["accuracy"] <= 2.0 and 0.0 <= out["temporal"] <= 1.0 and 0.0 <= out["spatial"] <= 1.0
