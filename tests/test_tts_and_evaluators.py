"""Test-time scaling votes, evidence crops, and the MCQ / temporal-grounding evaluators."""

import json
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from o3video.cli import main
from o3video.eval.grounding import grounding_metrics, grounding_truth
from o3video.eval.mcq import faithfulness_probe, frames_near, mcq_metrics, mcq_question
from o3video.grammar import Claim
from o3video.tasks import Task
from o3video.tts import Response, answer_key, confidence_vote, crop_evidence, majority_vote, parse_evidence_score


def R(key, scores=()):
    return Response(completion="", answer=key, key=key, evidence_scores=list(scores))


def test_majority_vote_and_ties():
    assert majority_vote([R("A"), R("B"), R("B")]) == "B"
    assert majority_vote([R("B"), R("A"), R("A"), R("B")]) == "B"  # tie: the key seen first
    assert majority_vote([R(None), R(None)]) is None


def test_confidence_vote_weights_by_mean_evidence_score():
    # A is the majority, but its evidence is irrelevant; B's two answers cite supportive crops
    responses = [R("A", [0]), R("A", [0, 1]), R("A"), R("B", [2, 2]), R("B", [2, 1])]
    assert majority_vote(responses) == "A"
    assert confidence_vote(responses) == "B"  # 0 + 0.5 + 0 = 0.5 vs 2 + 1.5 = 3.5
    assert [r.weight for r in responses] == [0, 0.5, 0, 2, 1.5]


def test_confidence_vote_ties_and_no_evidence():
    # responses with no evidence weigh 0 (the lowest)
    assert confidence_vote([R("A"), R("A"), R("B", [1])]) == "B"
    # equal weight: the more frequent answer
    assert confidence_vote([R("A", [2]), R("B", [1]), R("B", [1])]) == "B"
    # equal weight and count: the one seen first
    assert confidence_vote([R("B", [1]), R("A", [1])]) == "B"
    # nobody has evidence: majority vote
    assert confidence_vote([R("A"), R("B"), R("B")]) == "B"
    assert confidence_vote([]) is None


def test_answer_keys():
    assert answer_key("B.", Task.GENERAL_MCQ) == "B"
    assert answer_key("(c)", Task.GENERAL_MCQ) == "C"
    assert answer_key("B. two people", Task.GENERAL_MCQ) == "B"
    assert answer_key("From <t>1</t>s to <t>2</t>s.\nCorrect Option: D", Task.TEMPORAL_MCQ) == "D"
    assert answer_key("The Blue circle!", Task.GENERAL_FREE) == "blue circle"
    assert answer_key("", Task.GENERAL_MCQ) is None and answer_key(None, Task.GENERAL_FREE) is None


@dataclass
class F:
    timestamp: float
    image: Image.Image


def frames_with_marks():
    """Frames 40x30 whose pixel value encodes the frame number (10, 20, 30, ...)."""
    return [F(float(t), Image.fromarray(np.full((30, 40, 3), 10 * (i + 1), np.uint8))) for i, t in enumerate([0, 1, 2, 3])]


def test_crops_come_from_the_frame_nearest_the_cited_time_and_are_clipped():
    frames = frames_with_marks()
    claims = [Claim("a", ((5, 5, 15, 15),), 2.2), Claim("b", ((30, 20, 60, 50), (-10, -10, 2, 2)), 0.4), Claim("c", ((1, 1, 9, 9),), None)]
    crops = crop_evidence(frames, claims)
    assert len(crops) == 2  # the 2x2 remnant of the second box and the time-less claim give no crop
    assert crops[0].size == (10, 10) and np.asarray(crops[0])[0, 0, 0] == 30  # frame at t=2
    assert crops[1].size == (10, 10) and np.asarray(crops[1])[0, 0, 0] == 10  # clipped to 40x30, frame at t=0


def test_evidence_score_parsing():
    assert parse_evidence_score("<think>x</think><answer>2</answer>") == 2
    assert parse_evidence_score("1") == 1
    assert parse_evidence_score("definitely relevant") == 0


def test_frames_near_cited_times():
    frames = frames_with_marks()
    assert frames_near(frames, [2.1]) == {2, 3}
    assert frames_near(frames, [0.0, 3.0]) == {0, 1, 2, 3}


def test_mcq_question_formats_options():
    assert mcq_question({"question": "How many?", "options": ["one", "two"]}) == "How many?\nOptions:\nA. one\nB. two"
    assert mcq_question({"question": "How many?", "options": ["A. one", "B. two"]}).endswith("A. one\nB. two")
    assert mcq_question({"question": "Q\nA. x\nB. y"}) == "Q\nA. x\nB. y"


