"""Property-based checks: parsing and scoring never raise on arbitrary text and stay within range."""

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
