"""Checkpoints that resume what was trained, finished runs that stay finished.

Three things HF Trainer does not do for these models, done here:

* **Weights come back.** transformers 5 saves Qwen-VL checkpoints under the original (legacy) tensor
  names (`model.layers.0…`) while the live model's are `model.language_model.layers.0…`; the Trainer's
  resume loads the file with `load_state_dict(strict=False)` and so restores only `lm_head`, silently
  (the same missing-keys report as QwenLM/Qwen3-VL issue #1763). `RestoresCheckpointWeights` renames the
  checkpoint's keys with the model's own conversion mapping (the one `from_pretrained` applies) and
  loads them strictly: every tensor comes back, or the resume fails naming the ones that did not.
* **Only complete checkpoints count.** A kill while `checkpoint-N` is being written leaves a folder
  without `trainer_state.json` (the Trainer writes it last); `last_checkpoint` skips and removes it.
* **A finished run is left alone.** `finish` writes the model, then `trainer_state.json` in `output_dir`;
  `finished_step` reads it, and rerunning a finished command changes nothing unless `overwrite` is set.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from o3video.train.train_config import TrainConfig

log = logging.getLogger(__name__)

STATE_FILE = "trainer_state.json"  # transformers' TRAINER_STATE_NAME
WEIGHTS_FILE = "model.safetensors"  # transformers' SAFE_WEIGHTS_NAME


def checkpoint_step(path: Path) -> int | None:
    name = path.name
    if not name.startswith("checkpoint-") or not name[len("checkpoint-"):].isdigit():
        return None
    return int(name[len("checkpoint-"):])


def complete(checkpoint: Path) -> bool:
    """The Trainer writes `trainer_state.json` after the weights, optimizer and RNG states."""
    return (checkpoint / STATE_FILE).is_file()


def checkpoints(out: Path) -> list[Path]:
    """`checkpoint-N` folders in `out`, oldest first."""
    if not out.is_dir():
        return []
    found = [p for p in out.iterdir() if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=checkpoint_step)


def last_checkpoint(config: TrainConfig) -> str | None:
    """The newest complete `checkpoint-N` of `config.output_dir` when resuming is on; incomplete ones
    (cut by a kill while saving) are removed."""
    if not config.resume or config.overwrite:
        return None
    newest = None
    for checkpoint in checkpoints(Path(config.output_dir)):
        if complete(checkpoint):
            newest = checkpoint
        else:
            log.warning("%s is incomplete (cut while saving); removing it", checkpoint)
            shutil.rmtree(checkpoint)
    return str(newest) if newest is not None else None


def interrupted_note(out: Path) -> str:
    """What an interrupted run keeps in `out` and how to go on: its newest complete checkpoint, or none yet."""
    kept = [checkpoint for checkpoint in checkpoints(out) if complete(checkpoint)]
    if not kept:
        return f"no checkpoint in {out} yet; the same command starts the run again"
    return f"{kept[-1]} kept; the same command resumes from there"


def finished_step(out: str | Path) -> int | None:
    """The final step of a finished run in `out` (written by `finish`), else None."""
    import json

    state = Path(out) / STATE_FILE
    if not state.is_file():
        return None
    try:
        return int(json.loads(state.read_text(encoding="utf-8")).get("global_step", 0))
    except (ValueError, AttributeError):
        return None


def clear_run(out: Path, metrics_file: str) -> None:
    """Start `out` over: its checkpoints, metrics and finished model go (only when asked to)."""
    for checkpoint in checkpoints(out):
        shutil.rmtree(checkpoint)
    for name in (STATE_FILE, metrics_file):
        (out / name).unlink(missing_ok=True)
    for weights in out.glob("model*.safetensors*"):
        weights.unlink()


def checkpoint_state_dict(model: Any, state_dict: dict[str, Any]) -> dict[str, Any]:
    """`state_dict` (as saved) with its keys renamed to the live model's, by the model's conversion mapping."""
    from transformers.conversion_mapping import get_model_conversion_mapping
    from transformers.core_model_loading import (
        WeightConverter,
        WeightRenaming,
        rename_source_key,
    )

    transforms = get_model_conversion_mapping(model)
    renamings = [t for t in transforms if isinstance(t, WeightRenaming)]
    converters = [t for t in transforms if isinstance(t, WeightConverter)]
    live = model.state_dict()
    renamed = {}
    for key, tensor in state_dict.items():
        target, converter = rename_source_key(key, renamings, converters, model.base_model_prefix, live)
        if converter is not None:
            raise ValueError(f"checkpoint tensor {key} needs a conversion ({converter}), not only a new name")
        renamed[target] = tensor
    return renamed


def load_checkpoint_weights(model: Any, checkpoint: str | Path) -> None:
    """Load `checkpoint/model.safetensors` into `model`, every tensor, or raise naming the missing ones."""
    from safetensors.torch import load_file

    path = Path(checkpoint) / WEIGHTS_FILE
    state_dict = checkpoint_state_dict(model, load_file(str(path), device="cpu"))
    result = model.load_state_dict(state_dict, strict=False)
    tied = set(getattr(model, "all_tied_weights_keys", None) or {})
    missing = [k for k in result.missing_keys if k not in tied]
    if missing or result.unexpected_keys:
        raise ValueError(f"{path}: checkpoint does not match the model (missing {missing[:5]}, "
                         f"unexpected {result.unexpected_keys[:5]})")
    log.info("restored %d tensors from %s", len(state_dict), path)


class RestoresCheckpointWeights:
    """Mixin for a transformers Trainer (put it first): resume restores every trained tensor.

    Covers the single-file safetensors checkpoints of plain and DDP runs; DeepSpeed restores through its
    own engine, and FSDP, sharded and adapter checkpoints go to the Trainer's own loader."""

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        plain = not (getattr(self, "is_fsdp_enabled", False) or getattr(self, "is_deepspeed_enabled", False))
        single_file = (Path(resume_from_checkpoint) / WEIGHTS_FILE).is_file()
        if plain and single_file and not hasattr(self.model, "peft_config"):
            load_checkpoint_weights(model if model is not None else self.model, resume_from_checkpoint)
            return
        super()._load_from_checkpoint(resume_from_checkpoint, model)  # type: ignore[misc]


__all__ = [
    "RestoresCheckpointWeights",
    "checkpoint_state_dict",
    "checkpoints",
    "clear_run",
    "finished_step",
    "interrupted_note",
    "last_checkpoint",
    "load_checkpoint_weights",
]
