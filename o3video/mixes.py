"""The paper's category mixes (docs/design.md §1: SFT 13.7/16.7/19.7/50.0, RL 14.4/13.9/30.3/41.7), each task's
category, and how many records of each task a split gets. Used by the synthetic world and by the
construction pipeline's mix stage alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from o3video.tasks import Task

CATEGORIES: dict[str, tuple[Task, ...]] = {
    "temporal": (Task.TEMPORAL, Task.TEMPORAL_MCQ),
    "spatial": (Task.VISUAL,),
    "spatio-temporal": (Task.SPATIO_TEMPORAL,),
    "general": (Task.GENERAL_MCQ, Task.GENERAL_FREE),
}


def category_of(task: Task | str | None) -> str:
    """The mix category (`temporal`, `spatial`, `spatio-temporal`, `general`) of a task or task string."""
    from o3video.tasks import parse_task

    task = parse_task(task)
    return next(name for name, tasks in CATEGORIES.items() if task in tasks)


@dataclass(frozen=True)
class Mix:
    """Category weights (any positive scale), and how temporal and general QA split into MCQ."""

    weights: dict[str, float] = field(default_factory=dict)
    temporal_mcq_share: float = 0.5
    general_mcq_share: float = 0.5

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(CATEGORIES)
        if unknown or any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError(f"mix weights must be non-negative over {list(CATEGORIES)}, got {self.weights}")

    def shares(self) -> dict[str, float]:
        total = sum(self.weights.values())
        return {c: self.weights.get(c, 0.0) / total for c in CATEGORIES}


SFT_MIX = Mix({"temporal": 13.7, "spatial": 16.7, "spatio-temporal": 19.7, "general": 50.0})
RL_MIX = Mix({"temporal": 14.4, "spatial": 13.9, "spatio-temporal": 30.3, "general": 41.7})


def parse_mix(text: str, base: Mix) -> Mix:
    """`'13.7,16.7,19.7,50'` (temporal, spatial, spatio-temporal, general) → a Mix like `base`."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != len(CATEGORIES):
        raise ValueError(f"mix {text!r}: need {len(CATEGORIES)} comma-separated numbers ({', '.join(CATEGORIES)})")
    return Mix(dict(zip(CATEGORIES, values)), base.temporal_mcq_share, base.general_mcq_share)


def largest_remainder(total: int, shares: dict) -> dict:
    """Integer counts summing to `total`, as close as possible to `total * share`."""
    raw = {k: total * s for k, s in shares.items()}
    counts = {k: int(v) for k, v in raw.items()}
    order = sorted(raw, key=lambda k: (raw[k] - counts[k], -list(raw).index(k)), reverse=True)
    for k in order[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def task_counts(total: int, mix: Mix) -> dict[Task, int]:
    """Records per task for a split of `total` records."""
    per_category = largest_remainder(total, mix.shares())
    out: dict[Task, int] = {}
    for category, count in per_category.items():
        tasks = CATEGORIES[category]
        if len(tasks) == 1:
            out[tasks[0]] = count
            continue
        mcq = mix.temporal_mcq_share if category == "temporal" else mix.general_mcq_share
        split = largest_remainder(count, {tasks[0]: 1 - mcq, tasks[1]: mcq} if category == "temporal"
                                  else {tasks[0]: mcq, tasks[1]: 1 - mcq})
        out.update(split)
    return out
