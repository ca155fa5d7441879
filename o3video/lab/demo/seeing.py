"""Does the model see? Each trained model against its blind twin (the same recipe on blank frames) and
against answers that ignore the video, metric by metric, in numbers and in words.

A margin is the model's mean score minus the blind model's on the same held-out records. Within one
run its uncertainty is the paired standard error over those records; a model is said to see on a
metric only when its margin over the blind model is larger than twice that error (and, across seeds,
than twice the seed-to-seed sd). Anything smaller is reported as "cannot tell", never as an effect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from o3video.lab.demo.evaluate import EvalSummary
from o3video.stats import mean_sd
from o3video.tables import markdown_table

METRICS = (("what", "what"), ("when_1", "chain-1 when (tIoU)"), ("where_1", "chain-1 where (vIoU)"),
           ("where_2", "chain-2 where (vIoU)"), ("when_2", "chain-2 when (tIoU)"))


@dataclass(frozen=True)
class Margin:
    metric: str
    model: float
    blind: float
    best_ignoring: float  # the best video-ignoring answer (whole / centre / frequent)
    margin: float  # model - blind
    error: float  # paired standard error of the margin over records
    n: int

    @property
    def verdict(self) -> str:
        if self.n < 2:
            return "cannot tell (too few records)"
        if self.margin > 2 * self.error and self.margin > 0:
            return "sees" if self.model > self.best_ignoring else "beats the blind model, not the video-ignoring answers"
        if self.margin < -2 * self.error:
            return "worse than blind"
        return "cannot tell: not seeing"


def paired(model: EvalSummary, blind: EvalSummary, metric: str) -> tuple[float, float, int]:
    """Mean difference model - blind over the records both answered, and its standard error."""
    keys = sorted(set(model.per_record) & set(blind.per_record))
    diffs = [model.per_record[k][metric] - blind.per_record[k][metric] for k in keys]
    if not diffs:
        return 0.0, 0.0, 0
    mean, sd = mean_sd(diffs)
    return mean, (sd / math.sqrt(len(diffs)) if len(diffs) > 1 else 0.0), len(diffs)


def margins(model: EvalSummary, blind: EvalSummary, ignoring: Sequence[EvalSummary]) -> list[Margin]:
    out = []
    for metric, _ in METRICS:
        margin, error, n = paired(model, blind, metric)
        best = max((getattr(b, metric) for b in ignoring), default=0.0)
        out.append(Margin(metric, getattr(model, metric), getattr(blind, metric), best, margin, error, n))
    return out


def margin_table(pairs: Sequence[tuple[EvalSummary, EvalSummary]], ignoring: Sequence[EvalSummary]) -> str:
    """Markdown: per model and metric, its score, the blind twin's, the best video-ignoring answer's, the
    margin ± 2 paired SE, and the verdict in words."""
    names = dict(METRICS)
    rows = [[model.name, names[m.metric], f"{100 * m.model:.1f}", f"{100 * m.blind:.1f}", f"{100 * m.best_ignoring:.1f}",
             f"{100 * m.margin:+.1f} ± {200 * m.error:.1f}", m.verdict]
            for model, blind in pairs for m in margins(model, blind, ignoring)]
    return markdown_table(["model", "metric", "model", "blind", "best video-ignoring", "margin over blind (± 2 SE)",
                           "verdict"], rows, align="llrrrrl")


def seeing_summary(pairs: Sequence[tuple[EvalSummary, EvalSummary]], ignoring: Sequence[EvalSummary]) -> str:
    """One sentence per model: on which metrics it sees, and on which it does not."""
    names = dict(METRICS)
    sentences = []
    for model, blind in pairs:
        found = margins(model, blind, ignoring)
        sees = [names[m.metric] for m in found if m.verdict == "sees"]
        if sees:
            sentences.append(f"{model.name} sees on {', '.join(sees)}; on the other metrics it does not beat its blind "
                             "twin by more than twice the paired standard error.")
        else:
            sentences.append(f"{model.name} is not shown to see: on no metric does it beat its blind twin (the same "
                             "recipe on blank frames) by more than twice the paired standard error.")
    return " ".join(sentences)


__all__ = ["METRICS", "Margin", "margin_table", "margins", "mean_sd", "paired", "seeing_summary"]
