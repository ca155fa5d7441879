"""Build a tiny Qwen2.5-VL or Qwen3-VL: the real architecture and processor at toy scale, saved like a checkpoint.

Everything is transformers' own classes (`Qwen2_5_VLForConditionalGeneration` / `Qwen3VLForConditionalGeneration`,
their processors, `Qwen2VLImageProcessor`, `Qwen2Tokenizer`) built from a small config with a
locally trained tokenizer and random weights, then written with `save_pretrained`. Every command
then loads it by path through `load_model`, exactly like `Qwen/Qwen2.5-VL-7B-Instruct`, so the
tiny model exercises the same code paths (mRoPE, window attention, patch merging, 28-pixel factor).

`arch="qwen3_vl"` builds the Qwen3-VL architecture with the same tower sizes: 16-pixel patches (a 32-pixel
resize factor), a learned absolute position embedding in the vision tower, interleaved mRoPE and deepstack
features. At toy scale it is the one that learns to localise on a CPU (bench/perception.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    GenerationConfig,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2Tokenizer,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
    Qwen3VLVideoProcessor,
)

from o3video.geometry import MAX_PIXELS
from o3video.models.chat_template import QWEN_VL_CHAT_TEMPLATE
from o3video.models.corpus import default_corpus
from o3video.models.tokenizer import (
    ENDOFTEXT,
    IM_END,
    IMAGE_PAD,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
    train_qwen_tokenizer,
)

PATCH_SIZE = 14  # Qwen2.5-VL's; with SPATIAL_MERGE this gives the 28-pixel resize factor
QWEN3_PATCH_SIZE = 16  # Qwen3-VL's: a 32-pixel resize factor
SPATIAL_MERGE = 2
MIN_PIXELS = 56 * 56  # Qwen2.5-VL's processor default
QWEN3_MIN_PIXELS = 32 * 32  # one merged token
QWEN3_POSITION_EMBEDDINGS = 256  # a 16 x 16 grid of learned vision positions, interpolated to each image's grid
ARCHS = ("qwen2_5_vl", "qwen3_vl")


@dataclass(frozen=True)
class TinySize:
    """Tower dimensions for one tiny-model size."""

    vocab_size: int
    text_hidden: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    text_intermediate: int
    vision_hidden: int
    vision_depth: int
    vision_heads: int
    vision_intermediate: int


SIZES: dict[str, TinySize] = {
    "small": TinySize(
        vocab_size=2048, text_hidden=128, text_layers=3, text_heads=4, text_kv_heads=2,
        text_intermediate=256, vision_hidden=64, vision_depth=2, vision_heads=2, vision_intermediate=128,
    ),
    "base": TinySize(
        vocab_size=4096, text_hidden=256, text_layers=4, text_heads=4, text_kv_heads=2,
        text_intermediate=1024, vision_hidden=128, vision_depth=4, vision_heads=4, vision_intermediate=256,
    ),
}


def build_tiny_model(
    out_dir: str | Path,
    corpus: Iterable[str] | None = None,
    *,
    size: str = "small",
    seed: int = 0,
    max_pixels: int = MAX_PIXELS,
    arch: str = "qwen2_5_vl",
) -> Path:
    """Train a tokenizer on `corpus` (the built-in `default_corpus()` when None), build a
    randomly initialised Qwen2.5-VL (`arch="qwen2_5_vl"`) or Qwen3-VL (`arch="qwen3_vl"`) of the given
    `size` ("small" ≈ 1 M, "base" ≈ 5.5 M parameters) seeded with `seed`, and save model + processor
    into `out_dir`. Returns `out_dir`.

    The same corpus, size, arch and seed always give byte-identical tokenizer files and weights.
    """
    if size not in SIZES:
        raise ValueError(f"unknown tiny model size {size!r}; choose one of {sorted(SIZES)}")
    if arch not in ARCHS:
        raise ValueError(f"unknown tiny model architecture {arch!r}; choose one of {list(ARCHS)}")
    dims = SIZES[size]
    out_dir = Path(out_dir)
    texts = list(default_corpus() if corpus is None else corpus)
    if not texts:
        raise ValueError("the tokenizer corpus is empty")

    tokenizer = train_qwen_tokenizer(texts, vocab_size=dims.vocab_size)
    tokenizer.chat_template = QWEN_VL_CHAT_TEMPLATE
    qwen3 = arch == "qwen3_vl"
    config = tiny_qwen3_config(tokenizer, dims) if qwen3 else tiny_config(tokenizer, dims)
    model_class = Qwen3VLForConditionalGeneration if qwen3 else Qwen2_5_VLForConditionalGeneration
    with torch.random.fork_rng(devices=[]):  # seed the init without touching the caller's RNG
        torch.manual_seed(seed)
        model = model_class(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=[tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)],
        pad_token_id=tokenizer.pad_token_id,
    )
    if qwen3:
        processor = Qwen3VLProcessor(
            image_processor=Qwen2VLImageProcessor(
                patch_size=QWEN3_PATCH_SIZE, merge_size=SPATIAL_MERGE, min_pixels=QWEN3_MIN_PIXELS,
                max_pixels=max_pixels,
            ),
            video_processor=Qwen3VLVideoProcessor(patch_size=QWEN3_PATCH_SIZE, merge_size=SPATIAL_MERGE),
            tokenizer=tokenizer,
            chat_template=QWEN_VL_CHAT_TEMPLATE,
        )
    else:
        processor = Qwen2_5_VLProcessor(
            image_processor=Qwen2VLImageProcessor(
                patch_size=PATCH_SIZE, merge_size=SPATIAL_MERGE, min_pixels=MIN_PIXELS, max_pixels=max_pixels
            ),
            video_processor=Qwen2VLVideoProcessor(patch_size=PATCH_SIZE, merge_size=SPATIAL_MERGE),
            tokenizer=tokenizer,
            chat_template=QWEN_VL_CHAT_TEMPLATE,
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir


def _mrope_section(head_dim: int) -> list[int]:
    """mRoPE splits the rotary half-dimension over (time, height, width) like Qwen's 16/24/24 of 64."""
    rotary_half = head_dim // 2
    temporal = rotary_half // 4
    height = (rotary_half - temporal) // 2
    return [temporal, height, rotary_half - temporal - height]


