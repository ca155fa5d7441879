"""vLLM rollouts (`trainer.use_vllm: true`): the check, before training, that vLLM runs the prompt the trainer built.

TRL 1.16 hands vLLM the token ids the training processor made (image placeholders already expanded) with the
images; vLLM processes each image again with its own processor (the checkpoint's, loaded from the model path,
with its own pixel bounds) and requires each run of image tokens to be as long as it computes. A mismatch (other
pixel bounds, an upscaled frame, another chat template) fails mid-run or, worse, lines the image features up
with the wrong tokens. `check_vllm_prompt` builds the prompt vLLM would build from the chat template (its text
tokenised, each image placeholder expanded by vLLM's processor) and compares it with the training processor's.

The image limit per prompt: TRL 1.16 builds the colocated `vllm.LLM` itself with no way to pass
`limit_mm_per_prompt` (trl/generation/vllm_generation.py, `VLLMGeneration._init_vllm`), so vLLM's default
applies there (999 per modality in vLLM's V1 engine, the only one in the vLLM versions TRL supports); in server
mode `trl vllm-serve` forwards `--limit-mm-per-prompt` to `vllm serve`. `image_limit` is the number to give it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from o3video.errors import InputError
from o3video.train.train_prompts import record_name
from o3video.video.prompt import messages_images

log = logging.getLogger(__name__)

VLLM_DEFAULT_IMAGE_LIMIT = 999  # vLLM V1's limit_mm_per_prompt per modality when none is given


def image_token_count(processor: Any, image: Any) -> int:
    """How many image tokens `processor` (a Qwen-VL processor) turns `image` into: its patch grid over the merge."""
    grid = processor.image_processor(images=[image], return_tensors="pt")["image_grid_thw"][0]
    return int(grid.prod()) // processor.image_processor.merge_size ** 2


def vllm_prompt_ids(vllm_processor: Any, messages: Sequence[dict[str, Any]]) -> list[int]:
    """The token ids vLLM runs for `messages`: the chat template's text tokenised, each image's placeholder token
    repeated as many times as `vllm_processor` gives that image."""
    text = vllm_processor.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    ids = vllm_processor.tokenizer(text, add_special_tokens=False)["input_ids"]
    counts = iter([image_token_count(vllm_processor, image) for image in messages_images(messages)])
    expanded: list[int] = []
    for token in ids:
        expanded.extend([token] * next(counts, 1) if token == vllm_processor.image_token_id else [token])
    return expanded


def image_runs(ids: Sequence[int], image_token_id: int) -> list[int]:
    """The lengths of the runs of `image_token_id` in `ids`, in order: one per image."""
    runs: list[int] = []
    previous = None
    for token in ids:
        if token == image_token_id:
            if previous == image_token_id:
                runs[-1] += 1
            else:
                runs.append(1)
        previous = token
    return runs


def check_vllm_prompt(processor: Any, vllm_processor: Any, messages: Sequence[dict[str, Any]], where: str) -> None:
    """`InputError` (naming `where`) unless vLLM's prompt for `messages` has the training processor's tokens and,
    per image, the same number of image tokens."""
    trained = processor.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True,
                                            return_dict=True)["input_ids"][0]
    trained = [int(t) for t in trained]
    served = vllm_prompt_ids(vllm_processor, messages)
    if trained == served:
        return
    ours, theirs = image_runs(trained, processor.image_token_id), image_runs(served, vllm_processor.image_token_id)
    if ours != theirs:
        image = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        raise InputError(f"{where}: vLLM's prompt differs from the training processor's at image {image}: "
                         f"{theirs[image:image + 1] or 'none'} image tokens against {ours[image:image + 1] or 'none'} "
                         f"({len(theirs)} and {len(ours)} images; check the checkpoint's pixel bounds)")
    position = next((i for i, (a, b) in enumerate(zip(trained, served)) if a != b), min(len(trained), len(served)))
    raise InputError(f"{where}: vLLM's prompt differs from the training processor's at token {position} "
                     f"({len(served)} tokens against {len(trained)}; check the chat template)")


def image_limit(image_counts: Sequence[int]) -> int:
    """The image limit per prompt for vLLM: the most images any checked prompt carries; an `InputError` when it is
    above what TRL's colocated engine allows (vLLM's default, which TRL gives no way to raise)."""
    limit = max(image_counts, default=0)
    if limit > VLLM_DEFAULT_IMAGE_LIMIT:
        raise InputError(f"a prompt carries {limit} images, above vLLM's default limit of {VLLM_DEFAULT_IMAGE_LIMIT} "
                         "per prompt that TRL's colocated engine runs with; use fewer frames")
    return limit


def check_for_vllm(records: Sequence[Any], processor: Any, vllm_processor: Any, num_frames: int) -> int:
    """Before a vLLM run: `check_vllm_prompt` on the first record of each task, and the image limit per prompt for
    every record (`num_frames` plus its key frames, which the prompt builder inserts). Returns the limit."""
    firsts: dict[str, Any] = {}
    for item in records:
        firsts.setdefault(str(item.record.get("task")), item)
    counts = []
    for task, item in firsts.items():
        messages = item.prompt().messages
        check_vllm_prompt(processor, vllm_processor, messages, f"record {record_name(item.record)} ({task})")
        counts.append(len(messages_images(messages)))
    counts += [num_frames + len(item.record.get("key_frames") or []) for item in records]
    return image_limit(counts)


__all__ = ["VLLM_DEFAULT_IMAGE_LIMIT", "check_for_vllm", "check_vllm_prompt", "image_limit", "image_runs",
           "image_token_count", "vllm_prompt_ids"]
