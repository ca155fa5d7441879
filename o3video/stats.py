"""Means and spreads, with one rule for no values: the mean of nothing is NaN unless the caller names what it
stands for (`empty=0.0` where an empty benchmark split scores zero)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence


def mean(values: Iterable[float], *, empty: float = math.nan) -> float:
    """The arithmetic mean; `empty` (NaN unless given) when there are no values."""
    values = list(values)
    return sum(values) / len(values) if values else empty


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation; the sd is NaN for a single value, both are NaN for none."""
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan


__all__ = ["mean", "mean_sd"]