def _text_dims(tokenizer: Qwen2Tokenizer, dims: TinySize) -> dict[str, Any]:
    """The text tower's sizes and special tokens, the same for both architectures."""
    token_id = tokenizer.convert_tokens_to_ids
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": dims.text_hidden,
        "intermediate_size": dims.text_intermediate,
        "num_hidden_layers": dims.text_layers,
        "num_attention_heads": dims.text_heads,
        "num_key_value_heads": dims.text_kv_heads,
        "max_position_embeddings": 32768,
        "bos_token_id": token_id(ENDOFTEXT),
        "eos_token_id": token_id(IM_END),
        "pad_token_id": tokenizer.pad_token_id,
    }


def _vision_dims(dims: TinySize, patch_size: int) -> dict[str, Any]:
    """The vision tower's sizes, the same for both architectures but for the patch."""
    return {
        "depth": dims.vision_depth,
        "hidden_size": dims.vision_hidden,
        "intermediate_size": dims.vision_intermediate,
        "num_heads": dims.vision_heads,
        "out_hidden_size": dims.text_hidden,
        "patch_size": patch_size,
        "spatial_merge_size": SPATIAL_MERGE,
        "temporal_patch_size": 2,
    }


def _vision_token_ids(tokenizer: Qwen2Tokenizer) -> dict[str, int]:
    token_id = tokenizer.convert_tokens_to_ids
    return {"image_token_id": token_id(IMAGE_PAD), "video_token_id": token_id(VIDEO_PAD),
            "vision_start_token_id": token_id(VISION_START), "vision_end_token_id": token_id(VISION_END)}


def tiny_config(tokenizer: Qwen2Tokenizer, dims: TinySize) -> Qwen2_5_VLConfig:
    """A Qwen2.5-VL config with `dims`' towers and token ids taken from `tokenizer`."""
    head_dim = dims.text_hidden // dims.text_heads
    rope = {"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": _mrope_section(head_dim)}
    return Qwen2_5_VLConfig(
        text_config={**_text_dims(tokenizer, dims), "max_window_layers": dims.text_layers, "rope_parameters": rope},
        vision_config={
            **_vision_dims(dims, PATCH_SIZE),
            "window_size": 112,
            # Qwen2.5-VL alternates windowed and full attention; keep one full block in every two.
            "fullatt_block_indexes": list(range(1, dims.vision_depth, 2)),
        },
        **_vision_token_ids(tokenizer),
        tie_word_embeddings=False,
    )


def tiny_qwen3_config(tokenizer: Qwen2Tokenizer, dims: TinySize) -> Qwen3VLConfig:
    """A Qwen3-VL config with `dims`' towers and token ids taken from `tokenizer`: 16-pixel patches, a
    learned absolute position embedding in the vision tower, interleaved mRoPE, deepstack features taken
    from the first vision block."""
    head_dim = dims.text_hidden // dims.text_heads
    rope = {"rope_type": "default", "rope_theta": 5_000_000.0, "mrope_section": _mrope_section(head_dim),
            "mrope_interleaved": True}
    return Qwen3VLConfig(
        text_config={**_text_dims(tokenizer, dims), "head_dim": head_dim, "tie_word_embeddings": False,
                     "rope_parameters": rope},
        vision_config={
            **_vision_dims(dims, QWEN3_PATCH_SIZE),
            "num_position_embeddings": QWEN3_POSITION_EMBEDDINGS,
            "deepstack_visual_indexes": [0],
        },
        **_vision_token_ids(tokenizer),
        tie_word_embeddings=False,
    )
