"""Resumable files, written in one place: atomic writes, the keyed JSON-lines log, the run-settings check
and the one-writer lock.

* `atomic_path` / `atomic_write_text` write a temporary `.NAME.PID.tmp<suffix>` beside the target and
  `os.replace` it into place, so a reader never sees half a file; `remove_orphans` deletes the
  temporaries that a killed writer (whose PID is gone) left behind.
* `JsonlLog` is an append-only JSON-lines file keyed by one field. A last line cut short by a kill is
  truncated away (that record is simply redone); damage in the middle of the file is an error naming the
  line, never a silent drop.
* `check_settings` records a run's settings beside its output (`OUT.settings.json`) and refuses to resume
  with different ones, so two runs never mix in one file.
* `WriterLock` (`OUT.lock`, `flock`) lets one process write an output at a time; a second one is refused
  with the holder's PID. The kernel drops the lock when its holder dies, SIGKILL included.
* `check_output_file` / `check_output_folder` refuse an output path that cannot be written before the
  work that would fill it.
* `read_json_records` reads a file of records (a JSON array, as data sets are released, or JSON lines)
  with each record's real position, so every reader names the line a problem is on.

Pure standard library: the core may import it.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import math
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.errors import InputError

_ORPHAN = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)(?:-\d+)?\.tmp(?P<suffix>\.[^.]*)?$")
_TEMP_COUNTER = itertools.count(1)


class RunFileError(InputError):
    """A resumable file cannot be used as it is (damaged, other settings, another writer). One line, for users."""


# -- atomic writes ---------------------------------------------------------------------------------------


def temp_path(path: Path) -> Path:
    """The temporary name `atomic_path` writes before renaming: `.NAME.PID-N.tmp<suffix>` in the same folder,
    N counting this process's temporaries (threads writing the same file never share one). The suffix is
    kept so that writers that pick a format by extension (video muxers, PIL) still do."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{next(_TEMP_COUNTER)}.tmp{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on any error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_json(path: str | Path, data: Any, indent: int | None = 1) -> Path:
    """JSON with finite numbers only (`allow_nan=False`): `NaN`/`Infinity` are not JSON."""
    separators = (",", ":") if indent is None else None
    text = json.dumps(data, indent=indent, separators=separators, ensure_ascii=False, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans(folder: str | Path, recursive: bool = True) -> int:
    """Delete temporaries (`.NAME.PID.tmp…`) left in `folder` by writers that no longer run; returns how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.rglob(".*.tmp*") if recursive else folder.glob(".*.tmp*"):
        match = _ORPHAN.match(path.name)
        if match and path.is_file() and not _alive(int(match["pid"])):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# -- finite JSON -----------------------------------------------------------------------------------------


def finite(value: Any) -> Any:
    """`value` with every non-finite float (NaN, ±inf) replaced by None, in nested lists and dicts too."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def json_line(entry: dict[str, Any]) -> str:
    """One JSON line, standard JSON only: a non-finite number becomes null rather than `NaN`/`Infinity`."""
    return json.dumps(finite(entry), ensure_ascii=False, allow_nan=False) + "\n"


# -- the keyed JSON-lines log ----------------------------------------------------------------------------


class JsonlLog:
    """An append-only JSON-lines file whose entries are keyed by `entry[key]` (the last entry of a key wins).

    Opening it repairs what a kill can leave (a cut last line, truncated away) and refuses what a kill
    cannot (a bad line before the last), naming the file and line."""

    def __init__(self, path: str | Path, key: str = "key") -> None:
        self.path = Path(path)
        self.key = key
        self.entries: dict[str, dict[str, Any]] = {}
        self.dropped_partial = False
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline, else a line cut short by a kill
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            entry = self._decode(raw)
            if entry is None:
                raise RunFileError(f"{self.path}:{number}: damaged line (not a JSON object with {self.key!r}); "
                                   "fix or remove it, then rerun")
            self.entries[str(entry[self.key])] = entry
        if tail:
            self.dropped_partial = True
            os.truncate(self.path, len(data) - len(tail))

    def _decode(self, raw: bytes) -> dict[str, Any] | None:
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return None
        return entry if isinstance(entry, dict) and self.key in entry else None

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry as one line with one `write` call, flushed to the OS before returning."""
        line = json_line(entry).encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        self.entries[str(entry[self.key])] = entry


# -- output paths, checked before the work ---------------------------------------------------------------


def check_output_file(path: str | Path, option: str) -> Path:
    """An output file `path` (given as `option`) can be written: its folder exists and it is not a folder.
    Checked before the work that fills it, so a typo costs nothing."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder, not a file")
    if not path.parent.is_dir():
        raise InputError(f"{option} {path}: folder {path.parent} does not exist")
    return path


def check_output_folder(path: str | Path, option: str) -> Path:
    """An output folder `path` (given as `option`) is a folder or can be made: nothing else has its name."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: is a file, not a folder")
    return path


# -- files of records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonRecord:
    """One record of a JSON array or JSON-lines file: its position, and its value or why it has none."""

    index: int  # 0-based position among the file's records
    line: int | None  # 1-based line of a JSON-lines file (None in a JSON array)
    value: Any = None
    error: str | None = None  # a JSON-lines line that is not JSON: what is wrong with it

    @property
    def where(self) -> str:
        """`record 3` or `record 3 (line 5)`."""
        return f"record {self.index}" + (f" (line {self.line})" if self.line else "")


def _decode_text(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x}); "
                         "save the file as UTF-8") from None


def read_text(path: str | Path) -> str:
    """A UTF-8 text file; a missing file, a folder or other bytes are an `InputError` naming the file (and line)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    return _decode_text(path, path.read_bytes())