def test_mcq_metrics_on_a_known_file():
    results = [
        {"answer": "A", "category": "count", "predictions": {"majority": "A", "confidence": "A"}},
        {"answer": "B", "category": "count", "predictions": {"majority": "A", "confidence": "B"}},
        {"answer": "C", "category": "colour", "predictions": {"majority": "C", "confidence": None}},
        {"answer": "D", "category": "colour", "error": "no video"},
    ]
    m = mcq_metrics(results)
    assert m["n"] == 3 and m["errors"] == 1
    assert m["accuracy"] == pytest.approx({"confidence": 2 / 3, "majority": 2 / 3})
    assert m["per_category"]["count"] == {"confidence": 1.0, "majority": 0.5}
    assert m["per_category"]["colour"] == {"confidence": 0.0, "majority": 1.0}


def test_faithfulness_metrics_on_a_known_file():
    results = [
        {"answer": "A", "predictions": {"greedy": "A"}, "faithfulness": {"removed": 2, "evidence_removed": "B", "random_removed": "A"}},
        {"answer": "B", "predictions": {"greedy": "B"}, "faithfulness": {"removed": 4, "evidence_removed": "C", "random_removed": "C"}},
        {"answer": "C", "predictions": {"greedy": "A"}, "faithfulness": {"removed": 0, "evidence_removed": None, "random_removed": None}},
    ]
    f = mcq_metrics(results)["faithfulness"]
    assert f["accuracy_all_frames"] == pytest.approx(2 / 3)
    assert f["accuracy_evidence_removed"] == 0.0 and f["accuracy_random_removed"] == pytest.approx(1 / 3)
    assert f["drop_evidence_removed"] == pytest.approx(2 / 3) and f["drop_random_removed"] == pytest.approx(1 / 3)
    assert f["with_cited_times"] == 2


def test_faithfulness_probe_removes_the_cited_frames():
    import random

    from o3video.eval.mcq import MCQRunConfig
    import o3video.eval.mcq as mcq

    seen = []
    original = mcq._greedy
    mcq._greedy = lambda model, frames, duration, question, cfg: seen.append([f.timestamp for f in frames]) or "<answer>B</answer>"
    try:
        out = faithfulness_probe(None, frames_with_marks(), 4.0, "q", "<think>at <t>0.2</t>s</think><answer>A</answer>",
                                 MCQRunConfig(anno=None, videos=None, model="", out=None), random.Random(0))
    finally:
        mcq._greedy = original
    assert out == {"removed": 2, "evidence_removed": "B", "random_removed": "B"}
    assert seen[0] == [2.0, 3.0] and len(seen[1]) == 2


def test_grounding_metrics_on_a_known_file():
    results = [
        {"query": "q", "span": [2, 6], "predicted_span": [2, 6]},
        {"query": "q", "answer": "[0, 10]", "predicted_span": [0, 4]},
        {"query": "q", "timestamp": [1, 2], "completion": "From <t>3</t>s to <t>4</t>s"},
        {"query": "q", "span": [1, 2], "error": "no video"},
    ]
    m = grounding_metrics(results)
    assert m["n"] == 3 and m["errors"] == 1
    assert m["mean_iou"] == pytest.approx((1 + 0.4 + 0) / 3)
    assert (m["R1@0.3"], m["R1@0.5"], m["R1@0.7"]) == pytest.approx((2 / 3, 1 / 3, 1 / 3))
    assert grounding_truth({"answer": "[1.5, 4.0]"}) == (1.5, 4.0)


@pytest.mark.slow
def test_mcq_command_with_tts_and_faithfulness_end_to_end(synth_easy, tiny_model, tmp_path):
    out = tmp_path / "mcq.jsonl"
    code = main(["eval", "mcq", "--anno", str(synth_easy / "mcq_test.json"), "--videos", str(synth_easy / "videos"),
                 "--model", str(tiny_model), "--out", str(out), "--frames", "4", "--max-new-tokens", "8", "--limit", "2",
                 "--tts", "confidence", "--n", "3", "--faithfulness"])
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2
    assert set(rows[0]["predictions"]) == {"greedy", "majority", "confidence"}
    assert len(rows[0]["tts"]["responses"]) == 3
    metrics = json.loads((tmp_path / "mcq.metrics.json").read_text())
    assert metrics["n"] == 2 and set(metrics["accuracy"]) == {"greedy", "majority", "confidence"}
    assert "faithfulness" in metrics


def test_tg_command_end_to_end(synth_easy, tiny_model, tmp_path):
    out = tmp_path / "tg.jsonl"
    code = main(["eval", "tg", "--anno", str(synth_easy / "temporal_grounding_test.json"), "--videos", str(synth_easy / "videos"),
                 "--model", str(tiny_model), "--out", str(out), "--frames", "4", "--max-new-tokens", "8", "--limit", "2"])
    assert code == 0
    metrics = json.loads((tmp_path / "tg.metrics.json").read_text())
    assert metrics["n"] == 2 and 0.0 <= metrics["mean_iou"] <= 1.0
    assert main(["eval", "tg", "--results", str(out)]) == 0
