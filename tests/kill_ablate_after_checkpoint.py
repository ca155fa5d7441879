"""Run `o3video ABLATE-ARGS` in this process and SIGKILL it right after the RL run whose output folder ends with
FOLDER writes `checkpoint-K`, like a machine lost in the middle of an arm.

    python tests/kill_ablate_after_checkpoint.py FOLDER K ablate --quick --out OUT
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    from kill_after_checkpoint import KillAfterCheckpoint

    import o3video.train as train
    from o3video.cli import main

    folder, step, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    real_train_rl = train.train_rl

    def train_rl(config, callbacks=(), **kwargs):
        kill = [KillAfterCheckpoint(step)] if Path(config.output_dir).as_posix().endswith(folder) else []
        return real_train_rl(config, callbacks=[*callbacks, *kill], **kwargs)

    train.train_rl = train_rl
    main(argv)
    sys.exit(3)  # only reached if the kill never came
