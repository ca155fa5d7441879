"""`load_model` and `generate` on a Qwen3-VL checkpoint (the project's tiny random one, since no
real weights can be downloaded): the same Auto-class path must serve the paper's appendix models,
whose vision patch is 16 px (32-px resize factor) instead of Qwen2.5-VL's 14."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from o3video.models import build_tiny_model, generate, load_model
from o3video.models.corpus import default_corpus


@pytest.fixture(scope="module")
def qwen3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's tiny Qwen3-VL (`build_tiny_model(arch="qwen3_vl")`), saved with `save_pretrained`."""
    return build_tiny_model(tmp_path_factory.mktemp("qwen3"), default_corpus(n_texts=100), arch="qwen3_vl")


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


def test_tiny_qwen3_vl_is_deterministic_and_rejects_unknown_arch(qwen3_dir: Path, tmp_path: Path) -> None:
    again = build_tiny_model(tmp_path / "again", default_corpus(n_texts=100), arch="qwen3_vl")
    assert (again / "model.safetensors").read_bytes() == (qwen3_dir / "model.safetensors").read_bytes()
    model, processor = load_model(again)
    vision = model.config.vision_config
    assert (vision.patch_size, vision.num_position_embeddings) == (16, 256)
    assert processor.image_processor.patch_size * processor.image_processor.merge_size == 32
    with pytest.raises(ValueError, match="architecture"):
        build_tiny_model(tmp_path / "bad", default_corpus(n_texts=10), arch="llava")
