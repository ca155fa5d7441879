"""The lmms-eval command line as the suite runs it: offline, o3video's tiny model, samples logged."""

import os
import subprocess
import sys
from pathlib import Path


def run_lmms_eval(task: str, include_path: Path, data: Path, model: Path, tmp_path: Path, limit: int) -> Path:
    """`lmms-eval --model o3video --tasks TASK` on the first `limit` documents, from the data directory `data`;
    returns the output folder (the run must succeed)."""
    out = tmp_path / "out"
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "HF_DATASETS_CACHE": str(tmp_path / "hf_datasets"), "WANDB_MODE": "disabled"}
    command = [str(Path(sys.executable).parent / "lmms-eval"), "--model", "o3video",
               "--model_args", f"pretrained={model},num_frames=4,max_new_tokens=48", "--tasks", task,
               "--include_path", str(include_path), "--limit", str(limit), "--log_samples", "--output_path", str(out)]
    run = subprocess.run(command, cwd=data, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out
