"""Model layer: load real checkpoints, build the tiny model, generate.

`load_model` loads Qwen2.5-VL / Open-o3 Video / Qwen3-VL (or the tiny model) by hub id or path;
`build_tiny_model` writes a tiny random Qwen2.5-VL (or Qwen3-VL) with a locally trained tokenizer that loads the
same way; `box_convention_of` says how a loaded model writes boxes (docs/design.md §4b); `generate` runs batched chat
generation (transformers, or vLLM when installed).
"""

from o3video.models.generate import generate
from o3video.models.load import (
    box_convention_of,
    frame_settings,
    load_model,
    resolve_checkpoint,
    set_box_convention,
    set_pixel_bounds,
)
from o3video.models.tiny import SIZES, build_tiny_model

__all__ = [
    "SIZES",
    "box_convention_of",
    "build_tiny_model",
    "frame_settings",
    "generate",
    "load_model",
    "resolve_checkpoint",
    "set_box_convention",
    "set_pixel_bounds",
]
