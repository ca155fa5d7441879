"""The tiny model behind a real OpenAI-compatible chat-completions server on 127.0.0.1, for the served-model
tests: `o3video.lab.offline.server.LocalChatServer` answers each request with `TinyResponder`,
which decodes the PNG data-URL images, rebuilds the processor's chat messages (text and image items in
the order sent) and generates with the tiny model as `o3video.answer.LocalModel` does (greedy at
temperature 0; `n` samples after `torch.manual_seed(seed)` otherwise).

    with served_tiny(tiny_model) as server:
        main(["eval", "vstar", "--model", f"openai:{server.url}:tiny", ...])
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from o3video.lab.offline.server import HTTPStatusReply, LocalChatServer

PNG_PREFIX = "data:image/png;base64,"


def decode_part(part: dict[str, Any]) -> dict[str, Any]:
    """One OpenAI content part as a processor message item; anything but text or a PNG data URL is refused."""
    if part["type"] == "text":
        return {"type": "text", "text": part["text"]}
    url = part["image_url"]["url"] if part["type"] == "image_url" else ""
    if not url.startswith(PNG_PREFIX):
        raise HTTPStatusReply(400, f"expected text or a PNG data URL, got {str(part)[:80]}")
    return {"type": "image", "image": Image.open(io.BytesIO(base64.b64decode(url[len(PNG_PREFIX):]))).convert("RGB")}


def processor_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI chat messages back as `build_messages` writes them (a string content is one text item)."""
    rebuilt = []
    for message in messages:
        content = message["content"]
        items = [{"type": "text", "text": content}] if isinstance(content, str) else [decode_part(p) for p in content]
        rebuilt.append({"role": message["role"], "content": items})
    return rebuilt


class TinyResponder:
    """Answers chat-completion bodies with the tiny model; one generation at a time. `fail_on`: a request
    whose text holds it fails with HTTP 400 (a server that breaks on one record)."""

    def __init__(self, model_dir: str | Path, fail_on: str | None = None) -> None:
        from o3video.models import load_model

        self.model, self.processor = load_model(model_dir)
        self.fail_on = fail_on
        self.images: list[Image.Image] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any], headers: Mapping[str, str]) -> list[tuple[str, str]]:
        import torch

        from o3video.models import generate

        messages = processor_messages(body["messages"])
        n, temperature = int(body.get("n") or 1), float(body.get("temperature", 1.0))
        if self.fail_on is not None and self.fail_on in json.dumps(body["messages"]):
            raise HTTPStatusReply(400, "the model is gone")
        with self._lock:
            self.images += [item["image"] for m in messages for item in m["content"] if item["type"] == "image"]
            if body.get("seed") is not None:
                torch.manual_seed(int(body["seed"]))
            (texts,) = generate(self.model, self.processor, [messages], max_new_tokens=int(body["max_tokens"]),
                                temperature=temperature, top_p=float(body.get("top_p", 1.0)), num_return_sequences=n)
        return [(text, "stop") for text in texts]


def served_tiny(model_dir: str | Path) -> LocalChatServer:
    """A (not yet started) server answering with the tiny model at `model_dir`; use it as a context manager."""
    return LocalChatServer(TinyResponder(model_dir), model="tiny")
