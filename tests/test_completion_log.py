"""completions.jsonl: every N steps, the latest rollout's completions with each reward term and the advantage."""

from collections import defaultdict, deque

import pytest

from o3video.io import JsonlLog
from o3video.train.completion_log import CompletionLog
from o3video.train.train_config import ConfigError, load_config


def rollout(step):
    """The shape TRL's GRPOTrainer keeps its latest rollout in (`_logs`): conversational prompts and completions."""
    logs = {"prompt": deque(), "completion": deque(), "rewards": defaultdict(deque), "advantages": deque()}
    for i in range(4):
        logs["prompt"].append([{"role": "system", "content": "s"},
                               {"role": "user", "content": [{"type": "image", "image": None},
                                                            {"type": "text", "text": f"where is it {step}?"}]}])
        logs["completion"].append([{"role": "assistant", "content": f"<answer>{i}</answer>"}])
        logs["rewards"]["accuracy_reward"].append(float(i % 2))
        logs["rewards"]["format_reward"].append(float("nan") if i == 3 else 1.0)
        logs["advantages"].append(i - 1.5)
    return logs


def test_every_nth_step_writes_each_completion_once_with_its_terms(tmp_path):
    path = tmp_path / "completions.jsonl"
    log = CompletionLog(path, every=2)
    written = [log.write(step, rollout(step)) for step in (1, 2, 2, 3, 4)]
    assert written == [0, 4, 0, 0, 4]  # step 2 logged twice by the trainer (the end-of-training log) is written once
    rows = JsonlLog(path).entries
    assert sorted(rows) == [f"{step}:{i}" for step in (2, 4) for i in range(4)]
    row = rows["4:1"]
    assert row["question"] == "where is it 4?" and row["completion"] == "<answer>1</answer>"
    assert row["rewards"] == {"accuracy_reward": 1.0, "format_reward": 1.0} and row["reward"] == 2.0
    assert row["advantage"] == -0.5
    assert rows["4:3"]["rewards"]["format_reward"] is None and rows["4:3"]["reward"] == 1.0  # NaN: no value


def test_a_resumed_run_redoing_a_step_replaces_its_rows(tmp_path):
    path = tmp_path / "completions.jsonl"
    CompletionLog(path, every=1).write(1, rollout(1))
    again = rollout(1)
    again["advantages"][0] = 9.0
    CompletionLog(path, every=1).write(1, again)
    assert JsonlLog(path).entries["1:0"]["advantage"] == 9.0 and len(JsonlLog(path)) == 4


def test_completions_every_must_not_be_negative(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("stage: rl\nmodel: m\noutput_dir: o\ndata: {train: a}\n")
    with pytest.raises(ConfigError, match="completions_every must be >= 0"):
        load_config(path, ["completions_every=-1"])
    assert load_config(path).completions_every == 0
