"""SFT examples: the record's prompt (shared builder, key frames inserted) + the assistant turn SFT teaches.

Each example is TRL's conversational vision format, `{"messages": [...], "images": []}`, with the
images inside the user turn's content items (so `images` is empty: TRL's
`DataCollatorForVisionLanguageModeling` counts only placeholders without a picture). That collator
renders the conversation with the model's chat template, pads the batch on the right, and with
`assistant_only_loss=True` sets every label outside the template's `{% generation %}` block to -100:
the loss is on the assistant's tokens only (the reference code also trained on the prompt, docs/design.md §3).
"""

from __future__ import annotations

from typing import Any

from o3video.train.targets import target_completion
from o3video.train.train_records import TrainingRecord, indexed_dataset


def conversation(messages: list[dict[str, Any]], completion: str) -> dict[str, Any]:
    """The SFT example of a prompt's `messages` (the prompt builder's) answered by `completion`: the one place the
    assistant turn is written."""
    assistant = {"role": "assistant", "content": [{"type": "text", "text": completion}]}
    return {"messages": [*messages, assistant], "images": []}


def sft_example(item: TrainingRecord) -> dict[str, Any]:
    """One SFT example: system + user messages from the prompt builder, then the target completion."""
    prompt = item.prompt()
    return conversation(prompt.messages, target_completion(item.record, prompt.input_size, prompt.box_convention))


def sft_dataset(records: list[TrainingRecord]):
    """A `datasets.Dataset` of SFT examples, built on access (see `o3video.train.train_records`)."""
    return indexed_dataset(records, sft_example)


def sft_collator(processor: Any, *, max_length: int | None = None):
    """TRL's vision-language collator with assistant-only labels (what SFTTrainer builds for this data)."""
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    return DataCollatorForVisionLanguageModeling(processor=processor, max_length=max_length, assistant_only_loss=True)


__all__ = ["conversation", "sft_collator", "sft_dataset", "sft_example"]
