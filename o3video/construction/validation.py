"""Scoring the pipeline on the synthetic world: for each kind of error the ground-truth annotator
injected, how many were caught (the sample dropped, the bad element removed, or a broken reply
recovered by asking again) and how many got through; and how many clean samples were wrongly dropped.

A broken reply that was read after all (the annotator asked again) counts as recovered whatever the
later stages did with the sample. The injection ledger is JSON lines `{"item", "kind", "detail"}` written by the test server
(`o3video.lab.offline.server`); items without an entry are clean.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o3video.construction.consistency import parse_reasoning, same_name

CLEAN = "clean"

# The kinds of error an injection ledger may name (the offline annotator injects them).
ERROR_KINDS = ("shifted_box", "oversized_box", "wrong_name", "time_outside_key_frames", "hallucinated_object", "broken_json")


def read_ledger(path: str | Path) -> dict[str, dict[str, Any]]:
    ledger: dict[str, dict[str, Any]] = {}
    path = Path(path)
    if not path.exists():
        return ledger
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            ledger[entry["item"]] = entry
    return ledger


@dataclass
class Outcome:
    """Where an item's annotation ended: kept (its record) or dropped at `stage` for `codes`."""

    record: dict[str, Any] | None
    stage: str | None = None
    codes: list[str] = field(default_factory=list)


def _close(a: list[float], b: list[float], tolerance: float = 2e-3) -> bool:
    return len(a) == len(b) == 4 and all(abs(x - y) <= tolerance for x, y in zip(a, b))


def element_survives(kind: str, detail: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether the injected error is still in a kept record."""
    completion = parse_reasoning(record.get("reasoning_process", ""))
    items = record.get("key_items", {})
    if kind in ("shifted_box", "oversized_box", "hallucinated_object"):
        box = detail["box"]
        in_items = any(_close(b, box) for objects in items.values() for boxes in objects.values() for b in boxes)
        return in_items or any(_close(list(b), box) for b in completion.boxes)
    if kind == "wrong_name":
        names = [c.object for c in completion.claims] + [n for objects in items.values() for n in objects]
        return any(same_name(n, detail["name"]) for n in names)
    if kind == "time_outside_key_frames":
        return any(abs(t - detail["time"]) < 1e-3 for t in completion.times)
    if kind == "broken_json":
        return not detail.get("recoverable", False)
    raise ValueError(f"unknown injected error kind {kind!r}")


def _row() -> dict[str, Any]:
    return {"injected": 0, "caught": 0, "dropped": 0, "removed": 0, "recovered": 0, "missed": 0,
            "caught_by": Counter(), "missed_examples": []}


def validation_table(ledger: dict[str, dict[str, Any]], outcomes: dict[str, Outcome], kinds: tuple[str, ...]) -> dict[str, Any]:
    """Rows per injected kind (and one for clean samples) from each finished item's outcome."""
    rows: dict[str, dict[str, Any]] = {kind: _row() for kind in kinds}
    clean = {"samples": 0, "kept": 0, "wrongly_dropped": 0, "by_reason": Counter(), "examples": []}
    for item_id, outcome in outcomes.items():
        entry = ledger.get(item_id)
        if entry is None or entry["kind"] == CLEAN:
            clean["samples"] += 1
            if outcome.record is not None:
                clean["kept"] += 1
            else:
                clean["wrongly_dropped"] += 1
                for code in outcome.codes:
                    clean["by_reason"][f"{outcome.stage}: {code}"] += 1
                if len(clean["examples"]) < 5:
                    clean["examples"].append({"id": item_id, "stage": outcome.stage, "codes": outcome.codes})
            continue
        kind, detail = entry["kind"], entry.get("detail", {})
        row = rows.setdefault(kind, _row())
        row["injected"] += 1
        if kind == "broken_json" and outcome.stage != "annotate":
            # The reply was read after all (asked again); what later stages did is not about this error.
            recovered = not element_survives(kind, detail, outcome.record or {})
            row["caught" if recovered else "missed"] += 1
            if recovered:
                row["recovered"] += 1
                row["caught_by"]["annotate: asked again"] += 1
            elif len(row["missed_examples"]) < 3:
                row["missed_examples"].append({"id": item_id, "detail": detail})
        elif outcome.record is None:
            row["caught"] += 1
            row["dropped"] += 1
            row["caught_by"][f"{outcome.stage}: {outcome.codes[0] if outcome.codes else '?'}"] += 1
        elif element_survives(kind, detail, outcome.record):
            row["missed"] += 1
            if len(row["missed_examples"]) < 3:
                row["missed_examples"].append({"id": item_id, "detail": detail})
        else:
            row["caught"] += 1
            row["removed"] += 1
            row["caught_by"]["boxes: box removed"] += 1
    for row in rows.values():
        row["caught_by"] = dict(row["caught_by"].most_common())
    clean["by_reason"] = dict(clean["by_reason"].most_common())
    return {"rows": rows, "clean": clean}


__all__ = ["CLEAN", "Outcome", "element_survives", "read_ledger", "validation_table"]
