"""Several training processes (torchrun, `accelerate launch`): one of them decides and writes what they share.

TRL's config is made first (it sets up the process group), then the main process alone decides whether the run
is finished, clears it when asked to, picks the checkpoint to resume from (removing incomplete ones), and its
answer reaches the others (`decided_by_main`). A launch that would start independent copies, each training
alone into one output folder, is refused with one line (`check_launch`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from o3video.errors import InputError

T = TypeVar("T")


class LaunchError(InputError):
    """Processes that were started as independent copies rather than as one distributed run."""


def decided_by_main(decide: Callable[[], T]) -> T:
    """`decide()` run on the main process only, its result handed to every process; the others wait for it."""
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    state = PartialState()
    if state.num_processes == 1:
        return decide()
    answer = [decide() if state.is_main_process else None]
    broadcast_object_list(answer, from_process=0)
    return answer[0]  # type: ignore[return-value]


def is_main_process() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


def wait_for_everyone() -> None:
    from accelerate import PartialState

    PartialState().wait_for_everyone()


def requested_processes() -> int:
    """How many processes the launcher asked for: torchrun's WORLD_SIZE, else the `--num_processes` of an
    `accelerate launch` parent (which with `--cpu` starts one process only: its multi-CPU launch needs mpirun)."""
    if os.environ.get("WORLD_SIZE"):
        return int(os.environ["WORLD_SIZE"])
    if not os.environ.get("ACCELERATE_USE_CPU"):
        return 1
    try:
        argv = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return 1
    return _num_processes(argv) if any("accelerate" in a for a in argv[:3]) else 1


def _num_processes(argv: list[str]) -> int:
    for index, arg in enumerate(argv):
        if arg.startswith("--num_processes=") or arg.startswith("--num-processes="):
            return int(arg.split("=", 1)[1])
        if arg in ("--num_processes", "--num-processes") and index + 1 < len(argv):
            return int(argv[index + 1])
    return 1


def check_launch(args: Any) -> None:
    """Refuse, with one line, a launch whose processes would each train alone: the launcher asked for N > 1
    processes but TRL's config sees a world of one."""
    wanted = requested_processes()
    if wanted > 1 and args.world_size == 1:
        raise LaunchError(
            f"the launcher asked for {wanted} processes, but they would train as independent copies into one "
            "output folder (`accelerate launch --cpu` runs a single process); use `accelerate launch --multi_gpu "
            f"--num_processes {wanted}` or `torchrun --nproc_per_node {wanted}` (gloo on CPU)")


__all__ = ["LaunchError", "check_launch", "decided_by_main", "is_main_process", "requested_processes",
           "wait_for_everyone"]
