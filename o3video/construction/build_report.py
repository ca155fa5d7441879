"""The build report: per stage, items in / kept / rejected / failed, the rejection reasons with counts
and examples; the records written; the mix; and, on the synthetic world, the caught / wrongly-dropped
table per injected error kind. Written as `report.json` and `report.md`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from o3video.io import atomic_write_text
from o3video.tables import markdown_table

EXAMPLES_PER_REASON = 3


def stage_summary(entries: dict[str, dict[str, Any]], given: int) -> dict[str, Any]:
    """Counts of one stage over the `given` items it was handed (an item counts once per reason)."""
    statuses = Counter(e.get("status") for e in entries.values())
    reasons: Counter[str] = Counter()
    examples: dict[str, list[dict[str, str]]] = {}
    errors = []
    for item_id, entry in entries.items():
        codes_seen: set[str] = set()
        for rejection in entry.get("rejections", []):
            code = rejection["code"]
            if code in codes_seen:
                continue
            codes_seen.add(code)
            reasons[code] += 1
            if len(examples.setdefault(code, [])) < EXAMPLES_PER_REASON:
                examples[code].append({"id": item_id, "detail": rejection["detail"]})
        if entry.get("status") == "error" and len(errors) < EXAMPLES_PER_REASON:
            errors.append({"id": item_id, "error": entry.get("error", "")})
    return {
        "in": given,
        "kept": statuses.get("kept", 0),
        "rejected": statuses.get("rejected", 0),
        "errors": statuses.get("error", 0),
        "not_run": given - len(entries),
        "reasons": dict(reasons.most_common()),
        "examples": examples,
        "error_examples": errors,
    }


def write_report(out: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    json_path, md_path = out / "report.json", out / "report.md"
    atomic_write_text(json_path, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(md_path, render_markdown(report))
    return json_path, md_path


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    """The build report's tables: every column left-aligned."""
    return markdown_table(header, rows, align="l" * len(header))


def _reason_rows(stage: dict[str, Any]) -> list[list[Any]]:
    """A stage's rejection reasons (count, examples) and its error examples."""
    rows: list[list[Any]] = []
    for code, count in stage["reasons"].items():
        examples = "<br>".join(f"`{_cell(e['id'])}`: {_cell(e['detail'])}" for e in stage["examples"].get(code, []))
        rows.append([code, count, examples])
    rows += [["error", "", f"`{_cell(error['id'])}`: {_cell(error['error'])}"] for error in stage["error_examples"]]
    return rows


def render_markdown(report: dict[str, Any]) -> str:
    lines = ["# STGR build report", ""]
    sources = [[_cell(s["path"]), s["kind"], s["items"]] for s in report["sources"]]
    lines += ["## Sources", "", _table(["file", "kind", "items"], sources)]
    stages = [[name, stage["in"], stage["kept"], stage["rejected"], stage["errors"]] for name, stage in report["stages"].items()]
    lines += ["", "## Stages", "", "An item rejected for several reasons counts once under each.", "",
              _table(["stage", "in", "kept", "rejected", "errors (retried next run)"], stages)]
    for name, stage in report["stages"].items():
        if stage["reasons"] or stage["error_examples"]:
            lines += ["", f"### {name}", "", _table(["reason", "items", "examples"], _reason_rows(stage))]
    extra = report.get("boxes_removed")
    if extra is not None:
        lines += ["", f"Boxes removed for covering over {report['max_box_area']:.0%} of the frame: {extra}."]
    records = [[_cell(name), count] for name, count in report["records"].items()]
    lines += ["", "## Records", "", _table(["file", "records"], records)]
    mix = report.get("mix")
    if mix:
        shares = [[category, f"{share:.1%}", mix["available"][category], mix["counts"][category],
                   f"{mix['achieved_shares'][category]:.1%}"] for category, share in mix["target_shares"].items()]
        lines += ["", f"## Mix ({mix['name']}): {mix['total']} records", "",
                  _table(["category", "target share", "available", "taken", "achieved share"], shares)]
        if mix["missing_categories"]:
            lines += ["", f"No records at all for: {', '.join(mix['missing_categories'])}; the other shares were renormalised."]
    validation = report.get("validation")
    if validation:
        lines += ["", "## Synthetic validation: injected errors", "", render_validation(validation)]
    return "\n".join(lines) + "\n"


def render_validation(validation: dict[str, Any]) -> str:
    rows = [[kind, row["injected"], row["caught"], row["missed"],
             _cell(", ".join(f"{k} ({v})" for k, v in row["caught_by"].items()) or "-")]
            for kind, row in validation["rows"].items()]
    clean = validation["clean"]
    reasons = ", ".join(f"{k} ({v})" for k, v in clean["by_reason"].items()) or "-"
    return "\n".join([_table(["injected error", "samples", "caught", "missed", "caught how"], rows), "",
                      _table(["clean samples", "kept", "wrongly dropped", "why"],
                             [[clean["samples"], clean["kept"], clean["wrongly_dropped"], _cell(reasons)]])])


__all__ = ["render_markdown", "render_validation", "stage_summary", "write_report"]
