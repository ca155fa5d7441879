"""Every reward term of docs/design.md §3 against hand-computed expectations."""

import math

import pytest

from o3video.grammar import parse
from o3video.rewards import (
    RewardInputError,
    accuracy_reward,
    format_reward,
    proximity_sigma,
    read_truth,
    reward_functions,
    score,
    spatial_reward,
    temporal_reward,
)
from o3video.tasks import Task

SIZE = [100, 100]


def st_sample(**over):
    sample = {
        "task": "temporal-spatial free-form QA",
        "question": "What does the red car do?",
        "answer": "the red car turns left",
        "video_path": "v.mp4",
        "key_frames": [{"idx": 10, "time": 5.0, "path": "a.png"}, {"idx": 40, "time": 20.0, "path": "b.png"}],
        "key_items": {
            "10": {"red car": [[0.1, 0.1, 0.5, 0.5]], "tree": [[0.6, 0.0, 0.9, 0.3]]},
            "40": {"red car": [[0.5, 0.5, 0.9, 0.9]]},
        },
        "image_size": SIZE,
    }
    return sample | over


def think(body, answer="x"):
    return parse(f"<think>{body}</think><answer>{answer}</answer>")


# --- σ schedule ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("p, sigma", [(0.0, 4.0), (0.5, 2.0), (0.75, 1.0), (1.0, 1.0), (0.25, 3.0), (-1, 4.0), (2, 1.0)])
def test_adaptive_sigma(p, sigma):
    assert proximity_sigma(p) == pytest.approx(sigma)


# --- accuracy -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, expected", [("B", 1), ("B.", 1), ("(B)", 1), ("[B]", 1), (" B ", 1), ("C", 0), ("B. two", 0), ("", 0)])
def test_mcq_accuracy(answer, expected):
    truth = read_truth({"task": "General video QA MCQ", "answer": "B"})
    assert accuracy_reward(think("t", answer), truth) == expected


def test_free_form_accuracy_is_mean_rouge():
    truth = read_truth({"task": "General video QA Free-form", "answer": "the red car turns left"})
    assert accuracy_reward(think("t", "the red car turns left"), truth) == pytest.approx(1.0)
    # R1 F = 2·1·(3/5)/(1+3/5) = 0.75; R2 F = 2·1·(2/4)/(1.5) = 2/3; RL F = 0.75
    assert accuracy_reward(think("t", "the red car"), truth) == pytest.approx((0.75 + 2 / 3 + 0.75) / 3)
    assert accuracy_reward(think("t", "blue sky"), truth) == 0.0
    assert accuracy_reward(parse("no tags at all"), truth) == 0.0


def test_stemmed_rouge():
    truth = read_truth({"task": "General video QA Free-form", "answer": "dogs running"})
    assert accuracy_reward(think("t", "dog runs"), truth) == pytest.approx(1.0)


def test_temporal_accuracy_is_tiou():
    truth = read_truth({"task": "temporal QA", "answer": "[3.5, 7.0]"})
    assert accuracy_reward(think("t", "From <t>3.5</t>s to <t>7.0</t>s"), truth) == pytest.approx(1.0)
    assert accuracy_reward(think("t", "From <t>5</t>s to <t>9</t>s"), truth) == pytest.approx(2 / 5.5)
    assert accuracy_reward(think("t", "From <t>9</t>s to <t>5</t>s"), truth) == 0.0  # reversed span
    assert accuracy_reward(think("t", "From 3.5s to 7s"), truth) == 0.0  # no <t> tags


def test_temporal_mcq_accuracy_is_letter_plus_tiou():
    truth = read_truth({"task": "temporal QA (MCQ)", "answer": "B\n[10.0, 14.0]"})
    full = "From <t>10</t>s to <t>14</t>s.\nCorrect Option: B"
    assert accuracy_reward(think("t", full), truth) == pytest.approx(2.0)
    half = "From <t>10</t>s to <t>12</t>s.\nCorrect Option: (B)"
    assert accuracy_reward(think("t", half), truth) == pytest.approx(1.5)
    wrong = "From <t>10</t>s to <t>12</t>s.\nCorrect Option: A"
    assert accuracy_reward(think("t", wrong), truth) == pytest.approx(0.5)


