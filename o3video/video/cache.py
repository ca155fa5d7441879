"""On-disk cache of sampled frames, keyed by file content identity + sampling parameters.

* Identity without hashing whole multi-GB files: size, modification time (ns) and a SHA-256 of the
  first and last 64 KiB (an MP4's `moov` or a Matroska's cues sit at one end and change with any edit
  of the content). A rewritten file therefore misses the cache; the stale entry is simply never read.
* One entry is one uncompressed `.npz` file (frames as a uint8 array + JSON metadata): reading it
  back costs a file read, not a decode (`bench/frames.py` measures a cached re-read against a cold one).
* Writers write a temporary file in the same directory and rename it into place (`o3video.io.atomic_path`), which is
  atomic on POSIX: concurrent readers see either no entry or a whole one. Unreadable entries
  (e.g. left by a full disk) are treated as misses and overwritten.
* A video's probe (`o3video.video.probe`, ~0.1 s of demuxing) is kept as an entry too, with no frames
  (`cached_probe`), so a run that starts again, or every rank of a distributed one, reads it instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from o3video.io import atomic_path

if TYPE_CHECKING:
    from o3video.video.probe import VideoInfo

CACHE_VERSION = 1  # bump when the decoding or resizing of frames changes
PROBE_VERSION = 1  # bump when what `probe` measures changes
_CHUNK = 64 * 1024


def file_identity(path: str | Path) -> str:
    """A short hex digest that changes whenever the file's content (or its mtime) changes."""
    stat = os.stat(path)
    digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    with open(path, "rb") as file:
        digest.update(file.read(_CHUNK))
        if stat.st_size > 2 * _CHUNK:
            file.seek(-_CHUNK, os.SEEK_END)
        digest.update(file.read(_CHUNK))
    return digest.hexdigest()[:32]


def cache_key(identity: str, params: dict[str, Any]) -> str:
    """Entry name for a file identity and the sampling parameters that produced the frames."""
    blob = json.dumps({"version": CACHE_VERSION, "file": identity, "params": params}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


class FrameCache:
    """A directory of entries, each `frames` (N, H, W, 3) uint8 + a JSON-able metadata dict."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def entry_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def load(self, key: str) -> tuple[np.ndarray, dict[str, Any]] | None:
        """(frames, metadata) for `key`, or None on a miss (absent or unreadable entry)."""
        path = self.entry_path(key)
        try:
            with np.load(path, allow_pickle=False) as entry:
                frames = entry["frames"]
                meta = json.loads(entry["meta"].tobytes().decode())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return frames, meta

    def store(self, key: str, frames: np.ndarray, meta: dict[str, Any]) -> Path:
        """Write the entry atomically (temp file + rename); the last writer wins, readers never see halves."""
        path = self.entry_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta_bytes = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with atomic_path(path) as tmp, open(tmp, "wb") as file:
            np.savez(file, frames=frames, meta=meta_bytes)
        return path


def cached_probe(path: str | Path, cache_dir: str | Path | None) -> "VideoInfo":
    """`probe(path)`, read from the cache in `cache_dir` when the same file content was probed there before
    (and stored there when not); without a cache directory, the plain probe. Failures are never cached."""
    from dataclasses import replace

    from o3video.video.probe import VideoInfo, probe

    if cache_dir is None:
        return probe(path)
    cache = FrameCache(cache_dir)
    key = cache_key(file_identity(path), {"probe": PROBE_VERSION})
    hit = cache.load(key)
    if hit is not None:
        return replace(VideoInfo.from_dict(hit[1]), path=str(path))
    info = probe(path)
    cache.store(key, np.zeros((0,), dtype=np.uint8), info.to_dict())
    return info
