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

import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
FINAL = ("kept", "rejected")


class StageLog:
    """The JSON-lines output of one stage, keyed by item id."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.entries: dict[str, dict[str, Any]] = {}
        self.dropped_partial = self._repair()
        self._load()

    def _repair(self) -> bool:
        """Truncate a last line cut off by a kill; True if there was one."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        with open(self.path, "rb+") as f:
            data = f.read()
            if data.endswith(b"\n"):
                return False
            keep = data.rfind(b"\n") + 1
            f.truncate(keep)
        return True

    def _load(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    raise ValueError(f"{self.path}: line {number} is not valid JSON; the stage log is damaged") from None
                self.entries[str(entry["id"])] = entry

    def finished(self, item_id: str) -> bool:
        entry = self.entries.get(item_id)
        return entry is not None and entry.get("status") in FINAL

    def append(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            self.entries[str(entry["id"])] = entry


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
    from tqdm import tqdm

    log = StageLog(Path(out) / "stages" / f"{name}.jsonl")
    todo = [(item_id, item) for item_id, item in items if not log.finished(item_id)]
    bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=name, unit="item", disable=not progress)

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
