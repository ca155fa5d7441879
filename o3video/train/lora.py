"""LoRA: the config's `lora` mapping as a `peft.LoraConfig`, which TRL's SFTTrainer and GRPOTrainer take as
`peft_config` and wrap the policy with (only the adapter trains; GRPO's reference model is the same weights
with the adapter switched off, so `beta > 0` costs no second copy of the model).

    lora: {r: 64, lora_alpha: 128, lora_dropout: 0.05, target_modules: all-linear}

The fields are peft's `LoraConfig` fields, checked when the config is loaded (`train_config.lora_fields`).
`task_type` defaults to CAUSAL_LM. The trainer saves only the adapter (`adapter_config.json`,
`adapter_model.safetensors`) in each checkpoint and in `output_dir`; `o3video.models.load_model` loads such
a folder onto its base model.

`load_in_4bit: true` (with `lora`) is QLoRA: the base model loads with the bitsandbytes config TRL's
`get_quantization_config` makes (NF4, nested quantization, the run's dtype for compute), and TRL trains the
adapter on it. bitsandbytes is in the `[gpu]` extra.
"""

from __future__ import annotations

from typing import Any


def lora_config(settings: dict[str, Any] | None):
    """The `peft.LoraConfig` for the config's `lora` mapping, or None when there is none (full fine-tuning)."""
    if settings is None:
        return None
    from peft import LoraConfig

    return LoraConfig(**{"task_type": "CAUSAL_LM", **settings})


def quantization_config(load_in_4bit: bool, dtype: str):
    """The transformers `BitsAndBytesConfig` for a 4-bit (NF4, nested) base model computing in `dtype`, built by
    TRL's `get_quantization_config`; None without `load_in_4bit`."""
    if not load_in_4bit:
        return None
    from trl import ModelConfig, get_quantization_config

    compute = "bfloat16" if dtype == "auto" else dtype
    return get_quantization_config(ModelConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", use_bnb_nested_quant=True,
                                               dtype=compute))


__all__ = ["lora_config", "quantization_config"]
