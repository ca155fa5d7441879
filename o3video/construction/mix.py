"""Mixing: combine the built records with existing STGR sets in target category proportions — the
paper's SFT mix (13.7% temporal / 16.7% spatial / 19.7% spatio-temporal / 50.0% general QA) and RL
mix (14.4 / 13.9 / 30.3 / 41.7), from `o3video.mixes`, or custom weights.

The mix is as large as the scarcest category allows (or `total`, if smaller): category counts are
the largest-remainder rounding of `total x share`, each drawn without replacement by a seeded
generator, and the result is shuffled with the same seed. A category with no records at all cannot
be matched: it is reported as missing and the shares of the others are renormalised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from o3video.construction.stgr_output import relative_path
from o3video.mixes import CATEGORIES, RL_MIX, SFT_MIX, Mix, category_of, largest_remainder, parse_mix

PRESETS = {"sft": SFT_MIX, "rl": RL_MIX}


def resolve_mix(spec: str) -> tuple[str, Mix]:
    """(name, Mix) of `sft`, `rl` or weights `temporal,spatial,spatio-temporal,general`."""
    if spec in PRESETS:
        return spec, PRESETS[spec]
    return "custom", parse_mix(spec, SFT_MIX)


@dataclass
class MixResult:
    name: str
    records: list[dict[str, Any]]
    target_shares: dict[str, float]
    available: dict[str, int]
    counts: dict[str, int]
    missing: list[str] = field(default_factory=list)

    @property
    def achieved_shares(self) -> dict[str, float]:
        total = sum(self.counts.values())
        return {c: (n / total if total else 0.0) for c, n in self.counts.items()}

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "total": len(self.records),
            "target_shares": {c: round(s, 4) for c, s in self.target_shares.items()},
            "achieved_shares": {c: round(s, 4) for c, s in self.achieved_shares.items()},
            "available": self.available,
            "counts": self.counts,
            "missing_categories": self.missing,
        }


def mix_records(name: str, pool: list[dict[str, Any]], mix: Mix, *, total: int | None = None, seed: int = 0) -> MixResult:
    """Draw a mix of `pool` in the proportions of `mix` (module docstring)."""
    by_category: dict[str, list[dict[str, Any]]] = {c: [] for c in CATEGORIES}
    for record in pool:
        by_category[category_of(record.get("task"))].append(record)
    shares = mix.shares()
    available = {c: len(rs) for c, rs in by_category.items()}
    missing = [c for c in CATEGORIES if shares[c] > 0 and available[c] == 0]
    usable = {c: s for c, s in shares.items() if c not in missing}
    norm = sum(usable.values())
    usable = {c: (s / norm if norm > 0 else 0.0) for c, s in usable.items()}
    limit = min((math.floor(available[c] / s + 1e-9) for c, s in usable.items() if s > 0), default=0)
    size = limit if total is None else min(total, limit)
    counts = largest_remainder(size, {c: usable.get(c, 0.0) for c in CATEGORIES}) if size > 0 else {c: 0 for c in CATEGORIES}
    counts = {c: min(n, available[c]) for c, n in counts.items()}
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(17,)))
    chosen: list[dict[str, Any]] = []
    for category in CATEGORIES:
        records = by_category[category]
        picks = rng.choice(len(records), size=counts[category], replace=False) if counts[category] else []
        chosen += [records[int(i)] for i in sorted(picks)]
    order = rng.permutation(len(chosen))
    return MixResult(name, [chosen[int(i)] for i in order], shares, available, counts, missing)


def rebase_record(record: dict[str, Any], from_dir: Path, to_dir: Path) -> dict[str, Any]:
    """A record from an STGR file in `from_dir` with its relative paths re-expressed from `to_dir`."""
    out = dict(record)
    for key in ("video_path", "image_path"):
        if isinstance(out.get(key), str) and not Path(out[key]).is_absolute():
            out[key] = relative_path(from_dir / out[key], to_dir)
    if isinstance(out.get("key_frames"), list):
        out["key_frames"] = [
            {**f, "path": relative_path(from_dir / f["path"], to_dir)}
            if isinstance(f, dict) and isinstance(f.get("path"), str) and not Path(f["path"]).is_absolute() else f
            for f in out["key_frames"]
        ]
    return out


__all__ = ["MixResult", "PRESETS", "mix_records", "rebase_record", "resolve_mix"]