def test_visual_accuracy_rescales_ground_truth_to_model_input():
    sample = {"task": "visual QA", "answer": "<obj>cup</obj><box>[200,150,300,260]</box>",
              "image_size": [448, 336], "original_image_size": [640, 480]}
    truth = read_truth(sample)
    assert truth.box == pytest.approx((140, 105, 210, 182))
    assert accuracy_reward(think("t", "<obj>cup</obj><box>[140,105,210,182]</box>"), truth) == pytest.approx(1.0)
    # the same numbers as the original-pixel box are wrong in model-input space
    assert accuracy_reward(think("t", "<obj>cup</obj><box>[200,150,300,260]</box>"), truth) < 0.1


# --- thinking: temporal ---------------------------------------------------------------------------------

def test_point_supervision_with_adaptive_sigma():
    truth = read_truth(st_sample())
    c = think("at <t>5</t>s and at <t>9</t>s")  # Δ = 0 and 4
    assert temporal_reward(c, truth, progress=0.0) == pytest.approx((1 + math.exp(-16 / 32)) / 2)
    assert temporal_reward(c, truth, progress=0.5) == pytest.approx((1 + math.exp(-16 / 8)) / 2)
    assert temporal_reward(c, truth, progress=1.0) == pytest.approx((1 + math.exp(-8)) / 2)
    assert temporal_reward(c, truth, progress=0.0, sigma=1.0) == pytest.approx((1 + math.exp(-8)) / 2)


def test_point_supervision_uses_nearest_key_time():
    truth = read_truth(st_sample())
    assert temporal_reward(think("<t>19</t>s"), truth, progress=1.0) == pytest.approx(math.exp(-1 / 2))


def test_interval_supervision():
    truth = read_truth({"task": "temporal QA", "answer": "[3.5, 7.0]"})
    assert temporal_reward(think("<t>1</t>s <t>3.5</t>s <t>7</t>s <t>9</t>s"), truth) == pytest.approx(0.5)
    truth = read_truth({"task": "temporal QA (MCQ)", "answer": "A\n[3.5, 7.0]"})
    assert temporal_reward(think("<t>4</t>s <t>5</t>s"), truth) == 1.0


def test_no_timestamps_and_unsupervised_tasks_score_zero():
    assert temporal_reward(think("no times"), read_truth(st_sample())) == 0.0
    general = read_truth({"task": "General video QA Free-form", "answer": "a"})
    assert temporal_reward(think("<t>1</t>s"), general) == 0.0


# --- thinking: spatial with temporal gating -------------------------------------------------------------

def claim(t, box="[10,10,50,50]", name="red car"):
    return f"<obj>{name}</obj><box>{box}</box>at<t>{t}</t>s "


def test_spatial_reward_perfect_claim():
    truth = read_truth(st_sample())
    assert spatial_reward(think(claim(5)), truth) == pytest.approx(1.0)


def test_gating_uses_absolute_time_difference_before_and_after():
    """Key times 5 s and 20 s. A claim at 10 s lies after 5 and before 20: its nearest key frame is 5 s,
    5 s away, beyond τ = 3 → 0. The reference code's `gt − t < threshold` test (no abs) would accept it."""
    truth = read_truth(st_sample())
    assert spatial_reward(think(claim(10)), truth) == 0.0
    assert spatial_reward(think(claim(2)), truth) == pytest.approx(1.0)  # 3 s before 5 s: inside the gate
    assert spatial_reward(think(claim(1.9)), truth) == 0.0  # 3.1 s before: outside
    assert spatial_reward(think(claim(23, "[50,50,90,90]")), truth) == pytest.approx(1.0)  # 3 s after 20 s
    assert spatial_reward(think(claim(24, "[50,50,90,90]")), truth) == 0.0  # after every key time, 4 s away
    both = think(claim(5) + claim(10))
    assert spatial_reward(both, truth) == pytest.approx(0.5)  # mean over the claims


