"""Build a tiny Qwen2.5-VL: the real architecture and processor at toy scale, saved like a checkpoint.

Everything is transformers' own classes (`Qwen2_5_VLForConditionalGeneration`,
`Qwen2_5_VLProcessor`, `Qwen2VLImageProcessor`, `Qwen2Tokenizer`) built from a small config with a
locally trained tokenizer and random weights, then written with `save_pretrained`. Every command
then loads it by path through `load_model`, exactly like `Qwen/Qwen2.5-VL-7B-Instruct`, so the
tiny model exercises the same code paths (mRoPE, window attention, patch merging, 28-pixel factor).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    GenerationConfig,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2Tokenizer,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
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
SPATIAL_MERGE = 2
MIN_PIXELS = 56 * 56  # Qwen2.5-VL's processor default


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
) -> Path:
    """Train a tokenizer on `corpus` (the built-in `default_corpus()` when None), build a
    randomly initialised Qwen2.5-VL of the given `size` ("small" ≈ 1 M, "base" ≈ 5.5 M parameters)
    seeded with `seed`, and save model + processor into `out_dir`. Returns `out_dir`.

    The same corpus, size and seed always give byte-identical tokenizer files and weights.
    """
    if size not in SIZES:
        raise ValueError(f"unknown tiny model size {size!r}; choose one of {sorted(SIZES)}")
    dims = SIZES[size]
    out_dir = Path(out_dir)
    texts = list(default_corpus() if corpus is None else corpus)
    if not texts:
        raise ValueError("the tokenizer corpus is empty")

    tokenizer = train_qwen_tokenizer(texts, vocab_size=dims.vocab_size)
    tokenizer.chat_template = QWEN_VL_CHAT_TEMPLATE
    config = tiny_config(tokenizer, dims)
    with torch.random.fork_rng(devices=[]):  # seed the init without touching the caller's RNG
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=[tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)],
        pad_token_id=tokenizer.pad_token_id,
    )
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


def tiny_config(tokenizer: Qwen2Tokenizer, dims: TinySize) -> Qwen2_5_VLConfig:
    """A Qwen2.5-VL config with `dims`' towers and token ids taken from `tokenizer`."""
    head_dim = dims.text_hidden // dims.text_heads
    # mRoPE splits the rotary half-dimension over (time, height, width) like Qwen's 16/24/24 of 64.
    rotary_half = head_dim // 2
    temporal = rotary_half // 4
    height = (rotary_half - temporal) // 2
    mrope_section = [temporal, height, rotary_half - temporal - height]
    token_id = tokenizer.convert_tokens_to_ids
    return Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": dims.text_hidden,
            "intermediate_size": dims.text_intermediate,
            "num_hidden_layers": dims.text_layers,
            "num_attention_heads": dims.text_heads,
            "num_key_value_heads": dims.text_kv_heads,
            "max_position_embeddings": 32768,
            "max_window_layers": dims.text_layers,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": mrope_section},
            "bos_token_id": token_id(ENDOFTEXT),
            "eos_token_id": token_id(IM_END),
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "depth": dims.vision_depth,
            "hidden_size": dims.vision_hidden,
            "intermediate_size": dims.vision_intermediate,
            "num_heads": dims.vision_heads,
            "out_hidden_size": dims.text_hidden,
            "patch_size": PATCH_SIZE,
            "spatial_merge_size": SPATIAL_MERGE,
            "temporal_patch_size": 2,
            "window_size": 112,
            # Qwen2.5-VL alternates windowed and full attention; keep one full block in every two.
            "fullatt_block_indexes": list(range(1, dims.vision_depth, 2)),
        },
        image_token_id=token_id(IMAGE_PAD),
        video_token_id=token_id(VIDEO_PAD),
        vision_start_token_id=token_id(VISION_START),
        vision_end_token_id=token_id(VISION_END),
        tie_word_embeddings=False,
    )
