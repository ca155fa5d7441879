"""Load a vision-language checkpoint (Qwen2.5-VL, Open-o3 Video, Qwen3-VL, the tiny model).

One code path for all of them: transformers' Auto classes by hub id or local directory. The
processor's image pixel budget is set here because the paper's protocol fixes it (each frame at
most 128·28·28 pixels, docs/design.md §1) and boxes are expressed in the resized frame's pixels.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    PreTrainedModel,
    ProcessorMixin,
)
from transformers.image_utils import SizeDict

from o3video.errors import InputError
from o3video.geometry import (
    AUTO_CONVENTION,
    CONVENTION_CHOICES,
    FAMILY_BOX_CONVENTIONS,
    MAX_PIXELS,
    BoxConvention,
)

log = logging.getLogger(__name__)

# `owner/name` as the Hugging Face Hub spells repository ids.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")



def load_model(
    name_or_path: str | Path,
    *,
    dtype: str | torch.dtype = "auto",
    device_map: str | dict[str, Any] | None = None,
    attn_implementation: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = MAX_PIXELS,
    box_convention: str = AUTO_CONVENTION,
    quantization_config: Any = None,
) -> tuple[PreTrainedModel, ProcessorMixin]:
    """Load model and processor from a local directory or a hub id, in eval mode. A LoRA adapter folder (its
    `adapter_config.json`, from a `lora:` training run) loads its base model with the adapter merged in.

    `dtype`: "auto" (the checkpoint's), a torch dtype or its name ("bfloat16", "float16", ...).
    `device_map` and `attn_implementation` ("sdpa", "flash_attention_2", "eager") go to
    `from_pretrained` as they are. `min_pixels`/`max_pixels` bound each image's resized area
    (None keeps the processor's own bound). `box_convention` overrides how the model's boxes are read
    (`auto`: `box_convention_of` decides; see `set_box_convention`). `quantization_config` (a transformers
    `BitsAndBytesConfig`: QLoRA training) goes to `from_pretrained` as it is.
    """
    adapter = lora_adapter(name_or_path)
    if adapter:  # the base (itself possibly an adapter folder: GSPO's adapter on SFT's), then the adapter merged
        base, _ = load_model(adapter["base_model_name_or_path"], dtype=dtype, device_map=device_map,
                             attn_implementation=attn_implementation, max_pixels=None,
                             quantization_config=quantization_config)
        model = merged_adapter(base, name_or_path)
        processor = AutoProcessor.from_pretrained(str(name_or_path))
        return finish_loading(model, processor, min_pixels, max_pixels, box_convention)
    source = resolve_checkpoint(name_or_path)
    model_kwargs: dict[str, Any] = {"dtype": _torch_dtype(dtype)}
    if device_map is not None:
        model_kwargs["device_map"] = device_map
    if attn_implementation is not None:
        model_kwargs["attn_implementation"] = available_attention(attn_implementation)
    if quantization_config is not None:
        model_kwargs["quantization_config"] = quantization_config
    try:
        model = AutoModelForImageTextToText.from_pretrained(source, **model_kwargs)
        processor = AutoProcessor.from_pretrained(source)
    except OSError as error:
        if Path(source).is_dir():
            raise
        raise FileNotFoundError(
            f"cannot load model {source!r}: it is not a local model directory and the Hugging Face Hub "
            f"could not provide it (downloading from the hub needs network access; a model already in "
            f"the local hub cache loads offline). Underlying error: {error}"
        ) from error
    return finish_loading(model, processor, min_pixels, max_pixels, box_convention)


@contextlib.contextmanager
def transformers_bars_off() -> Iterator[None]:
    """transformers' own progress bars (loading weights, writing shards, on stderr) off inside, as they were
    after: a command whose input fails right after the load, or that is interrupted, then says so in its one
    line only; the commands show their own progress."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def load_processor(name_or_path: str | Path, *, min_pixels: int | None = None,
                   max_pixels: int | None = MAX_PIXELS) -> ProcessorMixin:
    """The processor `load_model(name_or_path, ...)` returns with the same pixel bounds, without the weights."""
    source = str(name_or_path) if lora_adapter(name_or_path) else resolve_checkpoint(name_or_path)
    processor = AutoProcessor.from_pretrained(source)
    set_pixel_bounds(processor, min_pixels=min_pixels, max_pixels=max_pixels)
    return processor


def finish_loading(model: PreTrainedModel, processor: ProcessorMixin, min_pixels: int | None, max_pixels: int | None,
                   box_convention: str) -> tuple[PreTrainedModel, ProcessorMixin]:
    set_pixel_bounds(processor, min_pixels=min_pixels, max_pixels=max_pixels)
    set_box_convention(model, box_convention)
    model.eval()
    return model, processor


ADAPTER_CONFIG = "adapter_config.json"  # peft's CONFIG_NAME


def lora_adapter(name_or_path: str | Path) -> dict[str, Any] | None:
    """The `adapter_config.json` of a LoRA adapter folder (what a `lora:` training run saves), else None."""
    import json

    path = Path(name_or_path).expanduser() / ADAPTER_CONFIG
    if not path.is_file():
        return None
    try:
        adapter = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(adapter, dict) or not adapter.get("base_model_name_or_path"):
        raise InputError(f"{path}: base_model_name_or_path: missing (the base model the adapter was trained on)")
    return adapter


def merged_adapter(model: PreTrainedModel, adapter_dir: str | Path) -> PreTrainedModel:
    """`model` with the LoRA adapter in `adapter_dir` loaded by peft and merged into its weights: a plain model
    again, which answers as the base model with the adapter does. It is named after `adapter_dir`, so an adapter
    trained on top of it (SFT's adapter, then GSPO's) records that folder as its base."""
    from peft import PeftModel

    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.name_or_path = merged.config._name_or_path = str(adapter_dir)
    return merged


def available_attention(name: str) -> str:
    """`name`, or `sdpa` with one warning when it is `flash_attention_2` and flash-attn is not installed (it
    needs CUDA: the [gpu] extra)."""
    import importlib.util

    if name == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        log.warning("attn_implementation flash_attention_2: flash-attn is not installed (pip install "
                    "'o3video[gpu]' on a CUDA machine); using sdpa")
        return "sdpa"
    return name


def resolve_checkpoint(name_or_path: str | Path) -> str:
    """`name_or_path` as `from_pretrained` should get it, or a clear error when it names nothing.

    An existing directory must hold a `config.json`; a string shaped like `owner/name` that is not
    a local path is taken as a hub id; anything else is a missing local path.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} has no config.json: it is not a saved model directory")
        return str(path)
    if path.exists():
        raise FileNotFoundError(f"{path} is a file; a model is loaded from a directory or a hub id")
    if isinstance(name_or_path, str) and _HUB_ID.match(name_or_path):
        return name_or_path
    raise FileNotFoundError(
        f"model not found: {name_or_path} does not exist (pass a directory written by save_pretrained, "
        f"or a hub id such as 'Qwen/Qwen2.5-VL-7B-Instruct', which needs network access to download)"
    )


def set_pixel_bounds(processor: ProcessorMixin, *, min_pixels: int | None, max_pixels: int | None) -> None:
    """Bound the area every image is resized to, in pixels (Qwen's `min_pixels`/`max_pixels`).

    Frames reach the model as images (each with its timestamp in the prompt), so the image
    processor's budget is the per-frame budget; the video processor is left as loaded.
    """
    image_processor = processor.image_processor
    size = dict(image_processor.size or {})
    if "longest_edge" not in size or "shortest_edge" not in size:
        raise ValueError(
            f"{type(image_processor).__name__} has no pixel-area size (shortest_edge/longest_edge); "
            f"min_pixels/max_pixels apply to Qwen-VL image processors only"
        )
    if min_pixels is not None:
        size["shortest_edge"] = min_pixels
    if max_pixels is not None:
        size["longest_edge"] = max_pixels
    if size["shortest_edge"] > size["longest_edge"]:
        raise InputError(f"max_pixels {size['longest_edge']} is below min_pixels {size['shortest_edge']}: "
                         f"give --max-pixels >= {size['shortest_edge']}")
    image_processor.size = SizeDict(**{k: v for k, v in size.items() if v is not None})


def frame_settings(processor: ProcessorMixin) -> dict[str, int]:
    """`factor`, `min_pixels`, `max_pixels` of the processor's image resizing (28 for Qwen2.5-VL, 32 for
    Qwen3-VL), so `sample_frames(..., **frame_settings(processor))` yields frames the processor leaves
    exactly as they are — the size the model sees, which box coordinates refer to."""
    image_processor = processor.image_processor
    size = image_processor.size
    return {"factor": int(image_processor.patch_size * image_processor.merge_size),
            "min_pixels": int(size["shortest_edge"]), "max_pixels": int(size["longest_edge"])}


def box_convention_of(model: Any) -> BoxConvention:
    """How `model` (or its config) writes boxes: its config's `box_convention` when one was set (a user
    override, or a checkpoint trained with one: the field is saved with the config), else by `model_type`
    (Qwen2/2.5-VL: pixels of the input frame; Qwen3-VL: 0–1000). An unknown family is read as pixels,
    with a warning naming the override."""
    config = getattr(model, "config", model)
    explicit = getattr(config, "box_convention", None)
    if explicit:
        try:
            return BoxConvention(explicit)
        except ValueError:
            raise InputError(f"model config: box_convention {explicit!r} is not one of "
                             f"{', '.join(c.value for c in BoxConvention)}") from None
    model_type = str(getattr(config, "model_type", ""))
    if model_type not in FAMILY_BOX_CONVENTIONS:
        _warn_unknown_family(model_type)
    return FAMILY_BOX_CONVENTIONS.get(model_type, BoxConvention.PIXELS)


@functools.cache
def _warn_unknown_family(model_type: str) -> None:
    """Once per model type: its boxes are read as pixels, which may be wrong."""
    log.warning("model type %r: box convention unknown, reading boxes as input-frame pixels "
                "(--box-convention / box_convention overrides)", model_type)


def set_box_convention(model: Any, choice: str = AUTO_CONVENTION) -> BoxConvention:
    """Fix `model`'s box convention to `choice` (`auto`, `pixels`, `relative_1000`) and return it. A choice
    other than `auto` is written on the model's config, so every consumer reading `box_convention_of`
    sees it and a checkpoint saved from this model keeps it; `auto` leaves the model as it is."""
    if choice not in CONVENTION_CHOICES:
        raise InputError(f"box convention {choice!r}: expected one of {', '.join(CONVENTION_CHOICES)}")
    if choice != AUTO_CONVENTION:
        model.config.box_convention = BoxConvention(choice).value
    return box_convention_of(model)


def _torch_dtype(dtype: str | torch.dtype) -> str | torch.dtype:
    if isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    resolved = getattr(torch, {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}.get(dtype, dtype), None)
    if not isinstance(resolved, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use 'auto', 'bfloat16', 'float16' or 'float32'")
    return resolved
