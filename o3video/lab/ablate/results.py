"""What the ablation's runs measured, read back from each run's own summary files: for every table row and seed,
the arm's V-STaR summary (`eval/KEY.summary.json`) and its blind twin's, or the SFT+GSPO run's MCQ summary
(`eval/mcq_gspo.summary.json`) for the measurements of Tables 6 and 13."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from o3video.lab.ablate.arms import ARM_BY_NAME, REFERENCE
from o3video.lab.ablate.paper import mcq_values

SCALARS = ("what", "when_1", "where_1", "where_2", "when_2", "am_1", "am_2", "lgm_1", "lgm_2", "mAM", "mLGM", "format")
MCQ_SUMMARY = "mcq_gspo.summary.json"
ARM_DONE = "arm.json"  # written in a run folder once its arm is trained and evaluated there


def run_folder(out: Path, arm: str, k: int) -> Path:
    """OUT/arms/ARM/seed-K: the run folder of an arm's k-th seed."""
    return Path(out) / "arms" / arm / f"seed-{k}"


@dataclass
class Measured:
    """One row's numbers for one seed, and the files they were read from."""

    values: dict[str, float]
    blind: dict[str, float] | None = None
    files: list[str] = field(default_factory=list)


def _summary(path: Path) -> dict[str, float]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {key: float(data[key]) for key in SCALARS}


def measured(out: Path, key: str, k: int) -> Measured | None:
    """Row `key` (an arm, or `mcq.KIND`) for seed k, or None while its run is not finished."""
    if key.startswith("mcq."):
        path = run_folder(out, REFERENCE, k) / "eval" / MCQ_SUMMARY
        if not (run_folder(out, REFERENCE, k) / ARM_DONE).is_file() or not path.is_file():
            return None
        value = mcq_values(json.loads(path.read_text(encoding="utf-8"))).get(key)
        return None if value is None else Measured({"accuracy": value}, files=[str(path)])
    arm = ARM_BY_NAME[key]
    folder = run_folder(out, arm.folder_arm, k)
    if not (folder / ARM_DONE).is_file():
        return None
    path = folder / "eval" / f"{arm.eval_key}.summary.json"
    out_row = Measured(_summary(path), files=[str(path)])
    blind = folder / "eval" / f"blind_{arm.eval_key}.summary.json"
    if arm.blind and blind.is_file():
        out_row.blind = _summary(blind)
        out_row.files.append(str(blind))
    return out_row


def collect(out: Path, keys: list[str], seeds: int) -> dict[str, list[Measured | None]]:
    """Every row's seeds 0..seeds-1 in order, None where that seed's run is not finished."""
    return {key: [measured(out, key, k) for k in range(seeds)] for key in keys}


__all__ = ["ARM_DONE", "MCQ_SUMMARY", "SCALARS", "Measured", "collect", "measured", "run_folder"]
