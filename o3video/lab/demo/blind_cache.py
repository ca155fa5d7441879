"""The blind twin, trained once per recipe and cached.

The blind twin (the demo's recipe on blank frames) costs as much CPU as the model it is compared with, yet
it is the same for every demo run of the same recipe. So its finished models and evaluations are kept in a
cache folder keyed by everything that decides them — the demo's settings, the training configs, the data and
the base model (their bytes), the training and evaluation code, and the library versions — and a later run
of the same recipe copies them instead of training again. Any change to one of those is a new key, so a
cached twin is never reused for a recipe it was not trained on.

The cache lives in `$O3VIDEO_CACHE/blind` (default `~/.cache/o3video/blind`); each entry is written to a
temporary folder and renamed into place, so a killed run never leaves a half entry that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from o3video.io import atomic_write_text

# The parts of the package whose code does not decide what the blind twin learns and scores: the report, the
# pictures, the CLI, the construction pipeline, and the perception pre-training (a pre-trained base is in the
# key by its bytes, as are the perception replay's records and images: `Demo.twin_recipe`).
_CODE_EXCLUDED = ("lab/demo", "lab/perception", "lab/offline", "viz", "commands", "construction")
# What a run directory holds of the twin: its two models (without checkpoints) and their evaluations.
MODELS = ("blind_sft", "blind_gspo")
EVALS = ("blind_sft", "blind_gspo")
ENTRY_INFO = "blind.json"


def cache_root() -> Path:
    """`$O3VIDEO_CACHE`, else `$XDG_CACHE_HOME/o3video`, else `~/.cache/o3video`."""
    if os.environ.get("O3VIDEO_CACHE"):
        return Path(os.environ["O3VIDEO_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "o3video"


def files_digest(paths: Iterable[Path], root: Path) -> str:
    """Hash of the files' paths (relative to `root`) and bytes, in path order."""
    sha = hashlib.sha256()
    for path in sorted(paths):
        sha.update(str(path.relative_to(root)).encode() + b"\0")
        sha.update(path.read_bytes())
    return sha.hexdigest()


def code_digest() -> str:
    """Hash of the o3video modules that train and evaluate the twin."""
    import o3video

    root = Path(o3video.__file__).parent
    files = [p for p in root.rglob("*.py") if not _excluded(p.relative_to(root))]
    return files_digest(files, root)


def _excluded(relative: Path) -> bool:
    return any(relative.as_posix() == part or relative.as_posix().startswith(part + "/") for part in _CODE_EXCLUDED)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "transformers", "trl", "accelerate", "av")}


def recipe(settings: Any, chain_threads: int, configs: Iterable[Path], data: Iterable[Path], base: Path) -> dict[str, Any]:
    """Everything that decides the blind twin, as JSON: the demo settings without the run folder and the
    thread count of this process, the thread count the twin trains with, and digests of the configs, data
    files, base model and code."""
    fields = {k: v for k, v in asdict(settings).items() if k not in ("out", "threads", "twin_cache", "sft_config", "rl_config")}
    data = list(data)
    return {
        "settings": json.loads(json.dumps(fields, default=str)),
        "chain_threads": chain_threads,
        "configs": [Path(c).read_text(encoding="utf-8") for c in configs],
        "data": files_digest(data, Path(os.path.commonpath([str(p.parent) for p in data]))),
        "base_model": files_digest([p for p in base.iterdir() if p.is_file()], base),
        "code": code_digest(),
        "versions": _versions(),
    }


def recipe_key(recipe_json: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(recipe_json, sort_keys=True).encode()).hexdigest()[:20]


def _copy_twin(source: Path, target: Path) -> None:
    """The twin's models (final weights, config, metrics; no checkpoints) and evaluation files."""
    for name in MODELS:
        shutil.copytree(source / "models" / name, target / "models" / name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("checkpoint-*", "*.lock", ".*.tmp*"))
    (target / "eval").mkdir(parents=True, exist_ok=True)
    for name in EVALS:
        for path in (source / "eval").glob(f"{name}.*"):
            if not path.name.endswith(".lock"):
                shutil.copy2(path, target / "eval" / path.name)


def entry(key: str) -> Path:
    return cache_root() / "blind" / key


def restore(key: str, run_dir: Path) -> dict[str, Any] | None:
    """Copy a cached twin into `run_dir`; its `blind.json` (when and how long it was built), or None when the
    cache has no complete entry for `key`."""
    folder = entry(key)
    if not (folder / ENTRY_INFO).is_file():
        return None
    _copy_twin(folder, run_dir)
    return json.loads((folder / ENTRY_INFO).read_text(encoding="utf-8"))


def store(key: str, run_dir: Path, recipe_json: dict[str, Any], seconds: float) -> Path:
    """Keep the twin trained in `run_dir` under `key` (written aside, then renamed into place)."""
    folder = entry(key)
    if (folder / ENTRY_INFO).is_file():
        return folder
    staging = folder.with_name(f".{key}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    _copy_twin(run_dir, staging)
    info = {"key": key, "built": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(seconds, 1),
            "built_in": str(run_dir), "recipe": recipe_json}
    atomic_write_text(staging / ENTRY_INFO, json.dumps(info, indent=1))
    put_in_place(staging, folder, ENTRY_INFO)
    return folder


def put_in_place(staging: Path, folder: Path, marker: str) -> None:
    """Rename a finished `staging` folder to `folder`, which counts as complete once `marker` is in it. A
    leftover without the marker is replaced; when another process put a complete one there first, it is kept."""
    if folder.exists() and not (folder / marker).is_file():
        shutil.rmtree(folder)
    try:
        staging.rename(folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (folder / marker).is_file():
            raise


__all__ = ["cache_root", "code_digest", "entry", "files_digest", "put_in_place", "recipe", "recipe_key", "restore",
           "store"]
