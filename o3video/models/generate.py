"""Batched generation from chat messages: transformers by default, vLLM when asked and installed.

Messages are Hugging Face chat messages; user `content` is a list of `{"type": "text", "text": ...}`
and `{"type": "image", "image": PIL.Image}` items (what `o3video.video.prompt` builds). The
sampling settings are stated in full here rather than inherited from the checkpoint's
`generation_config.json` — Qwen2.5-VL ships `top_k=1` and `repetition_penalty=1.05` there, which
would silently turn test-time-scaling samples at temperature 1.0 into N copies of one answer.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import GenerationConfig, PreTrainedModel, ProcessorMixin

Messages = list[dict[str, Any]]
ENGINES = ("transformers", "vllm")


def generate(
    model: PreTrainedModel | Any,
    processor: ProcessorMixin,
    messages_batch: list[Messages],
    *,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    num_return_sequences: int = 1,
    repetition_penalty: float = 1.0,
    engine: str = "transformers",
    streamer: Any = None,
) -> list[list[str]]:
    """Complete every conversation in `messages_batch`; returns, per conversation, its
    `num_return_sequences` completions decoded without special tokens (grounding tags kept). `streamer` (a
    transformers streamer, e.g. `o3video.models.token_counter.TokenCounter`) is handed each new token.

    Greedy when `temperature == 0` (then only one sequence per prompt makes sense). With
    `engine="vllm"`, `model` is a `vllm.LLM` (see `o3video.models.vllm_engine.load_vllm`) and
    `processor` the checkpoint's Hugging Face processor, which renders the prompts.
    """
    _check_sampling(temperature, top_p, num_return_sequences, max_new_tokens)
    if engine not in ENGINES:
        raise ValueError(f"unknown generation engine {engine!r}; choose one of {ENGINES}")
    if not messages_batch:
        return []
    if engine == "vllm":
        from o3video.models.vllm_engine import generate_vllm

        return generate_vllm(
            model,
            processor,
            messages_batch,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            num_return_sequences=num_return_sequences,
            repetition_penalty=repetition_penalty,
        )
    return _generate_transformers(
        model,
        processor,
        messages_batch,
        sampling_config(
            model.generation_config,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            num_return_sequences=num_return_sequences,
            repetition_penalty=repetition_penalty,
        ),
        streamer,
    )


def sampling_config(
    base: GenerationConfig,
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    num_return_sequences: int,
    repetition_penalty: float,
) -> GenerationConfig:
    """A complete generation config: token ids from the checkpoint's `base`, sampling from us."""
    sample = temperature > 0
    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=sample,
        temperature=temperature if sample else 1.0,
        top_p=top_p if sample else 1.0,
        top_k=0 if sample else None,  # no top-k cut: `top_p` alone shapes sampling
        repetition_penalty=repetition_penalty,
        num_return_sequences=num_return_sequences,
        bos_token_id=base.bos_token_id,
        eos_token_id=base.eos_token_id,
        pad_token_id=base.pad_token_id,
    )


def _generate_transformers(
    model: PreTrainedModel, processor: ProcessorMixin, messages_batch: list[Messages], config: GenerationConfig,
    streamer: Any = None,
) -> list[list[str]]:
    inputs = processor.apply_chat_template(
        messages_batch,
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
        processor_kwargs={"padding": True, "padding_side": "left"},
    )
    inputs = inputs.to(model.device)
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    if config.pad_token_id is None:
        config.pad_token_id = processor.tokenizer.pad_token_id
    with torch.inference_mode():
        output = model.generate(**inputs, generation_config=config, streamer=streamer)
    completions = output[:, inputs["input_ids"].shape[1] :]
    texts = processor.batch_decode(completions, skip_special_tokens=True)
    n = config.num_return_sequences
    return [texts[i : i + n] for i in range(0, len(texts), n)]


def _check_sampling(temperature: float, top_p: float, num_return_sequences: int, max_new_tokens: int) -> None:
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if num_return_sequences < 1 or max_new_tokens < 1:
        raise ValueError("num_return_sequences and max_new_tokens must be >= 1")
    if temperature == 0 and num_return_sequences > 1:
        raise ValueError("greedy decoding (temperature=0) gives one sequence; sample with temperature > 0")
