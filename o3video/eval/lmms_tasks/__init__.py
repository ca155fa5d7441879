"""o3video's lmms-eval tasks: this folder is what `lmms-eval --include_path` takes (`python -m
o3video.eval.lmms_tasks` prints it). `vstar.yaml` is V-STaR (`o3video.eval.vstar_lmms`)."""

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
