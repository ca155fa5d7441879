"""One picture per paper table: each row's mean across seeds as a bar per metric, its sd as the error bar, the
blind twin's beside it (hatched) where the table is about seeing."""

from __future__ import annotations

from pathlib import Path

from o3video.lab.ablate.paper import PaperTable
from o3video.lab.ablate.results import Measured
from o3video.lab.ablate.tables import NAMES, column
from o3video.lab.demo.report import save_figure
from o3video.stats import mean_sd


def _bar(values: list[float]) -> tuple[float, float]:
    """Mean and sd in percent; no bar (0) for no seeds, no error bar for one."""
    if not values:
        return 0.0, 0.0
    mean, sd = mean_sd(values)
    return 100 * mean, (100 * sd if len(values) > 1 else 0.0)


def plot_table(table: PaperTable, rows: dict[str, list[Measured | None]], path: Path) -> Path:
    """A grouped bar chart of the table's rows (PNG at `path`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [(m, False) for m in table.metrics] + ([(m, True) for m in table.metrics] if table.seeing else [])
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(table.rows)), 3.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, (metric, blind) in enumerate(series):
        bars = [_bar(column(rows.get(row.key, []), metric, blind)) for row in table.rows]
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(table.rows))]
        colour = colours[table.metrics.index(metric) % len(colours)]
        ax.bar(xs, [b[0] for b in bars], width, yerr=[b[1] for b in bars], capsize=3, color=colour,
               alpha=0.45 if blind else 0.9, hatch="//" if blind else None,
               label=f"{NAMES.get(metric, metric)}{' (blind twin)' if blind else ''}")
    ax.set_xticks(range(len(table.rows)), [row.label for row in table.rows], fontsize=7, rotation=15, ha="right")
    ax.set_ylabel("percent (mean ± sd across seeds)", fontsize=8)
    ax.set_title(f"Table {table.number}: {table.title}", fontsize=9)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


__all__ = ["plot_table"]
