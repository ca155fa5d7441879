"""Progress bars on standard error: the package's one progress library (rich), behind one small class.

    with ProgressBar(total=len(items), desc="videos", unit="video") as bar:
        for item in items:
            ...
            bar.update()
            bar.set_postfix(loss="0.512")

A bar that cannot be a context manager (a trainer callback) calls `start()` and `close()` itself.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressBar:
    """A bar over `total` units of work, `initial` of them already done (a resumed run); `disable` shows nothing."""

    def __init__(self, total: int | None, *, desc: str, unit: str = "item", initial: int = 0, disable: bool = False,
                 transient: bool = False) -> None:
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                   TimeElapsedColumn(), TextColumn("<"), TimeRemainingColumn(), TextColumn("{task.fields[postfix]}")]
        self._progress = Progress(*columns, console=Console(stderr=True), disable=disable, transient=transient)
        self._task: TaskID = self._progress.add_task(desc, total=total, completed=initial, postfix="")

    @property
    def n(self) -> int:
        """Units done so far."""
        return int(self._progress.tasks[0].completed)

    def update(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def set_postfix(self, **fields: Any) -> None:
        """Show `key=value` for each field after the bar (the latest loss, reward terms, ...)."""
        self._progress.update(self._task, postfix=" ".join(f"{k}={v}" for k, v in fields.items()))

    def write(self, message: str) -> None:
        """A line printed above the bar."""
        self._progress.console.print(message, markup=False, highlight=False)

    def start(self) -> ProgressBar:
        self._progress.start()
        return self

    def close(self) -> None:
        self._progress.stop()

    def __enter__(self) -> ProgressBar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["ProgressBar"]
