"""`load_model` and `generate` on a Qwen3-VL checkpoint (a random toy one saved here, since no
real weights can be downloaded): the same Auto-class path must serve the paper's appendix models,
whose vision patch is 16 px (32-px resize factor) instead of Qwen2.5-VL's 14."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import (
    AutoTokenizer,
    Qwen2VLImageProcessor,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
    Qwen3VLVideoProcessor,
)

from o3video.models import build_tiny_model, generate, load_model
from o3video.models.corpus import default_corpus


@pytest.fixture(scope="module")
def qwen3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy Qwen3-VL saved with `save_pretrained`, sharing the tiny model's tokenizer."""
    tiny = build_tiny_model(tmp_path_factory.mktemp("tiny"), default_corpus(n_texts=100))
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    token_id = tokenizer.convert_tokens_to_ids
    config = Qwen3VLConfig(
        text_config={
            "vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
            "rope_parameters": {"rope_type": "default", "rope_theta": 5_000_000.0, "mrope_section": [2, 3, 3],
                                "mrope_interleaved": True},
        },
        vision_config={
            "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
            "patch_size": 16, "spatial_merge_size": 2, "num_position_embeddings": 64, "deepstack_visual_indexes": [1],
        },
        image_token_id=token_id("<|image_pad|>"),
        video_token_id=token_id("<|video_pad|>"),
        vision_start_token_id=token_id("<|vision_start|>"),
        vision_end_token_id=token_id("<|vision_end|>"),
    )
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("qwen3")
    Qwen3VLForConditionalGeneration(config).save_pretrained(out)
    Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=16, merge_size=2),
        video_processor=Qwen3VLVideoProcessor(patch_size=16, merge_size=2),
        tokenizer=tokenizer,
        chat_template=tokenizer.chat_template,
    ).save_pretrained(out)
    return out


def test_qwen3_vl_loads_with_pixel_bounds_and_generates(qwen3_dir: Path) -> None:
    model, processor = load_model(qwen3_dir, dtype="float32", attn_implementation="sdpa", max_pixels=8 * 32 * 32)
    assert type(model).__name__ == "Qwen3VLForConditionalGeneration"
    assert model.dtype == torch.float32
    frame = Image.fromarray(np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8))
    messages = [{"role": "user", "content": [{"type": "text", "text": "Frame 1 at 0.0s: "},
                                             {"type": "image", "image": frame},
                                             {"type": "text", "text": "What is shown?"}]}]
    inputs = processor.apply_chat_template(messages, tokenize=True, return_dict=True, return_tensors="pt")
    (_, h, w), = inputs["image_grid_thw"].tolist()
    assert h * 16 * w * 16 <= 8 * 32 * 32  # the 32-px factor of a 16-px patch, within max_pixels
    outputs = generate(model, processor, [messages, messages], max_new_tokens=6)
    assert len(outputs) == 2 and outputs[0] == outputs[1] and isinstance(outputs[0][0], str)
