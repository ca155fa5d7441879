"""Means and spreads, with one rule for no values: the mean of nothing is NaN unless the caller names what it
stands for (`empty=0.0` where an empty benchmark split scores zero); and the rule for an effect over seeds."""

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


def effect_sign(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, sd and the project's verdict on an effect measured over seeds: +1 or -1 when the mean is larger than
    twice the sd (in that direction), 0 when it is not or when there is a single value ("cannot tell")."""
    mean_value, sd = mean_sd(values)
    sign = 0
    if len(values) > 1 and abs(mean_value) > 2 * sd:
        sign = 1 if mean_value > 0 else -1
    return mean_value, sd, sign


__all__ = ["effect_sign", "mean", "mean_sd"]
