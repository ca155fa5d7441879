"""The project's rule for a claim measured over seeds: an effect counts only when it is larger than twice its
spread. The effect of a claim "A scores higher than B" is the per-seed difference A − B (the two arms share the
seed's world and base model), as mean ± sd across seeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from o3video.stats import effect_sign

AGREES = "agrees"
DISAGREES = "disagrees"
CANNOT_TELL = "cannot tell within the spread"


@dataclass(frozen=True)
class Effect:
    mean: float
    sd: float
    seeds: int
    verdict: str


def effect(differences: Sequence[float]) -> Effect:
    """The verdict on per-seed differences better − worse: agrees when the mean is positive and larger than twice
    the sd, disagrees when negative and larger than twice the sd, else cannot tell (always so for one seed)."""
    mean, sd, sign = effect_sign(differences)
    return Effect(mean, sd, len(differences), {1: AGREES, -1: DISAGREES, 0: CANNOT_TELL}[sign])


__all__ = ["AGREES", "CANNOT_TELL", "DISAGREES", "Effect", "effect"]
