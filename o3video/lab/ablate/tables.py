"""The ablation's report: per paper table a markdown table (each row's mean ± sd across seeds beside the
paper's numbers, the blind twins where the table is about seeing) and its claims with a verdict each."""

from __future__ import annotations

from o3video.lab.ablate.paper import Claim, PaperTable
from o3video.lab.ablate.results import Measured
from o3video.lab.ablate.verdict import Effect, effect
from o3video.stats import mean_sd
from o3video.tables import markdown_table

NAMES = {"what": "what", "when_1": "chain-1 when (tIoU)", "where_1": "chain-1 where (vIoU)", "mAM": "mAM",
         "mLGM": "mLGM", "accuracy": "accuracy"}
NOT_RUN = "not run"


def cell(values: list[float]) -> str:
    """`mean ± sd` in percent (`mean` alone for one seed); `not run` for none."""
    if not values:
        return NOT_RUN
    mean, sd = mean_sd(values)
    return f"{100 * mean:.1f}" if len(values) == 1 else f"{100 * mean:.1f} ± {100 * sd:.1f}"


def column(runs: list[Measured | None], metric: str, blind: bool = False) -> list[float]:
    """One metric of a row over its finished seeds (its blind twin's with `blind`)."""
    found = [(m.blind if blind else m.values) for m in runs if m is not None]
    return [v[metric] for v in found if v is not None]


def claim_effect(rows: dict[str, list[Measured | None]], claim: Claim) -> Effect:
    """The claim's per-seed differences better − worse, over the seeds where both rows are finished."""
    pairs = zip(rows.get(claim.better, []), rows.get(claim.worse, []))
    both = [(b, w) for b, w in pairs if b is not None and w is not None]
    return effect([b.values[claim.metric] - w.values[claim.metric] for b, w in both])


def paper_difference(table: PaperTable, claim: Claim) -> str:
    """The paper's better − worse on the claim's metric, when the paper reports that metric for both rows."""
    if claim.metric not in table.paper_columns:
        return "—"
    i = table.paper_columns.index(claim.metric)
    by_key = {row.key: row.paper for row in table.rows}
    better, worse = by_key[claim.better], by_key[claim.worse]
    if len(better) <= i or len(worse) <= i or better[i] is None or worse[i] is None:
        return "—"
    return f"{better[i] - worse[i]:+.1f}"


def table_markdown(table: PaperTable, rows: dict[str, list[Measured | None]]) -> str:
    """The table's section: rows (ours, blind twins, the paper's), then the claims and their verdicts."""
    header = ["setting", "seeds", *(f"ours {NAMES.get(m, m)}" for m in table.metrics)]
    if table.seeing:
        header += [f"blind twin {NAMES.get(m, m)}" for m in table.metrics]
    header += [f"paper {name}" for name in table.paper_columns]
    body = []
    for row in table.rows:
        runs = rows.get(row.key, [])
        cells = [row.label, str(sum(m is not None for m in runs)), *(cell(column(runs, m)) for m in table.metrics)]
        if table.seeing:
            cells += [cell(column(runs, m, blind=True)) if any(m and m.blind for m in runs) else "—"
                      for m in table.metrics]
        cells += ["—" if v is None else f"{v:.1f}" for v in row.paper]
        body.append(cells)
    claims = []
    for claim in table.claims:
        found = claim_effect(rows, claim)
        ours = NOT_RUN if not found.seeds else (f"{100 * found.mean:+.1f}" if found.seeds == 1 else
                                                 f"{100 * found.mean:+.1f} ± {100 * found.sd:.1f}")
        claims.append([claim.text, NAMES.get(claim.metric, claim.metric), ours, paper_difference(table, claim),
                       found.verdict if found.seeds else NOT_RUN])
    return "\n".join([
        f"## Table {table.number}: {table.title}", "",
        markdown_table(header, body), "",
        markdown_table(["claim", "metric", "ours (better − worse)", "paper", "verdict"], claims, align="llrrl"),
    ])


__all__ = ["NOT_RUN", "cell", "claim_effect", "column", "paper_difference", "table_markdown"]
