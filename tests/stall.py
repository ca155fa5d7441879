"""Run an `o3video` command in this process, stalled at a known point so that a test can Ctrl-C it there:

    python tests/stall.py MARKER o3video-arguments...

`eval ...`: each record after the first waits before it is asked; `train ...`: the run waits after saving
its first checkpoint. MARKER is written when the stall begins. The stall is a sleep that SIGINT ends, as it
would end the work it stands for; everything else is the real command.
"""

import sys
import time
from pathlib import Path

from transformers import TrainerCallback

STALL_S = 300


def stall(marker: Path) -> None:
    marker.write_text("stalled\n")
    time.sleep(STALL_S)


def stall_eval_after_first(marker: Path) -> None:
    import o3video.eval.vstar_run as vstar_run

    original, asked = vstar_run.ask_record, []

    def ask(*args, **kwargs):
        if asked:
            stall(marker)
        asked.append(args[1])
        return original(*args, **kwargs)

    vstar_run.ask_record = ask


class StallAfterFirstSave(TrainerCallback):
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def on_save(self, args, state, control, **kwargs):
        stall(self.marker)


def stall_train_after_first_save(marker: Path) -> None:
    import o3video.train as train

    sft, rl = train.train_sft, train.train_rl
    train.train_sft = lambda config: sft(config, callbacks=[StallAfterFirstSave(marker)])
    train.train_rl = lambda config: rl(config, callbacks=[StallAfterFirstSave(marker)])


if __name__ == "__main__":
    from o3video.cli import main

    marker, argv = Path(sys.argv[1]), sys.argv[2:]
    (stall_eval_after_first if argv[0] == "eval" else stall_train_after_first_save)(marker)
    sys.exit(main(argv))
