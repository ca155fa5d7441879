"""Train in this process and SIGKILL it right after `checkpoint-K` is written, like a machine lost mid-run.

    python tests/kill_after_checkpoint.py sft|rl K key=value ...
"""

import os
import signal
import sys

from transformers import TrainerCallback

from o3video.train import load_config, train_rl, train_sft


class KillAfterCheckpoint(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    stage, step, overrides = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    config = load_config(None, overrides, stage=stage)
    (train_sft if stage == "sft" else train_rl)(config, callbacks=[KillAfterCheckpoint(step)])
    sys.exit(3)  # only reached if the kill never came
