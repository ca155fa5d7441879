"""Pictures for the benchmarks: curves of several runs in side-by-side panels, one PNG (`plot` modes of
bench/perception.py and bench/sft_retention.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Panel:
    title: str
    xlabel: str
    lines: list[tuple[str, list[float], list[float]]] = field(default_factory=list)  # (label, x, y)
    ylabel: str | None = None
    reference: tuple[str, float] | None = None  # (label, y): a dashed horizontal line, e.g. chance
    legend: bool = False


def line_panels(path: str | Path, panels: list[Panel], *, sharey: bool = False) -> Path:
    """Draw `panels` left to right into the PNG `path`, each label in the same colour in every panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6), sharey=sharey, squeeze=False)
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if len({label for panel in panels for label, _, _ in panel.lines}) > len(cycle):
        cycle = [matplotlib.colors.to_hex(c) for c in plt.get_cmap("tab20").colors]  # no two labels share a colour
    colours: dict[str, str] = {}  # one colour per label across the panels, so a legend in one of them reads for all
    for ax, panel in zip(axes[0], panels):
        for label, xs, ys in panel.lines:
            colour = colours.setdefault(label, cycle[len(colours) % len(cycle)])
            ax.plot(xs, ys, marker="o", label=label, color=colour)
        if panel.reference is not None:
            ax.axhline(panel.reference[1], color="grey", linestyle="--", label=panel.reference[0])
        ax.set_title(panel.title)
        ax.set_xlabel(panel.xlabel)
        if panel.ylabel:
            ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        if panel.legend:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
