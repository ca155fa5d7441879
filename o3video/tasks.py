"""The six task types, named exactly as the released STGR JSON names them (docs/design.md §2)."""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    SPATIO_TEMPORAL = "temporal-spatial free-form QA"
    TEMPORAL = "temporal QA"
    TEMPORAL_MCQ = "temporal QA (MCQ)"
    VISUAL = "visual QA"
    GENERAL_MCQ = "General video QA MCQ"
    GENERAL_FREE = "General video QA Free-form"

    @property
    def is_temporal(self) -> bool:
        """Temporal grounding tasks: ground truth is a span `[S, E]` (interval supervision)."""
        return self in (Task.TEMPORAL, Task.TEMPORAL_MCQ)

    @property
    def is_general(self) -> bool:
        """General video QA: no grounding supervision, no grounding required."""
        return self in (Task.GENERAL_MCQ, Task.GENERAL_FREE)

    @property
    def is_mcq(self) -> bool:
        return self in (Task.TEMPORAL_MCQ, Task.GENERAL_MCQ)

    @property
    def uses_image(self) -> bool:
        """Visual QA runs on one image (`image_path`); every other task on a video."""
        return self is Task.VISUAL


def parse_task(value: object) -> Task:
    """The Task named by `value`; raises ValueError listing the valid names otherwise."""
    try:
        return Task(str(value).strip())
    except ValueError:
        valid = ", ".join(repr(t.value) for t in Task)
        raise ValueError(f"unknown task {value!r}; expected one of {valid}") from None
