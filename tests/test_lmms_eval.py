"""The lmms-eval plugin (`lmms-eval --model o3video`): found through lmms-eval's entry points, its response
gives lmms-eval's scorer the clean answer and its sample log the grounded reasoning, and a local task over
synthetic multiple-choice videos runs end to end on the tiny model."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmms_cli import run_lmms_eval
from lmms_eval.api.reasoning import strip_reasoning_tags

from o3video.errors import InputError
from o3video.eval.lmms_model import (
    O3VideoLMM,
    lmms_response,
    question_task,
    request_video,
)
from o3video.grammar import parse
from o3video.inference import InferenceResult, evidence_of
from o3video.tasks import Task

TASK_DIR = Path(__file__).parent / "lmms_task"
# lmms-eval's default `--reasoning_tags`: what its scoring loop strips before a task's process_results.
DEFAULT_TAGS = [["<think>", "</think>"], ["<analysis>", "</analysis>"]]
GROUNDED = ("<think>The <obj>red square</obj><box>[10,12,40,44]</box>at<t>2.5</t>s turns green, "
            "the <obj>blue circle</obj><box>[60,8,90,30]</box>at<t>4.0</t>s does not.</think><answer> B </answer>")


def result_of(completion: str) -> dict:
    """What `answer_video` reports for `completion` on 112x84 frames of a 224x168 video."""
    parsed = parse(completion)
    return InferenceResult(video="v.mp4", question="q", task=Task.GENERAL_MCQ.value, completion=completion,
                           answer=parsed.answer, think=parsed.think,
                           evidence=evidence_of(parsed, (112, 84), (224, 168)), input_size=(112, 84),
                           source_size=(224, 168), duration=7.0, box_convention="pixels",
                           frame_times=[0.0, 2.5, 4.0], problems=parsed.problems).to_dict()


def test_lmms_eval_finds_o3video_through_its_entry_point():
    """Also when the plugin module was imported first (as here): its entry point must not be an import cycle."""
    from lmms_eval.models import get_model

    assert get_model("o3video") is O3VideoLMM


def test_the_scorer_gets_the_clean_answer_and_the_log_keeps_reasoning_and_evidence():
    response = lmms_response(result_of(GROUNDED))
    assert strip_reasoning_tags(response, DEFAULT_TAGS) == "B"
    think, _, answer = response.removeprefix("<think>").partition("</think>")
    assert answer == "B" and "<obj>red square</obj><box>[10,12,40,44]</box>at<t>2.5</t>s" in think
    facts = json.loads(think.split("\nevidence: ", 1)[1])
    first = facts["evidence"][0]
    assert (first["object"], first["time"], first["box_input"], first["box_original"]) == \
        ("red square", 2.5, [10, 12, 40, 44], [20, 24, 80, 88])
    assert facts["input_size"] == [112, 84] and facts["source_size"] == [224, 168] and facts["problems"] == []
    assert facts["box_convention"] == "pixels" and first["box_answered"] == [10, 12, 40, 44]
    assert lmms_response(result_of(GROUNDED), reasoning=False) == "B"


@pytest.mark.parametrize("completion", ["", "no tags at all", "<think>unfinished", "<answer>C</answer>",
                                        "<think>a<think>b</think>x</think><answer>D</answer>",
                                        "R</think>junk<think>Y", "<analysis>A</analysis><answer>A</answer>"])
def test_a_malformed_completion_is_logged_as_it_is_and_scores_its_answer_or_nothing(completion):
    response = lmms_response(result_of(completion))
    assert strip_reasoning_tags(response, DEFAULT_TAGS) == (parse(completion).answer or "").strip()
    assert response.count("<think>") == response.count("</think>") == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "<analysis>",
                                           "</analysis>", "<obj>", "</obj>", "<box>[1,2,3,4]</box>", "<t>3</t>s"]),
                          st.text(max_size=5)), max_size=30).map("".join))
def test_any_completion_gives_a_response_whose_stripped_text_is_its_answer(completion):
    answer = strip_reasoning_tags(lmms_response(result_of(completion)), DEFAULT_TAGS)
    assert answer == lmms_response(result_of(completion), reasoning=False).strip()
    assert "<think>" not in answer and "</think>" not in answer


def test_the_question_decides_multiple_choice_or_free_form():
    assert question_task("What changes?\nOptions:\nA. red\nB. blue\n(C) green") is Task.GENERAL_MCQ
    assert question_task("What happens after the square turns green?") is Task.GENERAL_FREE


def test_a_request_needs_exactly_one_video_file(tmp_path):
    video = tmp_path / "a.mp4"
    video.write_bytes(b"x")
    assert request_video([str(video)], "t doc 0") == str(video)
    for visuals in ([], [str(video), str(video)], [str(tmp_path / "missing.mp4")], [object()]):
        with pytest.raises(InputError, match="t doc 0: o3video needs exactly one video file"):
            request_video(visuals, "t doc 0")


@pytest.mark.slow
def test_lmms_eval_runs_a_local_video_task_with_grounded_reasoning(synth_easy, tiny_model, tmp_path):
    """`lmms-eval --model o3video` on the synthetic MCQ split (local JSON, offline), 2 docs, samples logged."""
    out = run_lmms_eval("o3video_synth_mcq", TASK_DIR, synth_easy, tiny_model, tmp_path, limit=2)
    (results,) = out.rglob("*_results.json")
    accuracy = json.loads(results.read_text())["results"]["o3video_synth_mcq"]["accuracy,none"]
    assert 0.0 <= accuracy <= 1.0
    (samples,) = out.rglob("*_samples_o3video_synth_mcq.jsonl")
    logged = [json.loads(line) for line in samples.read_text().splitlines()]
    assert [s["doc_id"] for s in logged] == [0, 1]
    for sample in logged:
        response = sample["resps"][0] if isinstance(sample["resps"], list) else sample["resps"]
        think, _, answer = response.removeprefix("<think>").partition("</think>")
        facts = json.loads(think.split("\nevidence: ", 1)[1])
        assert len(facts["frame_times"]) == 4 and "evidence" in facts and "problems" in facts
        filtered = sample["filtered_resps"][0] if isinstance(sample["filtered_resps"], list) else sample["filtered_resps"]
        assert filtered == answer.strip() and sample["accuracy"] in (0.0, 1.0)
