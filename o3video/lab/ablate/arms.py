"""The arms of `o3video ablate`: each a typed description of one training recipe on the demo's world.

An arm names the paper tables it belongs to, the stages it trains (SFT, RL, both, or none when its numbers are
an evaluation the SFT+GSPO run already makes), the typed changes to the demo's recipes (`DemoSettings.sft_settings`
/ `rl_settings`), whether its SFT targets are text-only, whether it trains beside a blind twin, and whether its RL
starts from the seed's one shared SFT model (the SFT+GSPO run's). Arms shared between tables are one arm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REFERENCE = "sft_gspo"  # the demo itself: its run holds the base and SFT evaluations, the blind twins and the MCQ


@dataclass(frozen=True)
class Arm:
    """One training recipe of the ablation, run over every seed."""

    name: str  # its folder, OUT/arms/NAME/seed-K
    label: str  # its row in the tables
    tables: tuple[int, ...]  # the paper tables it is a row of
    stages: tuple[str, ...] = ("sft", "rl")  # what it trains: sft, rl, both, or () (an evaluation of the reference)
    sft_settings: dict[str, Any] = field(default_factory=dict)  # changes to the demo's SFT recipe
    rl_settings: dict[str, Any] = field(default_factory=dict)  # changes to the demo's RL recipe
    text_only: bool = False  # SFT targets without boxes or times (`o3video.grammar.ungrounded`)
    blind: bool = False  # trained and evaluated beside its blind twin (the same recipe on blank frames)
    shared_sft: bool = False  # RL starts from the seed's shared SFT model (the reference run's)
    eval_key: str = "gspo"  # its V-STaR results in the run folder: eval/KEY.jsonl (blind twin: eval/blind_KEY.jsonl)
    source: str | None = None  # an evaluation of another arm's run folder (base, SFT only: the reference's)

    @property
    def folder_arm(self) -> str:
        """The arm whose run folder holds this arm's evaluations."""
        return self.source or self.name


_NO_THINKING = ["accuracy", "format"]
_NO_SPATIAL = ["accuracy", "temporal", "format"]

ARMS: tuple[Arm, ...] = (
    Arm("base", "base (untrained)", (3,), stages=(), eval_key="base", source=REFERENCE),
    Arm("sft_only", "SFT only", (3,), stages=(), blind=True, eval_key="sft", source=REFERENCE),
    Arm("rl_only", "RL only (GSPO from the base)", (3,), stages=("rl",), blind=True),
    Arm("sft_grpo", "SFT+GRPO", (3,), stages=("rl",), rl_settings={"algo": "grpo"}, blind=True, shared_sft=True),
    Arm(REFERENCE, "SFT+GSPO", (3, 5, 6, 8, 9, 13), blind=True),
    Arm("sigma_1", "fixed σ = 1", (8,), stages=("rl",), rl_settings={"rewards.sigma": 1.0}, shared_sft=True),
    Arm("sigma_4", "fixed σ = 4 (without adaptive proximity)", (5, 8), stages=("rl",),
        rl_settings={"rewards.sigma": 4.0}, shared_sft=True),
    Arm("no_gating", "without temporal gating", (5,), stages=("rl",), rl_settings={"rewards.gating": False},
        shared_sft=True),
    Arm("no_spatial", "without the spatial term r_s", (5,), stages=("rl",), rl_settings={"rewards.terms": _NO_SPATIAL},
        shared_sft=True),
    Arm("text_only", "text-only (no boxes or times in SFT, no thinking reward)", (9,),
        rl_settings={"rewards.terms": _NO_THINKING}, text_only=True, blind=True),
)
ARM_BY_NAME = {arm.name: arm for arm in ARMS}
# `--quick`: two trained arms, fixed σ = 4 being one of two tables (5, 8) and without a blind twin (the quickest);
# the reference's own evaluations fill Table 3's base and SFT-only rows and Tables 6 and 13
QUICK_ARMS = (REFERENCE, "sigma_4")


def arms_of(tables: tuple[int, ...], names: tuple[str, ...] | None = None) -> tuple[Arm, ...]:
    """The arms of `tables` (restricted to `names` when given), the reference first: every other arm needs its run."""
    chosen = [a for a in ARMS if set(a.tables) & set(tables) and (names is None or a.name in names)]
    needed = {a.folder_arm for a in chosen} | {REFERENCE for a in chosen if a.shared_sft}
    chosen += [ARM_BY_NAME[n] for n in sorted(needed) if n not in {a.name for a in chosen}]
    return tuple(sorted(chosen, key=lambda a: a.name != REFERENCE))


__all__ = ["ARMS", "ARM_BY_NAME", "QUICK_ARMS", "REFERENCE", "Arm", "arms_of"]
