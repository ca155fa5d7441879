"""A Qwen2-style byte-level BPE tokenizer trained locally on a text corpus.

The tokenizer is transformers' own `Qwen2Tokenizer` (Qwen's NFC normaliser, its pre-tokeniser
regex — which splits every digit into its own token — and the byte-level decoder); only the
vocabulary and merges are learnt here, with the `tokenizers` library's BPE trainer, so the tiny
model tokenises exactly like the real checkpoints do, just with a small vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from tokenizers import AddedToken, pre_tokenizers, trainers
from transformers import Qwen2Tokenizer

from o3video import grammar

# Qwen2.5-VL's control tokens, in the order its tokenizer lists them. The processor needs
# `<|image_pad|>`/`<|video_pad|>`, the model config the vision start/end and pad ids; the rest are
# kept so a tokenizer config written for the real model reads the same on the tiny one.
ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
VISION_START = "<|vision_start|>"
VISION_END = "<|vision_end|>"
IMAGE_PAD = "<|image_pad|>"
VIDEO_PAD = "<|video_pad|>"
QWEN_SPECIAL_TOKENS: tuple[str, ...] = (
    ENDOFTEXT,
    IM_START,
    IM_END,
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    VISION_START,
    VISION_END,
    "<|vision_pad|>",
    IMAGE_PAD,
    VIDEO_PAD,
)

# The grounded-reasoning tags (docs/design.md §1), named once in `o3video.grammar`. Added as *non-special*
# tokens: each is one token, and `decode(..., skip_special_tokens=True)` keeps them, which the
# reward parser needs.
GROUNDING_TAGS: tuple[str, ...] = tuple(
    tag for name in ("think", "answer", *grammar.GROUNDING_TAGS) for tag in (f"<{name}>", f"</{name}>")
)


def train_qwen_tokenizer(
    corpus: Iterable[str], *, vocab_size: int, model_max_length: int = 32768
) -> Qwen2Tokenizer:
    """Learn a byte-level BPE vocabulary of at most `vocab_size` entries from `corpus` and wrap
    it in a `Qwen2Tokenizer` with Qwen's special tokens and the grounding tags.

    Every byte is in the initial alphabet, so any text encodes without unknown tokens whatever
    the corpus was. The result is deterministic for a given corpus.
    """
    backend = Qwen2Tokenizer().backend_tokenizer  # Qwen's normaliser + pre-tokeniser + decoder
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(QWEN_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    learnt = json.loads(backend.to_str())["model"]
    tokenizer = Qwen2Tokenizer(
        vocab=learnt["vocab"],
        merges=[tuple(merge) for merge in learnt["merges"]],
        unk_token=None,
        bos_token=None,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        extra_special_tokens=[t for t in QWEN_SPECIAL_TOKENS if t not in (ENDOFTEXT, IM_END)],
        model_max_length=model_max_length,
    )
    tokenizer.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in GROUNDING_TAGS])
    return tokenizer
