"""The demo's report: `report.md` and a self-contained `report.html` (pictures inlined).

Everything in it is read from the run's own files: the evaluation summaries, the trainers'
`metrics.jsonl`, the evidence pictures and the stage timings.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o3video.io import atomic_path, atomic_write_text
from o3video.lab.demo.evaluate import EvalSummary
from o3video.tables import markdown_table

# Reward-curve panels: (title, metrics.jsonl keys).
RL_PANELS = (
    ("reward terms (group mean)", ("rewards/accuracy_reward/mean", "rewards/temporal_reward/mean",
                                   "rewards/spatial_reward/mean", "rewards/format_reward/mean")),
    ("total reward", ("reward",)),
    ("KL to the SFT model", ("kl",)),
    ("clipped share (sequence ratio outside 1±ε)", ("clip_ratio/region_mean",)),
    ("completion length (tokens)", ("completions/mean_length",)),
    ("σ of the temporal reward", ("sigma",)),
)
SFT_PANELS = (("SFT loss (assistant tokens)", ("loss",)), ("token accuracy", ("mean_token_accuracy",)))


@dataclass
class Check:
    """One of the demo's bars, measured: what, the numbers, and whether it was met."""

    what: str
    measured: str
    passed: bool


@dataclass
class ReportInputs:
    title: str
    settings: dict[str, Any]
    evals: list[EvalSummary]
    checks: list[Check]
    curves: list[tuple[str, Path]] = field(default_factory=list)  # (caption, png)
    evidence: list[tuple[str, Path]] = field(default_factory=list)  # (caption, png)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (heading, markdown: paragraphs and tables)


def _smooth(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_curves(rows: list[dict[str, Any]], panels: Sequence[tuple[str, Sequence[str]]], path: Path, title: str) -> Path | None:
    """One PNG with a panel per (title, keys) that has data: raw values faint, a moving average bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [(t, [k for k in keys if any(isinstance(r.get(k), (int, float)) for r in rows)]) for t, keys in panels]
    present = [(t, keys) for t, keys in present if keys]
    if not present:
        return None
    cols = min(3, len(present))
    nrows = (len(present) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 2.9 * nrows), squeeze=False)
    for ax, (panel, keys) in zip(axes.flat, present):
        for key in keys:
            points = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float)) and "train_runtime" not in r]
            if not points:
                continue
            steps, values = zip(*points)
            label = key.split("/")[1].replace("_reward", "") if key.startswith("rewards/") else key.split("/")[-1]
            line = ax.plot(steps, values, alpha=0.25)[0]
            ax.plot(steps, _smooth(list(values), max(1, len(values) // 10)), color=line.get_color(), label=label)
        ax.set_title(panel, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        if len(keys) > 1:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(present):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def save_figure(fig: Any, path: Path) -> Path:
    """Lay out a matplotlib figure, write it to `path` (PNG, atomically) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


VSTAR_HEADER = ("model", "n", "What", "Chain 1 When (tIoU)", "Chain 1 Where (vIoU)", "Chain 2 Where (vIoU)",
                "Chain 2 When (tIoU)", "AM c1", "AM c2", "LGM c1", "LGM c2", "**mAM**", "**mLGM**", "format r_fmt")


def vstar_table(evals: Sequence[EvalSummary]) -> str:
    """The V-STaR-style table (percent): what / when / where per chain, AM and LGM per chain, mAM, mLGM, r_fmt."""
    rows = [[e.name, e.n, *map(_pct, (e.what, e.when_1, e.where_1, e.where_2, e.when_2, e.am_1, e.am_2, e.lgm_1, e.lgm_2)),
             f"**{_pct(e.mAM)}**", f"**{_pct(e.mLGM)}**", f"{e.format:.3f}"] for e in evals]
    return markdown_table(VSTAR_HEADER, rows)


def format_table(evals: Sequence[EvalSummary]) -> str:
    kinds = ("what", "when_1", "where_1", "where_2", "when_2")
    rows = [[e.name, *(f"{e.format_by_kind.get(k, 0.0):.3f}" for k in kinds), f"{e.format:.3f}"] for e in evals]
    return markdown_table(["model", *kinds, "all"], rows)


def shape_table(evals: Sequence[EvalSummary]) -> str:
    keys = ("span_readable", "span_length_s", "boxes_per_where", "proper_boxes")
    rows = [[e.name, *(f"{e.answer_shape.get(k, 0):.2f}" for k in keys)] for e in evals]
    return markdown_table(["model", "readable spans", "mean span (s)", "boxes per where answer",
                           "proper boxes (x2>x1, y2>y1)"], rows)


def timings_table(timings: dict[str, float]) -> str:
    rows = [[k, f"{v:.1f}"] for k, v in timings.items()] + [["**total**", f"**{sum(timings.values()):.1f}**"]]
    return markdown_table(["stage", "seconds"], rows)


def markdown(inputs: ReportInputs, base: Path) -> str:
    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(base))
        except ValueError:
            return str(path)

    parts = [f"# {inputs.title}", ""]
    parts += [f"- {k}: {v}" for k, v in inputs.settings.items()]
    parts += ["", "## Result", ""]
    parts += [f"- {'PASS' if c.passed else 'FAIL'} — {c.what}: {c.measured}" for c in inputs.checks]
    parts += ["", "## V-STaR on the held-out synthetic split (judge: exact; percent)", "", vstar_table(inputs.evals), ""]
    parts += ["### Format reward r_fmt per V-STaR prompt (1.0 = well formed with the grounding the task calls for)", "",
              format_table(inputs.evals), ""]
    parts += ["### What the answers look like (whatever they score)", "", shape_table(inputs.evals), ""]
    for heading, body in inputs.sections:
        parts += [f"## {heading}", "", body, ""]
    if inputs.notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in inputs.notes] + [""]
    if inputs.curves:
        parts += ["## Training curves", ""]
        parts += [f"![{caption}]({rel(path)})\n\n{caption}\n" for caption, path in inputs.curves]
    if inputs.evidence:
        parts += ["## Evidence (SFT+GSPO model, held-out test videos)", ""]
        parts += [f"![{caption}]({rel(path)})\n\n{caption}\n" for caption, path in inputs.evidence]
    if inputs.timings:
        parts += ["## Timings (seconds, this run)", "", timings_table(inputs.timings), ""]
    return "\n".join(parts) + "\n"


