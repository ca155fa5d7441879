"""The paper's ablation tables (Open-o3 Video, Tables 3, 5, 6, 8, 9, 13): their rows, the paper's numbers and
the claims each supports, as data. A row is an arm (`o3video.lab.ablate.arms`) or, for Tables 6 and 13, a
measurement on the SFT+GSPO model (`mcq.KIND`: the demo's synthetic MCQ, its votes and its faithfulness probe).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    key: str  # an arm's name, or a measurement `mcq.KIND`
    label: str
    paper: tuple[float | None, ...] = ()  # the paper's numbers, one per `PaperTable.paper_columns`


@dataclass(frozen=True)
class Claim:
    """`better` scores higher than `worse` on `metric`: what the paper concludes from the table."""

    text: str
    better: str
    worse: str
    metric: str


@dataclass(frozen=True)
class PaperTable:
    number: int
    title: str
    metrics: tuple[str, ...]  # our columns: EvalSummary fields (V-STaR), or `accuracy` (MCQ measurements)
    paper_columns: tuple[str, ...]
    rows: tuple[Row, ...]
    claims: tuple[Claim, ...]
    seeing: bool = False  # each arm beside its blind twin (the table is about what the model sees)


TABLES: tuple[PaperTable, ...] = (
    PaperTable(3, "Training strategy (V-STaR)", ("mAM", "mLGM", "when_1"), ("mAM", "mLGM"), (
        Row("base", "base (untrained)", (19.3, 22.4)),
        Row("sft_only", "SFT only", (28.5, 37.1)),
        Row("rl_only", "RL only (GSPO from the base)", (30.4, 40.7)),
        Row("sft_grpo", "SFT+GRPO", (32.8, 45.3)),
        Row("sft_gspo", "SFT+GSPO", (33.7, 46.6)),
    ), (
        Claim("SFT improves on the base", "sft_only", "base", "mLGM"),
        Claim("RL improves on the base", "rl_only", "base", "mLGM"),
        Claim("RL outperforms SFT", "rl_only", "sft_only", "mLGM"),
        Claim("SFT+GSPO outperforms SFT", "sft_gspo", "sft_only", "mLGM"),
        Claim("SFT+GSPO outperforms RL alone", "sft_gspo", "rl_only", "mLGM"),
        Claim("GSPO surpasses GRPO (mAM)", "sft_gspo", "sft_grpo", "mAM"),
        Claim("GSPO surpasses GRPO (mLGM)", "sft_gspo", "sft_grpo", "mLGM"),
        Claim("GSPO surpasses GRPO (chain-1 tIoU)", "sft_gspo", "sft_grpo", "when_1"),
    ), seeing=True),
    PaperTable(5, "Thinking reward (V-STaR)", ("mAM", "mLGM", "when_1", "where_1"), ("mAM", "mLGM"), (
        Row("sigma_4", "without adaptive proximity (fixed σ = 4)", (33.0, 45.2)),
        Row("no_gating", "without temporal gating", (32.3, 44.9)),
        Row("no_spatial", "without the spatial term r_s (not in the paper)", (None, None)),
        Row("sft_gspo", "both (SFT+GSPO)", (33.7, 46.6)),
    ), (
        Claim("adaptive proximity helps", "sft_gspo", "sigma_4", "mLGM"),
        Claim("temporal gating helps", "sft_gspo", "no_gating", "mLGM"),
        Claim("gating matters more than adaptive proximity", "sigma_4", "no_gating", "mLGM"),
        Claim("the spatial term helps (ours)", "sft_gspo", "no_spatial", "mLGM"),
    )),
    PaperTable(6, "Evidence faithfulness (synthetic MCQ, SFT+GSPO, greedy)", ("accuracy",), ("accuracy",), (
        Row("mcq.all_frames", "all frames", (68.7,)),
        Row("mcq.evidence_removed", "without the frames nearest each cited time", (66.0,)),
        Row("mcq.random_removed", "without as many random frames", (68.0,)),
    ), (
        Claim("removing the cited evidence costs more than random removal", "mcq.random_removed",
              "mcq.evidence_removed", "accuracy"),
    )),
    PaperTable(8, "Proximity schedule (V-STaR)", ("mAM", "mLGM", "when_1"), ("mAM", "mLGM"), (
        Row("sft_gspo", "adaptive σ (SFT+GSPO)", (33.7, 46.6)),
        Row("sigma_1", "fixed σ = 1", (32.6, 44.5)),
        Row("sigma_4", "fixed σ = 4", (33.0, 45.2)),
    ), (
        Claim("adaptive σ beats fixed σ = 1", "sft_gspo", "sigma_1", "mLGM"),
        Claim("adaptive σ beats fixed σ = 4", "sft_gspo", "sigma_4", "mLGM"),
    )),
    PaperTable(9, "o3-style against text-only reasoning (V-STaR)", ("what", "mAM", "mLGM"), ("what", "mLGM"), (
        Row("sft_gspo", "o3-style (SFT+GSPO)", (61.0, 46.6)),
        Row("text_only", "text-only", (58.6, 41.0)),
    ), (
        Claim("o3-style beats text-only (what)", "sft_gspo", "text_only", "what"),
        Claim("o3-style beats text-only (mLGM)", "sft_gspo", "text_only", "mLGM"),
    ), seeing=True),
    PaperTable(13, "Test-time scaling at N = 8 (synthetic MCQ, SFT+GSPO)", ("accuracy",),
               ("WorldSense", "VideoMMMU"), (
        Row("mcq.greedy", "one greedy answer", (37.5, 52.3)),
        Row("mcq.majority", "majority vote", (37.3, 53.1)),
        Row("mcq.confidence", "confidence-aware vote", (38.5, 54.1)),
    ), (
        Claim("confidence-aware voting beats majority voting", "mcq.confidence", "mcq.majority", "accuracy"),
    )),
)
TABLE_BY_NUMBER = {t.number: t for t in TABLES}


def mcq_values(summary: dict) -> dict[str, float]:
    """The measurements of Tables 6 and 13 (`mcq.KIND` -> accuracy) from a demo's `mcq_gspo.summary.json`."""
    out = {f"mcq.{kind}": summary["accuracy"][kind] for kind in ("greedy", "majority", "confidence")
           if kind in summary["accuracy"]}
    faithfulness = summary.get("faithfulness") or {}
    for kind in ("all_frames", "evidence_removed", "random_removed"):
        if f"accuracy_{kind}" in faithfulness:
            out[f"mcq.{kind}"] = faithfulness[f"accuracy_{kind}"]
    return out


__all__ = ["TABLES", "TABLE_BY_NUMBER", "Claim", "PaperTable", "Row", "mcq_values"]
