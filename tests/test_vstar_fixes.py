"""Issue #15, points 1–6: defects that made o3video's V-STaR numbers differ from the official scorers'."""

import math
import sys
import types
from pathlib import Path

import pytest

from o3video.data.vstar import parse_temporal_answer, second_key, span_seconds
from o3video.eval.judges import exact_judge
from o3video.eval.vstar_metrics import score_record
from o3video.geometry import BoxConvention
from o3video.grammar import parse
from o3video.rewards import score as reward_score


def anno(**over):
    base = {
        "vid": "a", "domain": "traffic", "fps": 30, "width": 640, "height": 360, "frame_count": 300,
        "question": "What moves first?", "answer": "blue circle", "temporal_question": "When does it move?",
        "timestamps": [2, 6], "spatial_question": "Where is the blue circle?", "spatial_question_2": "Where is it?",
        "bboxes": [{"timestamp": 4, "frame_index": 120, "xmin": 0, "ymin": 0, "xmax": 10, "ymax": 10}],
    }
    return base | over


def answered(**over):
    return anno(answer_vqa="blue circle", answer_temporal=[2, 6], answer_temporal_2=[2, 6],
                answer_spatial={}, answer_spatial_2={}) | over


# --- point 1: synthetic V-STaR timestamps are integer seconds, as the benchmark writes them ----------------


def _synth_records():
    from o3video.data.synth import get_preset
    from o3video.data.synth.dataset import scene_rng
    from o3video.data.synth.planner import plan_scene
    from o3video.data.synth.questions import SceneFacts
    from o3video.data.synth.truth import compute_truth
    from o3video.data.synth.vstar_writer import scene_vstar_records

    preset, out = get_preset("easy"), []
    for i in range(3):
        plan = plan_scene(scene_rng(7, 0, i, 0), preset, f"s{i}")
        facts = SceneFacts(compute_truth(plan), preset)
        out += [record for _, record in scene_vstar_records(facts)]
    return out


def test_an_oracle_answering_as_the_prompt_asks_scores_the_same_under_every_protocol():
    """The *where* prompt asks for the whole seconds of the span as keys ("4"); the official scorers look
    them up under str(timestamp), so a synthetic timestamp written as 4.0 ("4.0") made a perfect answer
    score 0 there and 1 in o3video."""
    from o3video.eval.judges import official_rating
    from o3video.eval.vstar_official import official_report

    results = []
    for r in _synth_records():
        boxes = {str(b["timestamp"]): [b["xmin"], b["ymin"], b["xmax"], b["ymax"]] for b in r["bboxes"]}
        assert set(boxes) <= {str(s) for s in span_seconds(r)}  # keyed exactly as the prompt asks
        results.append(r | {"answer_vqa": r["answer"], "answer_temporal": r["timestamps"], "answer_temporal_2": r["timestamps"],
                            "answer_spatial": boxes, "answer_spatial_2": boxes})
    assert results
    judge = lambda q, gt, c: official_rating(str(exact_judge(q, gt, c)))  # noqa: E731
    ours = [score_record(i, r, exact_judge) for i, r in enumerate(results)]
    assert all(s.viou == (1.0, 1.0) and s.tiou == (1.0, 1.0) for s in ours)
    for scorer in ("vstar", "open-o3"):
        rep = official_report(results, judge, scorer)
        assert [(r.tiou, r.viou) for r in rep.records] == [(s.tiou, s.viou) for s in ours], scorer


# --- point 2: several boxes for one second: the best IoU ----------------------------------------------------


def test_several_boxes_for_one_second_score_the_best_iou():
    s = score_record(0, answered(answer_spatial={"4": [[0, 0, 10, 30], [0, 0, 10, 10]]}), exact_judge)
    assert s.viou[0] == 1.0  # the first box alone has IoU 1/3


# --- point 3: a string span is read as a span, and an unreadable one does not block the raw text --------------


def test_a_string_span_is_a_span():
    s = score_record(0, answered(answer_temporal="[4, 8]"), exact_judge)
    assert s.tiou[0] == pytest.approx(2 / 6)


def test_an_unreadable_parsed_span_falls_back_to_the_raw_answer():
    s = score_record(0, answered(answer_temporal="n/a", answer_temporal_pre="From <t>2</t>s to <t>6</t>s"), exact_judge)
    assert s.tiou[0] == 1.0


# --- point 4: a number with several dots is no time ---------------------------------------------------------


@pytest.mark.parametrize("text", [".3.0", "5.5.1", "1.2.3s"])
def test_times_with_several_dots_are_unreadable(text):
    c = parse(f"<think>The <obj>car</obj><box>[0,0,10,10]</box>at<t>{text}</t>s and at <t>2</t>s.</think><answer>x</answer>")
    assert c.times == [2.0]
    assert c.claims[0].time is None and not c.complete_claims
    assert any("unreadable time" in p for p in c.problems)
    assert parse_temporal_answer(f"From <t>{text}</t>s to <t>8</t>s") == []


