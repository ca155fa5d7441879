"""Train (as one rank of a distributed launch, or alone) and hold still once `checkpoint-K` is written, so that
the test can SIGKILL the whole launch, launcher and ranks, at a known point, like a machine lost mid-run.

    torchrun --nproc_per_node 2 tests/hold_after_checkpoint.py sft|rl K MARKER_DIR key=value ...

Each rank writes `MARKER_DIR/held-<rank>` after its part of the checkpoint (the main process's files, every
rank's RNG state) and then sleeps; the test kills the process group once every rank has written its marker.
"""

import os
import sys
import time
from pathlib import Path

from transformers import TrainerCallback

from o3video.train import load_config, train_rl, train_sft


class HoldAfterCheckpoint(TrainerCallback):
    def __init__(self, step: int, markers: Path) -> None:
        self.step = step
        self.markers = markers

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            (self.markers / f"held-{args.process_index}").write_text(str(os.getpid()))
            time.sleep(3600)


if __name__ == "__main__":
    stage, step, markers, overrides = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
    config = load_config(None, overrides, stage=stage)
    (train_sft if stage == "sft" else train_rl)(config, callbacks=[HoldAfterCheckpoint(step, markers)])
    sys.exit(3)  # only reached if the run never held
