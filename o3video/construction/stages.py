"""Resumable stages: each writes one JSON line per item to `<out>/stages/<stage>.jsonl` as soon as
the item is done, and a rerun skips the items already there.

An entry is `{"id", "status": "kept" | "rejected" | "error", "rejections": [{"code", "detail"}], ...}`.
"error" means the item could not be processed this time (server unreachable, ...): it is not
finished, and the next run tries it again. Each line is written with one `write` on a file opened
for appending, under a lock, and flushed; a line cut by a kill is dropped when the log is reopened
(the file is truncated back to its last complete line), so a rerun redoes exactly that item. When an
item has several lines (an error, then a retry), the last one counts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TypeVar

from o3video.io import JsonlLog

T = TypeVar("T")
FINAL = ("kept", "rejected")


class StageLog(JsonlLog):
    """The JSON-lines output of one stage, keyed by item id (`o3video.io.JsonlLog`: a line cut by a kill is
    redone, damage before it is named); appends from the stage's worker threads are serialised."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, key="id")
        self._lock = threading.Lock()

    def finished(self, item_id: str) -> bool:
        entry = self.entries.get(item_id)
        return entry is not None and entry.get("status") in FINAL

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            super().append(entry)


def error_entry(item_id: str, error: BaseException) -> dict[str, Any]:
    return {"id": item_id, "status": "error", "rejections": [], "error": f"{type(error).__name__}: {error}"}


def run_stage(
    name: str,
    items: Sequence[tuple[str, T]],
    work: Callable[[str, T], dict[str, Any]],
    *,
    out: Path,
    concurrency: int = 1,
    progress: bool = True,
    on_entry: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run `work(id, item)` for every item not finished in `<out>/stages/<name>.jsonl`, `concurrency`
    at a time, appending each result as it comes; returns the entries of all `items` (finished or not).

    `work` returns the entry (without `id`); an exception becomes an "error" entry (retried next run).
    """
    from o3video.progress import ProgressBar

    log = StageLog(Path(out) / "stages" / f"{name}.jsonl")
    todo = [(item_id, item) for item_id, item in items if not log.finished(item_id)]
    bar = ProgressBar(len(items), initial=len(items) - len(todo), desc=name, unit="item", disable=not progress).start()

    def one(item_id: str, item: T) -> dict[str, Any]:
        try:
            entry = work(item_id, item)
        except Exception as error:  # noqa: BLE001 - any failure is recorded and retried on the next run
            entry = error_entry(item_id, error)
        entry = {"id": item_id, **{k: v for k, v in entry.items() if k != "id"}}
        log.append(entry)
        if on_entry is not None:
            on_entry(entry)
        return entry

    try:
        if concurrency <= 1:
            for item_id, item in todo:
                one(item_id, item)
                bar.update(1)
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                futures = [pool.submit(one, item_id, item) for item_id, item in todo]
                for future in as_completed(futures):
                    future.result()
                    bar.update(1)
    finally:
        bar.close()
    return {item_id: log.entries[item_id] for item_id, _ in items if item_id in log.entries}


__all__ = ["FINAL", "StageLog", "error_entry", "run_stage"]
