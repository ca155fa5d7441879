"""Print the folder of o3video's lmms-eval tasks: `lmms-eval --include_path "$(python -m o3video.eval.lmms_tasks)"`."""

from o3video.eval.lmms_tasks import TASKS_DIR

print(TASKS_DIR)
