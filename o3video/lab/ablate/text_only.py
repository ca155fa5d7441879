"""The text-only arm's SFT data (the paper's non-o3 variant, Table 9): a copy of each SFT file whose reasoning has
its boxes and cited times taken out by `o3video.grammar.ungrounded`; questions and answers are kept as they are
(an answer is what the task asks for, a span or a box included)."""

from __future__ import annotations

from pathlib import Path

from o3video.grammar import ungrounded
from o3video.io import atomic_write_json, json_records

SUFFIX = ".text_only.json"


def text_only_file(path: Path) -> Path:
    """`path`'s text-only copy, written beside it (its records' media paths stay relative to the same folder) once."""
    target = path.with_name(path.stem + SUFFIX)
    if not target.is_file():
        records = [dict(r) | ({"reasoning_process": ungrounded(r["reasoning_process"])} if r.get("reasoning_process")
                             else {}) for r in json_records(path)]
        atomic_write_json(target, records)
    return target


def text_only_files(paths: list[Path]) -> list[Path]:
    return [text_only_file(Path(p)) for p in paths]


__all__ = ["SUFFIX", "text_only_file", "text_only_files"]
