"""SIGKILL at random points, then resume: `synth` and `build` end with the same files as an uninterrupted
run and leave no temporaries behind (training and evaluation have their own kill tests:
test_train_sft.py, test_train_rl.py, test_run_files.py)."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SYNTH = ["synth", "--sft", "40", "--rl", "12", "--bench", "6", "--seed", "3", "--quiet", "--preset", "medium",
         "--size", "448x336"]
BUILD = ["build", "--synthetic-demo", "--demo-videos", "4", "--demo-existing", "12", "--quiet"]


def o3video(args, out):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return [sys.executable, "-m", "o3video.cli", *args, "--out", str(out)], env


def run_to_end(args, out):
    cmd, env = o3video(args, out)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def kill_at_random_points(args, out, rng, kills, started=lambda out: False):
    """Start the command `kills` times and SIGKILL it a random moment after it has begun writing `out`."""
    interrupted = 0
    for _ in range(kills):
        cmd, env = o3video(args, out)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while proc.poll() is None and not started(out) and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        interrupted += proc.wait() == -signal.SIGKILL
    return interrupted


def tree(out: Path) -> dict[str, bytes]:
    """Every file under `out`, its bytes with `out`'s own path replaced (configs record where they live)."""
    return {str(p.relative_to(out)): p.read_bytes().replace(str(out).encode(), b"OUT")
            for p in sorted(out.rglob("*")) if p.is_file()}


def temporaries(out: Path) -> list[str]:
    return [str(p) for p in out.rglob(".*.tmp*")]


def test_a_killed_synth_resumes_to_the_same_files(tmp_path):
    run_to_end(SYNTH, tmp_path / "full")
    out = tmp_path / "killed"
    videos = lambda o: (o / "videos").is_dir() and any((o / "videos").iterdir())  # noqa: E731
    assert kill_at_random_points(SYNTH, out, random.Random(0), kills=2, started=videos) >= 1
    run_to_end(SYNTH, out)
    assert temporaries(out) == []
    assert tree(out) == tree(tmp_path / "full")


def test_a_killed_build_resumes_to_the_same_records(tmp_path):
    run_to_end(BUILD, tmp_path / "full")
    out = tmp_path / "killed"
    stages = lambda o: (o / "stages").is_dir() and any((o / "stages").iterdir())  # noqa: E731
    assert kill_at_random_points(BUILD, out, random.Random(1), kills=2, started=stages) >= 1
    run_to_end(BUILD, out)
    assert temporaries(out) == []
    full, resumed = tree(tmp_path / "full"), tree(out)
    for name in ("stgr_sft.jsonl", "stgr_spatio_temporal.jsonl", "report.md"):
        assert resumed[name] == full[name], name