def _loads(text: str) -> Any:
    """`json.loads`, with nesting too deep for Python's parser a `ValueError` like any other bad JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _json_error(err: ValueError) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"not valid JSON ({err.msg} at column {err.colno})"
    return f"not valid JSON ({err})"


def read_json_records(path: str | Path) -> list[JsonRecord]:
    """The records of a JSON array file or a JSON-lines file, each with its index (and line).

    Problems with the file as a whole are an `InputError` naming it: missing, not UTF-8 (with the line),
    an array that is not valid JSON (with the line), one JSON document that is not an array. A JSON-lines
    line that is not JSON becomes a record with `error` set: the caller stops there or skips it."""
    path = Path(path)
    text = read_text(path)
    if text.lstrip().startswith("["):
        try:
            values = _loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}: not valid JSON ({err.msg}: line {err.lineno} column {err.colno})") from None
        except ValueError as err:
            raise InputError(f"{path}: not valid JSON ({err})") from None
        return [JsonRecord(index, None, value) for index, value in enumerate(values)]
    records = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(JsonRecord(len(records), line_no, _loads(line)))
        except ValueError as err:
            if not records:
                _refuse_single_document(path, text)
            records.append(JsonRecord(len(records), line_no, error=_json_error(err)))
    return records


def _refuse_single_document(path: Path, text: str) -> None:
    """A file whose first line is not JSON may be one JSON document written over several lines (an object,
    say): that is not a file of records, and saying so beats "line 1 is not JSON"."""
    try:
        value = _loads(text)
    except ValueError:
        return
    kind = {dict: "an object", str: "a string"}.get(type(value), type(value).__name__)
    raise InputError(f"{path}: is one JSON document ({kind}), not a JSON array of records or JSON lines")


def json_records(path: str | Path) -> list[Any]:
    """The values of `read_json_records`, stopping at the first line that is not JSON with an `InputError`
    naming the file and the line (`FILE:LINE: ...`)."""
    records = read_json_records(path)
    for record in records:
        if record.error is not None:
            raise InputError(f"{path}:{record.line}: {record.error}")
    return [record.value for record in records]


# -- run settings ----------------------------------------------------------------------------------------


def settings_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".settings.json")


def check_settings(out: str | Path, settings: dict[str, Any], *, restart: bool = False) -> None:
    """Record a results file's settings beside it (`OUT.settings.json`), or, when `out` already holds
    results, check them against the recorded ones (`compare_settings`); `restart=True` deletes `out` and
    starts it over with the new settings instead."""
    out, record = Path(out), settings_path(out)
    if restart:
        out.unlink(missing_ok=True)
    resuming = out.exists() and out.stat().st_size > 0
    if resuming and not record.exists():
        raise RunFileError(f"{out} holds results with no settings record ({record.name}): "
                           "use another --out, or --restart to start it over")
    compare_settings(record, settings, resuming=resuming, what=f"{out} holds results of another run",
                     hint="use another --out, or --restart to start it over")


def compare_settings(record: Path, settings: dict[str, Any], *, resuming: bool, what: str, hint: str) -> None:
    """When `resuming`, refuse settings other than those recorded at `record` (a `RunFileError` listing every
    difference, then `hint`); then record `settings` there. Every resumable command checks its settings
    here: evaluation results, synthetic worlds and STGR builds."""
    settings = json.loads(json.dumps(settings, default=str))  # the form it takes on disk
    if resuming and record.exists():
        try:
            recorded = json.loads(record.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunFileError(f"{record}: damaged settings record; {hint}") from None
        diff = [f"{k}: {recorded.get(k)!r} there, {settings.get(k)!r} now"
                for k in sorted(set(recorded) | set(settings)) if recorded.get(k) != settings.get(k)]
        if diff:
            raise RunFileError(f"{what} ({'; '.join(diff)}): {hint}")
    atomic_write_json(record, settings)


# -- one writer at a time --------------------------------------------------------------------------------


class WriterLock:
    """An exclusive, non-blocking `flock` on `OUT.lock`, held while one process writes `OUT`; the lock file
    names its holder, and is removed when the writer is done."""

    def __init__(self, out: str | Path) -> None:
        out = Path(out)
        self.path = out.with_name(out.name + ".lock")
        self.out = out
        self._fd: int | None = None

    def __enter__(self) -> WriterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
                os.close(fd)
                raise RunFileError(f"{self.out} is being written by {holder}; wait for it or use another --out") from None
            if self._still_the_file(fd):
                break
            os.close(fd)  # the holder removed the file between our open and our lock: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()} on {socket.gethostname()}".encode())
        self._fd = fd
        return self

    def _still_the_file(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def __exit__(self, *exc: Any) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # before unlocking: a waiting opener then retries on a new file
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


__all__ = [
    "JsonRecord",
    "JsonlLog",
    "RunFileError",
    "WriterLock",
    "atomic_path",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_file",
    "check_output_folder",
    "check_settings",
    "compare_settings",
    "finite",
    "json_line",
    "json_records",
    "read_json_records",
    "read_text",
    "remove_orphans",
    "settings_path",
    "temp_path",
]
