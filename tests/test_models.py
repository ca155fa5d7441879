"""The model layer on the tiny model: build, load by path, tokenizer, chat template, generation."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from o3video.models import build_tiny_model, generate, load_model
from o3video.models.corpus import default_corpus, read_corpus
from o3video.models.tokenizer import GROUNDING_TAGS, IMAGE_PAD, QWEN_SPECIAL_TOKENS

GROUNDED = (
    "<think>The <obj>red car</obj><box>[120,44,210,130]</box>at<t>12.5</t>s stops at the light."
    "</think><answer>It turns left.</answer>"
)
CORPUS = default_corpus(n_texts=200)


def image(width: int, height: int, seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def frames_prompt(sizes: list[tuple[int, int]], question: str) -> list[dict]:
    """A user turn shaped like the project's prompt builder output: timestamped frames, question."""
    content: list[dict] = []
    for i, (width, height) in enumerate(sizes):
        content.append({"type": "text", "text": f"Frame {i + 1} at {2.0 * i:.1f}s: "})
        content.append({"type": "image", "image": image(width, height, seed=i)})
    content.append({"type": "text", "text": question})
    return [{"role": "user", "content": content}]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), CORPUS, seed=0)


@pytest.fixture(scope="module")
def tiny(tiny_dir: Path):
    return load_model(tiny_dir)


def test_tiny_model_loads_by_path_like_a_checkpoint(tiny_dir: Path, tiny) -> None:
    model, processor = tiny
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    assert not model.training
    n_params = sum(p.numel() for p in model.parameters())
    assert 300_000 < n_params < 2_000_000
    vision = model.config.vision_config
    assert (vision.patch_size, vision.spatial_merge_size) == (14, 2)
    assert processor.image_processor.size["longest_edge"] == 128 * 28 * 28
    config = json.loads((tiny_dir / "config.json").read_text())
    assert config["image_token_id"] == processor.tokenizer.convert_tokens_to_ids(IMAGE_PAD)


def test_tokenizer_keeps_grounding_tags_as_single_tokens(tiny) -> None:
    tokenizer = tiny[1].tokenizer
    for tag in GROUNDING_TAGS:
        assert len(tokenizer(tag, add_special_tokens=False)["input_ids"]) == 1, tag
    ids = tokenizer(GROUNDED, add_special_tokens=False)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert all(tag in tokens for tag in GROUNDING_TAGS)
    assert tokenizer.decode(ids, skip_special_tokens=True) == GROUNDED
    # Digits are split one per token, as in Qwen's tokenizer.
    assert tokenizer.tokenize("2024") == ["2", "0", "2", "4"]


