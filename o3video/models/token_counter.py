"""A transformers streamer that counts generated tokens: `generate(..., streamer=TokenCounter(on_tokens))` calls
`on_tokens(n)` as each decoding step adds `n` tokens to a sequence (the prompt, which `generate` streams
first, is not counted). It keeps no text; progress bars use it."""

from __future__ import annotations

from collections.abc import Callable

from transformers.generation.streamers import BaseStreamer


class TokenCounter(BaseStreamer):
    def __init__(self, on_tokens: Callable[[int], None]) -> None:
        self.on_tokens = on_tokens
        self.prompt_seen = False
        self.count = 0

    def put(self, value) -> None:
        if not self.prompt_seen:  # generate streams the prompt's ids first
            self.prompt_seen = True
            return
        steps = int(value.shape[-1]) if value.dim() > 1 else 1  # (batch,) per step, (batch, k) for k at once
        self.count += steps
        self.on_tokens(steps)

    def end(self) -> None:
        pass


__all__ = ["TokenCounter"]
