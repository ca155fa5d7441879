"""Two training processes on CPU (gloo): torchrun and `accelerate launch --multi_gpu` really train with 2 ranks,
the main process alone writes the shared files, a launch SIGKILLed after its first checkpoint resumes to the
uninterrupted run's weights and metrics, each record is trained on by one rank per epoch, a GSPO group is scored and
normalised whole when its completions are spread over both ranks, and `accelerate launch --cpu --num_processes 2`
(one process in accelerate) is refused with one line."""

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from resume import logged_steps, weights

from o3video.train.checkpoints import STATE_FILE, complete
from o3video.train.train_prompts import record_name

HERE = Path(__file__).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(launcher, stage, overrides, timeout=600):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if launcher == "torchrun":
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_port", str(free_port())]
    else:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", *launcher, "--main_process_port", str(free_port())]
    cmd += ["-m", "o3video.cli", "train", stage, *overrides]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def sft_overrides(synth_easy, tiny_model, out, *extra):
    return [f"model={tiny_model}", f"output_dir={out}", f"data.train={synth_easy / 'stgr_sft.json'}", "data.limit=8",
            "data.num_frames=2", f"data.cache_dir={synth_easy / 'frame_cache'}",
            "trainer.per_device_train_batch_size=2",
            "trainer.learning_rate=1e-3", "trainer.activation_checkpointing=false", "threads=1", *extra]


def launch_logging(stage, overrides, logs, timeout=600):
    """Train with 2 ranks under torchrun through tests/log_rank_data.py; returns the run and each rank's log rows."""
    logs.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
           str(HERE / "log_rank_data.py"), stage, str(logs), *overrides]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in logs.iterdir()) == ["rank-0.jsonl", "rank-1.jsonl"]
    return {rank: [json.loads(line) for line in (logs / f"rank-{rank}.jsonl").read_text().splitlines()]
            for rank in (0, 1)}


def rows(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def hold_then_kill(stage, step, overrides, markers, timeout=300):
    """Launch 2 ranks with torchrun that hold still once `checkpoint-<step>` is written, then SIGKILL the launch at
    that point, as when the machine is lost: torchrun's process group and each rank's (torchrun starts every rank
    in a session of its own), waiting until every one of them is gone."""
    markers.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
           str(HERE / "hold_after_checkpoint.py"), stage, str(step), str(markers), *overrides]
    with open(markers / "log", "w") as log:
        launched = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while len(held := sorted(markers.glob("held-*"))) < 2:
            assert launched.poll() is None, f"the run ended before holding:\n{(markers / 'log').read_text()[-3000:]}"
            assert time.monotonic() < deadline, "the run never reached its checkpoint"
            time.sleep(0.5)
        ranks = [int(marker.read_text()) for marker in held]
        for pid in (launched.pid, *ranks):
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except ProcessLookupError:  # gone with a group killed before it
                pass
        launched.wait()
    while any(alive(pid) for pid in ranks):
        assert time.monotonic() < deadline, f"ranks {ranks} outlived SIGKILL"
        time.sleep(0.1)
    return launched


