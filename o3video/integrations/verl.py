"""The paper's reward as verl's custom reward function: `compute_score(data_source, solution_str, ground_truth,
extra_info)`, the signature verl's reward managers call (`reward.custom_reward_function.path` = this file, `name` =
`compute_score`).

`ground_truth` is what `o3video export --to verl` wrote in `reward_model.ground_truth`: the record's reward sample
(`o3video.data.stgr.reward_sample`: task, answer, key frames and items, the prompt's frame size, the box convention)
as one JSON document, since its variable-keyed parts have no fixed parquet schema. The score is
`o3video.rewards.score`'s, every term returned beside the total (verl logs a dict's other keys per sample).

σ: verl hands a reward function no training step, so the adaptive σ(p) = max(1, 4(1 - p)) cannot follow the run.
The σ is fixed: `sigma` (verl's `reward.custom_reward_function.reward_kwargs.sigma`), else σ(1) = 1, the schedule's
final value.
"""

from __future__ import annotations

import json
from typing import Any

from o3video.rewards import DEFAULT_TAU, TERMS, score


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None,
                  *, sigma: float | None = None, tau: float | None = DEFAULT_TAU, **_: Any) -> dict[str, float]:
    """{"score": r_acc + r_t + r_s + r_fmt, "accuracy", "temporal", "spatial", "format"} of one rollout."""
    sample = json.loads(ground_truth) if isinstance(ground_truth, str) else dict(ground_truth)
    terms = score(solution_str, sample, 1.0, sigma=sigma, tau=tau)
    return {"score": terms["total"], **{term: terms[term] for term in TERMS}}


__all__ = ["compute_score"]