def test_rewards_treat_a_time_with_several_dots_as_unreadable():
    sample = {"task": "temporal-spatial free-form QA", "answer": "x", "image_size": [100, 100],
              "key_frames": [{"idx": 0, "time": 0.3, "path": "f.png"}], "key_items": {"0": {"car": [[0, 0, 0.1, 0.1]]}}}
    out = reward_score("<think>The <obj>car</obj><box>[0,0,10,10]</box>at<t>.3.0</t>s</think><answer>x</answer>", sample)
    assert out["temporal"] == 0.0 and out["spatial"] == 0.0
    span = {"task": "temporal QA", "answer": "[5, 6]"}
    assert reward_score("<think>a</think><answer>From <t>5.5.1</t>s to <t>6</t>s</answer>", span)["accuracy"] == 0.0


# --- point 5: the old second_frame key form ------------------------------------------------------------------


def test_old_second_frame_keys_are_the_second():
    assert second_key("4_120") == "4" and second_key("4") == "4" and second_key(4.0) == "4"
    s = score_record(0, answered(answer_spatial={"4_120": [0, 0, 10, 10]}), exact_judge)
    assert s.viou[0] == 1.0
    old_gt = anno(bboxes=[{"4_120": {"xmin": 0, "ymin": 0, "xmax": 10, "ymax": 10}}])
    s = score_record(0, old_gt | {"answer_vqa": "x", "answer_temporal": [], "answer_temporal_2": [],
                                  "answer_spatial": {"4": [0, 0, 10, 10]}}, exact_judge)
    assert s.viou[0] == 1.0


# --- point 6: results fields the official scorers read hold what they expect ---------------------------------


COMPLETIONS = {
    "what": "<think>The <obj>blue circle</obj><box>[0,0,5,5]</box>at<t>2</t>s moves.</think><answer>The blue circle.</answer>",
    "when_1": "<think>It moves at <t>2</t>s.</think><answer>From <t>2</t>s to <t>6</t>s</answer>",
    "where_1": '<think>x</think><answer>{"4": [0, 0, 5, 5]}</answer>',
    "where_2": '<think>x</think><answer>{"4": [[0, 0, 5, 5], [1, 1, 4, 4]]}</answer>',
    "when_2": "<think>x</think><answer>From <t>3</t>s to <t>6</t>s</answer>",
}


@pytest.fixture
def fake_model(monkeypatch):
    """ask_record with generation and frame sampling replaced: the model answers COMPLETIONS, its input is
    half the original size."""
    from o3video.data.vstar import vstar_prompts

    frames = types.SimpleNamespace(frames=[types.SimpleNamespace(timestamp=0.0)], duration=10.0, input_size=(320, 180))
    kinds = [p.kind for p in vstar_prompts(anno())]
    import o3video.eval.vstar_run as vstar_run

    prompt = types.SimpleNamespace(build_messages=lambda *a, **k: None)
    monkeypatch.setattr(vstar_run, "sample_video", lambda video, cfg, model: frames)
    monkeypatch.setitem(sys.modules, "o3video.video.prompt", prompt)
    return types.SimpleNamespace(ask=lambda batch, **k: [COMPLETIONS[k_] for k_ in kinds],  # a VideoModel
                                 box_convention=BoxConvention.PIXELS)


def test_results_fields_hold_what_the_official_scorers_read(fake_model):
    from o3video.eval.vstar_run import VStarRunConfig, ask_record

    cfg = VStarRunConfig(anno=Path("a.json"), videos=Path("."), model="m", out=Path("o.jsonl"))
    line = anno() | ask_record(fake_model, 0, anno(), Path("v.mp4"), cfg)
    # what both scorers hand the judge: the answer, not the reasoning
    assert line["answer_vqa"] == "The blue circle."
    assert line["answer_vqa_raw_output"] == COMPLETIONS["what"]
    # both: answer_temporal[_2] a list of two numbers; the paper's also answer_temporal_pre[_2] as text
    assert line["answer_temporal"] == [2.0, 6.0] and line["answer_temporal_2"] == [3.0, 6.0]
    assert line["answer_temporal_pre"] == COMPLETIONS["when_1"] and isinstance(line["answer_temporal_pre_2"], str)
    # both: answer_spatial[_2] a dict keyed by str(timestamp), a box or a list of boxes, original pixels
    gt_key = str(anno()["bboxes"][0]["timestamp"])
    assert line["answer_spatial"] == {gt_key: [0.0, 0.0, 10.0, 10.0]} and line["box_convention"] == "pixels"
    assert line["answer_spatial_2"] == {gt_key: [[0.0, 0.0, 10.0, 10.0], [2.0, 2.0, 8.0, 8.0]]}
    from o3video.eval.judges import official_rating
    from o3video.eval.vstar_official import official_record

    judge = lambda q, gt, c: official_rating(str(exact_judge(q, gt, c)))  # noqa: E731
    for scorer in ("vstar", "open-o3"):
        rec = official_record(0, line, judge, scorer)
        assert (rec.score, rec.tiou, rec.viou) == (3, (1.0, 0.75), (1.0, 1.0)), scorer
    assert not math.isnan(score_record(0, line, exact_judge).viou[1])
