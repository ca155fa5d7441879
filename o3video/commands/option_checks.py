"""Option values checked before any model loads or any work starts: a value out of its range, an empty
question, an output file whose suffix no writer knows. Each is an `InputError` naming the option and what
it accepts, which the command line shows as one line with exit code 2."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from o3video.errors import InputError


@dataclass(frozen=True)
class Bound:
    """The accepted range of a numeric option: `low <= value` (`low < value` when `strict`) and, when `high`
    is given, `value <= high`. An option left out (None) passes."""

    option: str  # as typed, e.g. "--max-new-tokens"
    low: int | float
    high: int | float | None = None
    strict: bool = False

    @property
    def attribute(self) -> str:
        return self.option.lstrip("-").replace("-", "_")

    def accepts(self, value: float) -> bool:
        above = value > self.low if self.strict else value >= self.low  # NaN is neither
        return above and (self.high is None or value <= self.high)

    def problem(self, value: float) -> str:
        if self.high is not None and self.strict:
            return f"{self.option} must be > {self.low} and <= {self.high}, got {value}"
        if self.high is not None:
            return f"{self.option} must be between {self.low} and {self.high}, got {value}"
        return f"{self.option} must be {'>' if self.strict else '>='} {self.low}, got {value}"


def check_bounds(args: argparse.Namespace, bounds: Iterable[Bound]) -> None:
    """Every option of `bounds` that `args` has a value for lies in its range (each value of a repeatable one)."""
    for bound in bounds:
        value = getattr(args, bound.attribute, None)
        for one in value if isinstance(value, list) else [value]:
            if one is not None and not bound.accepts(one):
                raise InputError(bound.problem(one))


def check_suffix(path: Path | None, option: str, suffixes: tuple[str, ...]) -> None:
    """An output file's suffix (case aside) is one of `suffixes`; None passes."""
    if path is not None and path.suffix.lower() not in suffixes:
        raise InputError(f"{option} {path}: the suffix must be one of {', '.join(suffixes)}, got {path.suffix!r}")


def check_text(text: str, name: str) -> None:
    """A question (or other text argument) has something besides white space."""
    if not text.strip():
        raise InputError(f"{name}: must not be empty")


__all__ = ["Bound", "check_bounds", "check_suffix", "check_text"]
