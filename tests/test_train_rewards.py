"""The reward functions as the RL trainer calls them: σ follows progress from the trainer state, the
ablations change what they should, and the RL rows carry what the rewards read."""

import math

import pytest
from transformers import TrainerState

from o3video.train.callbacks import sigma_of_state
from o3video.train.rl import reward_funcs
from o3video.train.train_config import load_config

# A spatio-temporal sample: one key frame at 4.0 s with a box; the completion cites the object 2 s away.
SAMPLE = {
    "task": "temporal-spatial free-form QA",
    "answer": "it stops",
    "key_frames": [{"idx": 16, "time": 4.0}],
    "key_items": {"16": {"red circle": [[0.25, 0.25, 0.5, 0.5]]}},
    "image_size": [112, 84],
}
COMPLETION = ("<think>The <obj>red circle</obj><box>[28,21,56,42]</box>at<t>6.0</t>s stops.</think>"
              "<answer>it stops</answer>")


def rewards_at(progress, overrides=()):
    config = load_config(None, ["model=m", "output_dir=o", "data.train=a", *overrides], stage="rl")
    state = TrainerState(global_step=int(progress * 100), max_steps=100)
    columns = {k: [v] for k, v in SAMPLE.items()}
    return {f.__name__: f(prompts=[None], completions=[[{"role": "assistant", "content": COMPLETION}]],
                          trainer_state=state, **columns)[0] for f in reward_funcs(config)}


@pytest.mark.parametrize(("progress", "sigma"), [(0.0, 4.0), (0.5, 2.0), (0.75, 1.0), (1.0, 1.0)])
def test_sigma_anneals_from_4_to_1_over_the_first_three_quarters(progress, sigma):
    logged_after_the_step = TrainerState(global_step=int(progress * 100) + 1, max_steps=100)
    assert sigma_of_state(None)(logged_after_the_step)["sigma"] == sigma
    temporal = rewards_at(progress)["temporal_reward"]
    assert temporal == pytest.approx(math.exp(-(2.0**2) / (2 * sigma**2)))  # Δ = 2 s


def test_fixed_sigma_ablation_ignores_progress():
    early, late = rewards_at(0.0, ["rewards.sigma=2"]), rewards_at(1.0, ["rewards.sigma=2"])
    assert early["temporal_reward"] == late["temporal_reward"] == pytest.approx(math.exp(-0.5))
    assert sigma_of_state(2.0)(TrainerState(global_step=0, max_steps=10))["sigma"] == 2.0


def test_gate_and_no_gating_ablation():
    far = dict(SAMPLE, key_frames=[{"idx": 16, "time": 1.0}])  # claim at 6.0 s: 5 s from the key frame
    config = load_config(None, ["model=m", "output_dir=o", "data.train=a"], stage="rl")
    ungated = load_config(None, ["model=m", "output_dir=o", "data.train=a", "rewards.gating=false"], stage="rl")
    columns = {k: [v] for k, v in far.items()}
    spatial = [f for f in reward_funcs(config) if f.__name__ == "spatial_reward"][0]
    spatial_ungated = [f for f in reward_funcs(ungated) if f.__name__ == "spatial_reward"][0]
    assert spatial(completions=[COMPLETION], **columns) == [0.0]  # |6 - 1| > τ = 3 s
    assert spatial_ungated(completions=[COMPLETION], **columns)[0] == pytest.approx(1.0)  # the box is exact


def test_every_term_is_scored_per_sample_from_its_own_task():
    rewards = rewards_at(1.0)
    assert rewards["format_reward"] == 1.0 and rewards["spatial_reward"] == pytest.approx(1.0)
    assert rewards["accuracy_reward"] == pytest.approx(1.0)  # ROUGE of identical answers


def test_where_practice_answers_are_scored_by_box_iou_per_second():
    config = load_config(None, ["model=m", "output_dir=o", "data.train=a"], stage="rl")
    accuracy = reward_funcs(config)[0]
    truth = '{"4":[10,10,30,30],"5":[20,10,40,30]}'
    columns = {"task": ["temporal-spatial free-form QA"] * 3, "answer": [truth] * 3, "image_size": [[112, 84]] * 3,
               "key_frames": [[{"idx": 16, "time": 4.0}]] * 3, "key_items": [{"16": {"a": [[0.1, 0.1, 0.3, 0.3]]}}] * 3,
               "vstar_kind": ["where_1", "where_2", None]}
    reordered = '<think>x</think><answer>{"5": [20, 10, 40, 30], "4": [10, 10, 30, 30]}</answer>'
    completions = [reordered, '<think>x</think><answer>{"4":[10,10,30,30]}</answer>', reordered]
    scores = accuracy(completions=completions, **columns)
    assert scores[0] == pytest.approx(1.0) and scores[1] == pytest.approx(0.5)  # the second second is missing
    assert scores[2] < 1.0  # without vstar_kind: the paper's free-form rule (ROUGE of the text, order-sensitive)


def test_o3video_score_scores_a_where_practice_record_as_training_does():
    from o3video.rewards import score

    sample = {"task": "temporal-spatial free-form QA", "answer": '{"4":[10,10,30,30]}', "image_size": [112, 84],
              "vstar_kind": "where_1"}
    several = '<think>x</think><answer>{"4": [[0, 0, 5, 5], [10, 10, 30, 30]]}</answer>'
    assert score(several, sample)["accuracy"] == pytest.approx(1.0)  # the best of a second's boxes, as V-STaR