def _inline(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


def markdown_html(text: str) -> str:
    """Markdown (paragraphs, pipe tables, emphasis) as HTML, by markdown-it (CommonMark with tables);
    raw HTML in the text is escaped, not passed through."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def html_page(inputs: ReportInputs) -> str:
    esc = html.escape
    css = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}table{border-collapse:collapse;"
           "margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
           "td:first-child,th:first-child{text-align:left}.pass{color:#17803d}.fail{color:#b42318}"
           "figure{margin:1em 0}figcaption{font-size:13px;color:#555}img{max-width:100%}")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(inputs.title)}</title>"
             f"<style>{css}</style></head><body>", f"<h1>{esc(inputs.title)}</h1><ul>"]
    parts += [f"<li>{esc(str(k))}: {esc(str(v))}</li>" for k, v in inputs.settings.items()]
    parts += ["</ul><h2>Result</h2><ul>"]
    for c in inputs.checks:
        cls, word = ("pass", "PASS") if c.passed else ("fail", "FAIL")
        parts.append(f"<li><b class='{cls}'>{word}</b> — {esc(c.what)}: {esc(c.measured)}</li>")
    parts += ["</ul><h2>V-STaR on the held-out synthetic split (judge: exact; percent)</h2>",
              markdown_html(vstar_table(inputs.evals)), "<h3>Format reward r_fmt per V-STaR prompt</h3>",
              markdown_html(format_table(inputs.evals)), "<h3>What the answers look like</h3>",
              markdown_html(shape_table(inputs.evals))]
    for heading, body in inputs.sections:
        parts += [f"<h2>{esc(heading)}</h2>", markdown_html(body)]
    if inputs.notes:
        parts += ["<h2>Notes</h2><ul>"] + [f"<li>{esc(n)}</li>" for n in inputs.notes] + ["</ul>"]
    for heading, pictures in (("Training curves", inputs.curves), ("Evidence (SFT+GSPO model, held-out test videos)", inputs.evidence)):
        if pictures:
            parts.append(f"<h2>{heading}</h2>")
            parts += [f"<figure><img src='{_inline(p)}'><figcaption>{esc(c)}</figcaption></figure>" for c, p in pictures]
    if inputs.timings:
        parts += ["<h2>Timings (seconds, this run)</h2>", markdown_html(timings_table(inputs.timings))]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(inputs: ReportInputs, out_dir: Path) -> tuple[Path, Path]:
    """Write `report.md` and `report.html` into `out_dir`; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md, page = out_dir / "report.md", out_dir / "report.html"
    atomic_write_text(md, markdown(inputs, out_dir))
    atomic_write_text(page, html_page(inputs))
    return md, page


__all__ = ["Check", "RL_PANELS", "ReportInputs", "SFT_PANELS", "html_page", "markdown", "markdown_html", "plot_curves",
           "save_figure", "vstar_table", "write_report"]
