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


def render_markdown(report: dict[str, Any]) -> str:
    lines = ["# STGR build report", ""]
    lines += ["## Sources", "", "| file | kind | items |", "|---|---|---|"]
    lines += [f"| {_cell(s['path'])} | {s['kind']} | {s['items']} |" for s in report["sources"]]
    lines += ["", "## Stages", "", "An item rejected for several reasons counts once under each.", "",
              "| stage | in | kept | rejected | errors (retried next run) |", "|---|---|---|---|---|"]
    for name, stage in report["stages"].items():
        lines.append(f"| {name} | {stage['in']} | {stage['kept']} | {stage['rejected']} | {stage['errors']} |")
    for name, stage in report["stages"].items():
        if not stage["reasons"] and not stage["error_examples"]:
            continue
        lines += ["", f"### {name}", "", "| reason | items | examples |", "|---|---|---|"]
        for code, count in stage["reasons"].items():
            examples = "<br>".join(f"`{_cell(e['id'])}`: {_cell(e['detail'])}" for e in stage["examples"].get(code, []))
            lines.append(f"| {code} | {count} | {examples} |")
        for error in stage["error_examples"]:
            lines.append(f"| error | | `{_cell(error['id'])}`: {_cell(error['error'])} |")
    extra = report.get("boxes_removed")
    if extra is not None:
        lines += ["", f"Boxes removed for covering over {report['max_box_area']:.0%} of the frame: {extra}."]
    lines += ["", "## Records", "", "| file | records |", "|---|---|"]
    lines += [f"| {_cell(name)} | {count} |" for name, count in report["records"].items()]
    mix = report.get("mix")
    if mix:
        lines += ["", f"## Mix ({mix['name']}): {mix['total']} records", "",
                  "| category | target share | available | taken | achieved share |", "|---|---|---|---|---|"]
        for category, share in mix["target_shares"].items():
            lines.append(f"| {category} | {share:.1%} | {mix['available'][category]} | {mix['counts'][category]} | "
                         f"{mix['achieved_shares'][category]:.1%} |")
        if mix["missing_categories"]:
            lines += ["", f"No records at all for: {', '.join(mix['missing_categories'])}; the other shares were renormalised."]
    validation = report.get("validation")
    if validation:
        lines += ["", "## Synthetic validation: injected errors", "", render_validation(validation)]
    return "\n".join(lines) + "\n"


def render_validation(validation: dict[str, Any]) -> str:
    lines = ["| injected error | samples | caught | missed | caught how |", "|---|---|---|---|---|"]
    for kind, row in validation["rows"].items():
        how = ", ".join(f"{k} ({v})" for k, v in row["caught_by"].items()) or "-"
        lines.append(f"| {kind} | {row['injected']} | {row['caught']} | {row['missed']} | {_cell(how)} |")
    clean = validation["clean"]
    reasons = ", ".join(f"{k} ({v})" for k, v in clean["by_reason"].items()) or "-"
    lines += ["", "| clean samples | kept | wrongly dropped | why |", "|---|---|---|---|",
              f"| {clean['samples']} | {clean['kept']} | {clean['wrongly_dropped']} | {_cell(reasons)} |"]
    return "\n".join(lines)


__all__ = ["render_markdown", "render_validation", "stage_summary", "write_report"]