def alive(pid):
    """Whether process `pid` still exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def step_rows(out):
    """The per-step rows of metrics.jsonl without their wall-clock times."""
    return [{k: v for k, v in r.items() if k != "time"} for r in rows(out) if "train_runtime" not in r]


@pytest.mark.slow
def test_two_process_sft_killed_after_a_checkpoint_resumes_to_the_uninterrupted_run(synth_easy, tiny_model, tmp_path):
    run = ["trainer.max_steps=4", "trainer.save_steps=2", "trainer.lr_scheduler_type=constant"]
    full = tmp_path / "full"
    done = launch("torchrun", "sft", sft_overrides(synth_easy, tiny_model, full, *run))
    assert done.returncode == 0, done.stderr[-3000:]
    assert logged_steps(full) == [1, 2, 3, 4]  # one row per step: only the main process logs
    # 8 records, 2 per rank per step: an epoch takes 2 steps with two ranks (4 with one)
    assert [r["epoch"] for r in rows(full) if "loss" in r] == [0.5, 1.0, 1.5, 2.0]
    assert (full / STATE_FILE).is_file() and (full / "model.safetensors").is_file()
    assert sorted(p.name for p in full.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert done.stdout.count("saved sft model") == 2  # each rank finishes; the files are written once (above)

    cut = tmp_path / "cut"
    killed = hold_then_kill("sft", 2, sft_overrides(synth_easy, tiny_model, cut, *run), tmp_path / "markers")
    assert killed.returncode == -signal.SIGKILL
    assert complete(cut / "checkpoint-2") and not (cut / STATE_FILE).exists()  # killed after its first checkpoint
    assert logged_steps(cut) == [1, 2]
    resumed = launch(["--multi_gpu", "--num_processes", "2"], "sft", sft_overrides(synth_easy, tiny_model, cut, *run))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert step_rows(cut) == step_rows(full)
    final, uninterrupted = weights(cut), weights(full)
    assert final.keys() == uninterrupted.keys()
    assert all(torch.equal(final[k], uninterrupted[k]) for k in final)


@pytest.mark.slow
def test_two_process_gspo_trains_as_one_run(synth_easy, tiny_model, tmp_path):
    out = tmp_path / "gspo"
    overrides = [f"model={tiny_model}", f"output_dir={out}", f"data.train={synth_easy / 'stgr_rl.json'}",
                 "data.limit=8",
                 "data.num_frames=2", f"data.cache_dir={synth_easy / 'frame_cache'}", "trainer.max_steps=2",
                 "trainer.num_generations=4", "trainer.per_device_train_batch_size=2", "trainer.steps_per_generation=2",
                 "trainer.max_completion_length=8", "trainer.activation_checkpointing=false", "threads=1"]
    done = launch("torchrun", "rl", overrides)
    assert done.returncode == 0, done.stderr[-3000:]
    assert logged_steps(out) == [1, 2]  # one row per step: the two ranks train as one run, the main one logs
    assert done.stdout.count("saved rl model") == 2  # both ranks trained to the end
    # one rollout (2 ranks x 2 completions x 2 steps = 8 completions) is rewarded at step 1 and serves steps 1-2
    rollout = next(r for r in rows(out) if "reward" in r)
    assert rollout["step"] == 1
    assert (out / STATE_FILE).is_file() and (out / "model.safetensors").is_file()


@pytest.mark.slow
def test_two_process_sft_trains_each_record_on_one_rank_once_per_epoch(synth_easy, tiny_model, tmp_path):
    out = tmp_path / "sft"
    logs = launch_logging("sft", sft_overrides(synth_easy, tiny_model, out, "trainer.num_train_epochs=2"),
                          tmp_path / "logs")
    assert logged_steps(out) == [1, 2, 3, 4]  # 8 records, 2 per rank per step: 2 steps an epoch
    records = [record_name(r) for r in json.loads((synth_easy / "stgr_sft.json").read_text())[:8]]
    assert len(set(records)) == 8
    batches = {rank: [row["records"] for row in rows] for rank, rows in logs.items()}
    assert [len(b) for b in batches.values()] == [4, 4]
    assert all(len(batch) == 2 for b in batches.values() for batch in b)
    orders = []
    for epoch in (0, 1):  # each rank's first 2 batches are epoch 0, the next 2 epoch 1
        seen = {rank: [name for batch in b[2 * epoch: 2 * epoch + 2] for name in batch] for rank, b in batches.items()}
        assert sorted(seen[0] + seen[1]) == sorted(records)  # every record, each once
        assert not set(seen[0]) & set(seen[1]) and len(seen[0]) == len(seen[1]) == 4  # none on both ranks
        orders.append(seen)
    assert orders[0] != orders[1]  # each epoch draws its own order


@pytest.mark.slow
def test_two_process_gspo_scores_and_normalises_each_group_whole(synth_easy, tiny_model, tmp_path):
    out, generations = tmp_path / "gspo", 4
    overrides = [f"model={tiny_model}", f"output_dir={out}", f"data.train={synth_easy / 'stgr_rl.json'}",
                 "data.limit=8", "data.num_frames=2", f"data.cache_dir={synth_easy / 'frame_cache'}",
                 "trainer.max_steps=3", f"trainer.num_generations={generations}",
                 "trainer.per_device_train_batch_size=2", "trainer.steps_per_generation=1",
                 "trainer.max_completion_length=8", "trainer.activation_checkpointing=false", "threads=1"]
    logs = launch_logging("rl", overrides, tmp_path / "logs")
    settings = [row.pop(0)["settings"] for row in logs.values()]
    assert settings[0] == settings[1]
    assert settings[0]["scale_rewards"] == "group" and settings[0]["aggregation"] == "sum_then_normalize"
    weights = settings[0]["reward_weights"]
    groups = {}
    for row in logs[0] + logs[1]:
        groups.setdefault((row["rollout"], row["record_id"]), []).append(row)
    assert {rollout for rollout, _ in groups} == {0, 1, 2}  # one rollout per step
    spread = 0
    for group in groups.values():
        assert len(group) == generations  # every completion of the prompt, over both ranks
        spread += {row["rank"] for row in group} == {0, 1}
        rewards = [math.fsum(w * v for w, v in zip(weights, row["rewards"].values()) if v is not None)
                   for row in group]
        mean = sum(rewards) / generations
        std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (generations - 1))  # TRL's nanstd: unbiased
        for row, reward in zip(group, rewards):
            assert row["advantage"] == pytest.approx((reward - mean) / (std + 1e-4), abs=1e-5)
    assert spread == len(groups)  # each group was split over the ranks, its rewards differing by rank (rank_reward)
    assert any(abs(row["advantage"]) > 0.5 for row in logs[0] + logs[1])


@pytest.mark.slow
def test_accelerate_cpu_with_two_processes_is_refused_in_one_line(synth_easy, tiny_model, tmp_path):
    out = tmp_path / "refused"
    done = launch(["--cpu", "--num_processes", "2"], "sft", sft_overrides(synth_easy, tiny_model, out))
    assert done.returncode != 0
    line = [ln for ln in done.stderr.splitlines() if "independent copies" in ln]
    assert len(line) == 1 and "torchrun --nproc_per_node 2" in line[0]
    assert "o3video/train" not in done.stderr  # no traceback of ours (accelerate's launcher prints its own)
    assert not (out / "metrics.jsonl").exists()
