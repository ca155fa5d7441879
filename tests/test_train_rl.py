"""GSPO on the tiny model: RL rows carry the prompt and the reward columns; one GSPO (and GRPO) step on
prompts with different numbers of images changes the weights, with finite losses and every per-step
metric logged."""

import json
import math
import signal

import pytest
import torch
from resume import WeightsAtStart, kill_after_checkpoint, logged_steps, weights

from o3video.io import JsonlLog
from o3video.train.completion_log import COMPLETIONS_FILE
from o3video.train.rl import train_rl
from o3video.train.rl_data import REWARD_COLUMNS, rl_row
from o3video.train.sft import train_sft
from o3video.train.train_config import load_config
from o3video.train.train_records import load_training_records
from o3video.video.prompt import messages_images


@pytest.fixture(scope="module")
def two_records(synth_easy, tmp_path_factory):
    """An MCQ record (video: several frames) and a visual QA record (one image), with short reasoning."""
    records = json.loads((synth_easy / "stgr_sft.json").read_text())
    mcq = dict(next(r for r in records if r["task"] == "General video QA MCQ"), reasoning_process="I watch the video.")
    visual = dict(next(r for r in records if r["task"] == "visual QA"), reasoning_process="I find it.")
    path = tmp_path_factory.mktemp("rl_data") / "two.json"
    path.write_text(json.dumps([mcq, visual]))
    return path


def common(synth_easy, data, out):
    return [f"output_dir={out}", f"data.train={data}", f"data.root={synth_easy}", "data.num_frames=2",
            f"data.cache_dir={synth_easy / 'frame_cache'}", "trainer.activation_checkpointing=false", "threads=2", "seed=1"]


@pytest.fixture(scope="module")
def warm_model(synth_easy, two_records, tmp_path_factory):
    """A tiny model (tokenizer trained on these texts) after a short SFT on the two records: it writes the
    format some of the time, so a group of sampled completions earns different rewards (a random model
    scores 0 on every term, and a group with equal rewards has nothing to learn from)."""
    from o3video.models import build_tiny_model
    from o3video.models.corpus import tokenizer_corpus

    work = tmp_path_factory.mktemp("warm")
    base = build_tiny_model(work / "base", tokenizer_corpus([two_records]), seed=0)
    config = load_config(None, [f"model={base}", *common(synth_easy, two_records, work / "sft"), "trainer.max_steps=40",
                                "trainer.per_device_train_batch_size=2", "trainer.learning_rate=3e-3",
                                "trainer.lr_scheduler_type=constant"], stage="sft")
    return train_sft(config)


def test_rl_rows_hold_the_builders_prompt_and_the_reward_columns(synth_easy, tiny_model):
    config = load_config(None, [f"model={tiny_model}", *common(synth_easy, synth_easy / "stgr_rl.json", "unused"),
                                "data.num_frames=4"], stage="rl")
    items = load_training_records(config.data)
    video = next(i for i in items if i.record.get("key_frames") and len(i.record["key_frames"]) > 0)
    row = rl_row(video)
    assert set(REWARD_COLUMNS) <= set(row) and row["image_size"] == [112, 84] and row["vstar_kind"] is None
    key_frames = len(video.record["key_frames"])
    assert 4 < len(messages_images(row["prompt"])) <= 4 + key_frames  # uniform frames + inserted key frames
    assert row["key_items"] == video.record["key_items"]  # variable-keyed dicts reach the rewards as they are
    image = next(i for i in items if i.record["task"] == "visual QA")
    visual = rl_row(image)
    assert len(messages_images(visual["prompt"])) == 1 and visual["original_image_size"] == image.record["image_size"]


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["gspo", "grpo"])
def test_one_rl_step_changes_the_weights_and_logs_every_term(synth_easy, two_records, warm_model, tmp_path, algo):
    from o3video.models import load_model

    out = tmp_path / algo
    config = load_config(None, [
        f"model={warm_model}", *common(synth_easy, two_records, out), f"algo={algo}", "trainer.max_steps=1",
        "trainer.num_generations=4", "trainer.per_device_train_batch_size=8", "trainer.max_completion_length=40",
        "trainer.learning_rate=1e-3", "trainer.beta=0.01", "completions_every=1",
    ], stage="rl")
    train_rl(config)
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    samples = JsonlLog(out / COMPLETIONS_FILE).entries.values()  # the step's rollout: 2 prompts x 4 completions
    assert len(samples) == 8 and {s["step"] for s in samples} == {1}
    for term in ("accuracy_reward", "temporal_reward", "spatial_reward", "format_reward"):
        mean = sum(s["rewards"][term] for s in samples) / len(samples)
        assert mean == pytest.approx(row[f"rewards/{term}/mean"]), term
    assert all(s["reward"] == pytest.approx(sum(s["rewards"].values())) and s["completion"] for s in samples)
    for key in ("rewards/accuracy_reward/mean", "rewards/temporal_reward/mean", "rewards/spatial_reward/mean",
                "rewards/format_reward/mean", "kl", "clip_ratio/region_mean", "completions/mean_length", "loss"):
        assert math.isfinite(row[key]), key
    assert row["sigma"] == 4.0 and row["progress"] == 0.0  # the σ the step's rewards used: progress 0
    assert row["reward_std"] > 0  # the group had something to learn from
    before, _ = load_model(warm_model)
    after, _ = load_model(out)
    assert any(not torch.equal(a, b) for a, b in zip(before.parameters(), after.parameters()))


@pytest.mark.slow
def test_a_gspo_run_killed_after_a_checkpoint_resumes_its_weights_and_ends_as_an_uninterrupted_run(
        synth_easy, two_records, warm_model, tmp_path):
    """SIGKILL after checkpoint-2 of 4, resume: the resumed run starts from the checkpoint's weights and
    ends where a run never interrupted ends (sampling RNG and optimizer state come back with them)."""
    run = lambda out: [  # noqa: E731
        f"model={warm_model}", *common(synth_easy, two_records, out), "trainer.max_steps=4", "trainer.save_steps=2",
        "trainer.num_generations=4", "trainer.per_device_train_batch_size=8", "trainer.max_completion_length=40",
        "trainer.learning_rate=1e-3"]
    full = train_rl(load_config(None, run(tmp_path / "full"), stage="rl"))
    out = tmp_path / "killed"
    killed = kill_after_checkpoint("rl", 2, run(out))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    start = WeightsAtStart()
    resumed = train_rl(load_config(None, run(out), stage="rl"), callbacks=[start])
    at_checkpoint = weights(out / "checkpoint-2")
    assert start.step == 2 and all(torch.equal(start.weights[k], at_checkpoint[k]) for k in at_checkpoint)
    final, uninterrupted, before = weights(resumed), weights(full), weights(warm_model)
    assert any(not torch.equal(final[k], before[k]) for k in final)  # RL changed the model...
    assert all(torch.equal(final[k], uninterrupted[k]) for k in final)  # ...exactly as the uninterrupted run did
    assert logged_steps(out) == [1, 2, 3, 4]