def test_gating_off_scores_every_claim_at_its_nearest_frame():
    truth = read_truth(st_sample())
    assert spatial_reward(think(claim(10)), truth, tau=None) == pytest.approx(1.0)
    assert spatial_reward(think(claim(24, "[50,50,90,90]")), truth, tau=None) == pytest.approx(1.0)


def test_spatial_takes_max_over_claim_boxes_and_frame_boxes():
    truth = read_truth(st_sample())
    # second box matches the tree (60,0,90,30) exactly; the first overlaps nothing
    c = think("<obj>tree</obj><box>[0,90,5,95]</box><box>[60,0,90,30]</box>at<t>5</t>s")
    assert spatial_reward(c, truth) == pytest.approx(1.0)
    half = think(claim(5, "[10,10,50,30]"))  # half of the car's box
    assert spatial_reward(half, truth) == pytest.approx(0.5)


def test_spatial_counts_only_complete_claims_and_zero_without_any():
    truth = read_truth(st_sample())
    assert spatial_reward(think("nothing grounded"), truth) == 0.0
    assert spatial_reward(think("<obj>car</obj><box>[10,10,50,50]</box> no time"), truth) == 0.0


def test_visual_spatial_is_best_think_box():
    truth = read_truth({"task": "visual QA", "answer": "[0,0,10,10]", "image_size": [10, 10]})
    assert spatial_reward(think("<obj>a</obj><box>[0,0,5,10]</box> <obj>b</obj><box>[0,0,10,10]</box>"), truth) == 1.0
    assert spatial_reward(think("no boxes"), truth) == 0.0


def test_temporal_tasks_have_no_spatial_term():
    truth = read_truth({"task": "temporal QA", "answer": "[0, 5]"})
    assert spatial_reward(think(claim(1)), truth) == 0.0


# --- format --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "task, text, expected",
    [
        (Task.SPATIO_TEMPORAL, f"<think>{claim(5)}</think><answer>a</answer>", 1.0),
        (Task.SPATIO_TEMPORAL, "<think>no grounding</think><answer>a</answer>", 0.5),
        (Task.SPATIO_TEMPORAL, "<think><obj>car</obj><box>[1,2,3,4]</box> at 5s</think><answer>a</answer>", 0.5),
        (Task.TEMPORAL, "<think><t>1</t>s to <t>2</t>s</think><answer>From <t>1</t>s to <t>2</t>s</answer>", 1.0),
        (Task.TEMPORAL, "<think><t>1</t>s</think><answer>From <t>1</t>s to <t>2</t>s</answer>", 0.5),
        (Task.TEMPORAL_MCQ, "<think><t>1</t>s <t>2</t>s</think><answer>From <t>1</t>s to <t>2</t>s.\nCorrect Option: A</answer>", 1.0),
        (Task.VISUAL, "<think>look</think><answer><obj>cup</obj><box>[1,2,3,4]</box></answer>", 1.0),
        (Task.VISUAL, "<think>look</think><answer>on the table</answer>", 0.5),
        (Task.GENERAL_MCQ, "<think>two</think>\n<answer>B</answer>", 1.0),
        (Task.GENERAL_FREE, "<think>wet</think><answer>rain</answer>", 1.0),
        (Task.GENERAL_FREE, "rain", 0.0),
        (Task.GENERAL_FREE, "<think>a</think>", 0.0),
        (Task.GENERAL_FREE, "<think>a</think><answer>b</answer><answer>c</answer>", 0.0),
        (Task.SPATIO_TEMPORAL, "<think><obj>car</obj><box>[1,2,3,4]at<t>5</t>s</think><answer>a</answer>", 0.0),
        (Task.GENERAL_FREE, "<think><t>3</think><answer>b</answer>", 0.0),  # unbalanced tags
    ],
)
def test_format_reward(task, text, expected):
    assert format_reward(parse(text), task) == expected