def test_special_tokens_are_skipped_on_decode_and_text_never_unknown(tiny) -> None:
    tokenizer = tiny[1].tokenizer
    assert set(QWEN_SPECIAL_TOKENS) <= set(tokenizer.all_special_tokens)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    ids = tokenizer("<|im_start|>héllo 東京 ✓<|im_end|>", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "héllo 東京 ✓"


def test_chat_template_puts_one_pad_per_merged_patch(tiny) -> None:
    _, processor = tiny
    messages = frames_prompt([(320, 240), (64, 48)], "What happens?")
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n")
    assert text.endswith("What happens?<|im_end|>\n<|im_start|>assistant\n")
    assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == 2
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    # 320x240 resizes to 308x252 (multiples of 28): 22x18 patches of 14 px, merged 2x2 -> 99 tokens;
    # 64x48 resizes to 56x56 (min_pixels 56*56): 4x4 patches -> 4 tokens.
    assert inputs["image_grid_thw"].tolist() == [[1, 18, 22], [1, 4, 4]]
    pad_id = processor.tokenizer.convert_tokens_to_ids(IMAGE_PAD)
    assert int((inputs["input_ids"] == pad_id).sum()) == 99 + 4


def test_max_pixels_bounds_every_image(tiny_dir: Path) -> None:
    _, processor = load_model(tiny_dir, max_pixels=16 * 28 * 28)
    inputs = processor.apply_chat_template(
        frames_prompt([(640, 480)], "Where?"), tokenize=True, return_dict=True, return_tensors="pt"
    )
    (t, h, w), = inputs["image_grid_thw"].tolist()
    assert h * 14 * w * 14 <= 16 * 28 * 28 and h % 2 == 0 and w % 2 == 0


def test_assistant_mask_covers_only_the_assistant_turn(tiny) -> None:
    _, processor = tiny
    conversation = frames_prompt([(64, 48), (64, 48)], "What does the car do?") + [
        {"role": "assistant", "content": [{"type": "text", "text": GROUNDED}]}
    ]
    inputs = processor.apply_chat_template(
        conversation, tokenize=True, return_dict=True, return_tensors="pt", return_assistant_tokens_mask=True
    )
    ids = inputs["input_ids"][0]
    mask = torch.as_tensor(inputs["assistant_masks"][0]).bool()
    assert processor.tokenizer.decode(ids[mask]) == GROUNDED + "<|im_end|>"
    first = int(mask.nonzero()[0])
    assert mask[first:].sum() == len(ids[first:]) - 1  # contiguous, only the final "\n" left out
    assert processor.tokenizer.decode(ids[:first]).endswith("<|im_start|>assistant\n")


def test_batched_generation_on_different_multi_image_prompts(tiny) -> None:
    model, processor = tiny
    batch = [
        frames_prompt([(320, 240), (320, 240)], "What happens to the red car?"),
        frames_prompt([(64, 48), (96, 64), (64, 48)], "Where is the dog?"),
    ]
    outputs = generate(model, processor, batch, max_new_tokens=12)
    assert [len(o) for o in outputs] == [1, 1]
    assert all(isinstance(o[0], str) and o[0] for o in outputs)
    # Left padding must not change what a prompt generates: each alone gives the same text.
    alone = [generate(model, processor, [messages], max_new_tokens=12)[0] for messages in batch]
    assert alone == outputs
    sampled = generate(model, processor, batch, max_new_tokens=12, temperature=1.0, num_return_sequences=3)
    assert [len(o) for o in sampled] == [3, 3]
    assert len(set(sampled[0])) > 1


def test_load_in_bfloat16_generates(tiny_dir: Path) -> None:
    model, processor = load_model(tiny_dir, dtype="bfloat16", attn_implementation="eager")
    assert model.dtype == torch.bfloat16
    outputs = generate(model, processor, [frames_prompt([(96, 64)], "What?")], max_new_tokens=4)
    assert len(outputs) == 1 and isinstance(outputs[0][0], str)
    with pytest.raises(ValueError, match="dtype"):
        load_model(tiny_dir, dtype="float13")


def test_generation_arguments_are_checked(tiny) -> None:
    model, processor = tiny
    batch = [frames_prompt([(64, 48)], "Why?")]
    with pytest.raises(ValueError, match="greedy"):
        generate(model, processor, batch, num_return_sequences=2)
    with pytest.raises(ValueError, match="engine"):
        generate(model, processor, batch, engine="onnx")
    assert generate(model, processor, []) == []


def test_vllm_engine_without_vllm_says_so(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # as on any machine without vllm: import fails
    with pytest.raises(ImportError, match="pip install vllm"):
        generate(tiny[0], tiny[1], [frames_prompt([(64, 48)], "Why?")], engine="vllm")


def test_build_is_deterministic_for_a_seed(tiny_dir: Path, tmp_path: Path) -> None:
    again = build_tiny_model(tmp_path / "again", CORPUS, seed=0)
    other = build_tiny_model(tmp_path / "other", CORPUS, seed=1)
    assert (again / "tokenizer.json").read_bytes() == (tiny_dir / "tokenizer.json").read_bytes()
    first, second, third = (load_file(d / "model.safetensors") for d in (tiny_dir, again, other))
    assert first.keys() == second.keys() == third.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], third[k]) for k in first)


def test_missing_path_gives_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        load_model(missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_model(tmp_path / "empty")


def test_unreachable_hub_id_names_it_and_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network here anyway
    with pytest.raises(FileNotFoundError, match=r"o3video-test/not-a-model.*network"):
        load_model("o3video-test/not-a-model")


def test_read_corpus_from_jsonl_skips_paths_and_names_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "records.jsonl"
    record = {"question": "Q?", "video_path": "v.mp4", "key_frames": [{"path": "f.jpg", "time": 1.0}],
              "reasoning_process": GROUNDED}
    good.write_text(json.dumps(record) + "\n\n")
    assert list(read_corpus(good)) == ["Q?", GROUNDED]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(record) + "\n{oops\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        list(read_corpus(bad))


def test_tiny_model_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from o3video.commands import tiny_model

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS[:100]))
    parser = argparse.ArgumentParser()
    tiny_model.add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path / "m"), "--corpus", str(corpus), "--seed", "3"])
    assert tiny_model.run(args) == 0
    assert "parameters" in capsys.readouterr().out
    model, _ = load_model(tmp_path / "m")
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
