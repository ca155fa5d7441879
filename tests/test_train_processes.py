"""Two training processes on CPU (gloo): torchrun and `accelerate launch --multi_gpu` really train with 2 ranks,
the main process alone writes the shared files, a launch SIGKILLed after its first checkpoint resumes to the
uninterrupted run's weights and metrics, and `accelerate launch --cpu --num_processes 2` (one process in
accelerate) is refused with one line."""

import json
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
def test_accelerate_cpu_with_two_processes_is_refused_in_one_line(synth_easy, tiny_model, tmp_path):
    out = tmp_path / "refused"
    done = launch(["--cpu", "--num_processes", "2"], "sft", sft_overrides(synth_easy, tiny_model, out))
    assert done.returncode != 0
    line = [ln for ln in done.stderr.splitlines() if "independent copies" in ln]
    assert len(line) == 1 and "torchrun --nproc_per_node 2" in line[0]
    assert "o3video/train" not in done.stderr  # no traceback of ours (accelerate's launcher prints its own)
    assert not (out / "metrics.jsonl").exists()