# --- score() and the TRL callables --------------------------------------------------------------------

def test_score_returns_the_five_numbers_and_total_is_their_sum():
    text = f"<think>{claim(5)}{claim(20, '[50,50,90,90]')}</think><answer>the red car turns left</answer>"
    out = score(text, st_sample(), progress=0.3)
    assert set(out) == {"accuracy", "temporal", "spatial", "format", "total"}
    assert out["accuracy"] == pytest.approx(1.0) and out["temporal"] == pytest.approx(1.0)
    assert out["spatial"] == pytest.approx(1.0) and out["format"] == 1.0
    assert out["total"] == pytest.approx(4.0)


def test_score_ablation_switches():
    text = f"<think>{claim(10)}</think><answer>x</answer>"
    assert score(text, st_sample())["spatial"] == 0.0
    assert score(text, st_sample(), tau=None)["spatial"] == pytest.approx(1.0)
    assert score(text, st_sample(), progress=0.0)["temporal"] == pytest.approx(math.exp(-25 / 32))
    assert score(text, st_sample(), progress=0.0, sigma=1.0)["temporal"] == pytest.approx(math.exp(-25 / 2))


@pytest.mark.parametrize(
    "sample, field",
    [
        ({"answer": "a"}, "task"),
        ({"task": "nope", "answer": "a"}, "task"),
        ({"task": "General video QA MCQ"}, "answer"),
        ({"task": "General video QA MCQ", "answer": "two"}, "answer"),
        ({"task": "temporal QA", "answer": "soon"}, "answer"),
        ({"task": "visual QA", "answer": "<box>[1,2,3,4]</box>"}, "image_size"),
        ({"task": "temporal-spatial free-form QA", "answer": "a", "key_frames": []}, "image_size"),
        ({"task": "temporal-spatial free-form QA", "answer": "a", "image_size": [9, 9], "key_frames": [{"time": 1}]}, "key_frames"),
    ],
)
def test_malformed_samples_raise_naming_the_field(sample, field):
    with pytest.raises(RewardInputError, match=field):
        score("<think>a</think><answer>b</answer>", sample)


def test_trl_callables_score_each_sample_by_its_own_task_and_read_progress():
    from transformers import TrainerState

    funcs = reward_functions()
    assert [f.__name__ for f in funcs] == ["accuracy_reward", "temporal_reward", "spatial_reward", "format_reward"]
    mcq = {"task": "General video QA MCQ", "answer": "B", "key_frames": None, "key_items": None, "image_size": None}
    st = st_sample()
    columns = {k: [mcq.get(k), st.get(k)] for k in ("task", "answer", "key_frames", "key_items", "image_size")}
    completions = [
        [{"role": "assistant", "content": "<think>two</think><answer>B</answer>"}],
        [{"role": "assistant", "content": [{"type": "text", "text": "<think>at <t>9</t>s</think><answer>x</answer>"}]}],
    ]
    state = TrainerState(global_step=0, max_steps=100)
    acc, temporal, spatial, fmt = (f(prompts=["p", "p"], completions=completions, trainer_state=state, **columns) for f in funcs)
    assert acc[0] == 1.0  # a batch whose first element is MCQ must not score the second as MCQ
    assert fmt == [1.0, 0.5]
    assert temporal[1] == pytest.approx(math.exp(-16 / 32))  # σ = 4 at step 0
    state.global_step = 100
    late = funcs[1](prompts=["p", "p"], completions=completions, trainer_state=state, **columns)
    assert late[1] == pytest.approx(math.exp(-8))  # σ = 1 at the end
    assert spatial == [0.0, 0.0]


def test_reward_functions_reject_unknown_terms():
    with pytest.raises(ValueError, match="unknown reward terms"):
        reward_functions(terms=["accuracy", "vibes"])
