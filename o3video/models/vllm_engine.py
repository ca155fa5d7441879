"""Optional vLLM engine for `generate`. vLLM is not a dependency of o3video: install it yourself.

Prompts are rendered with the Hugging Face processor's chat template (the same text the
transformers engine tokenises) and handed to vLLM with their images as `multi_modal_data`, so both
engines see identical prompts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import ProcessorMixin

from o3video.geometry import MAX_PIXELS
from o3video.models.load import resolve_checkpoint

# 64 uniform frames plus inserted key frames (docs/design.md §1) must fit in one prompt.
MAX_IMAGES_PER_PROMPT = 128


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as error:
        raise ImportError(
            "engine='vllm' needs the vllm package, which o3video does not install "
            "(pip install vllm on a CUDA machine); use engine='transformers' otherwise"
        ) from error
    return vllm


def load_vllm(
    name_or_path: str | Path,
    *,
    dtype: str = "auto",
    min_pixels: int | None = None,
    max_pixels: int | None = MAX_PIXELS,
    **engine_kwargs: Any,
) -> Any:
    """A `vllm.LLM` for the checkpoint with the same per-image pixel bounds as `load_model`."""
    vllm = _import_vllm()
    pixel_bounds = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v is not None}
    return vllm.LLM(
        model=resolve_checkpoint(name_or_path),
        dtype=dtype,
        mm_processor_kwargs=pixel_bounds,
        limit_mm_per_prompt={"image": MAX_IMAGES_PER_PROMPT},
        **engine_kwargs,
    )


def generate_vllm(
    llm: Any,
    processor: ProcessorMixin,
    messages_batch: list[list[dict[str, Any]]],
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    num_return_sequences: int,
    repetition_penalty: float,
) -> list[list[str]]:
    """Same contract as `o3video.models.generate` with a `vllm.LLM` as the model."""
    vllm = _import_vllm()
    params = vllm.SamplingParams(
        n=num_return_sequences,
        temperature=temperature,
        top_p=top_p,
        top_k=-1,
        repetition_penalty=repetition_penalty,
        max_tokens=max_new_tokens,
        skip_special_tokens=True,
    )
    requests = []
    for messages in messages_batch:
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        images = [item["image"] for m in messages if isinstance(m["content"], list) for item in m["content"]
                  if item.get("type") == "image"]
        request: dict[str, Any] = {"prompt": prompt}
        if images:
            request["multi_modal_data"] = {"image": images}
        requests.append(request)
    outputs = llm.generate(requests, params)
    return [[completion.text for completion in output.outputs] for output in outputs]
