"""The one writer of Markdown pipe tables (evaluation reports, the demo's report, the build report, the
synthetic data card). Pure standard library, so any layer may use it; cells are written as given (the
caller formats numbers and escapes `|` where text may hold one)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_RULE = {"l": "---", "r": "---:"}


def markdown_table(header: Sequence[object], rows: Iterable[Sequence[object]], align: str | None = None) -> str:
    """A pipe table, no trailing newline. `align`: one letter per column, `l` (left) or `r` (right); by
    default the first column is left-aligned (row names) and the others right-aligned (numbers)."""
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header) or set(align) - set(_RULE):
        raise ValueError(f"align {align!r} must give l or r for each of the {len(header)} columns")
    lines = [_row(header), "|" + "".join(f"{_RULE[a]}|" for a in align)]
    return "\n".join(lines + [_row(row) for row in rows])


def _row(cells: Sequence[object]) -> str:
    return "|" + "".join(f" {cell} |" if str(cell) else " |" for cell in cells)


__all__ = ["markdown_table"]
