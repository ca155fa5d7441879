"""The one error the video layer raises for bad input."""

from __future__ import annotations

from pathlib import Path


class VideoError(Exception):
    """A video (or key-frame image) that cannot be used; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
