"""VLM clients for annotation and verification: any OpenAI-compatible chat server (vLLM, SGLang,
OpenAI, Gemini's OpenAI-compatible endpoint) through the official `openai` client, and, optionally,
Google's own `google-genai` SDK.

A request is a list of turns, each a list of parts (text or PIL images, in order). Images travel as
base64 data URIs (PNG for small images such as crops, JPEG otherwise). HTTP failures are retried by
the client with exponential backoff (`max_retries`); what still fails raises `VLMError`.

`context` on a request is metadata for test servers (the synthetic world's ground-truth annotator
reads which item and which crop a request is about). It is sent as the `X-O3Video-Context` header
only when the client is built with `send_context=True`; real servers never need it.

Specs (`make_vlm`, parsed by `o3video.remote.parse_remote_spec`): `openai:BASE_URL:MODEL`,
`gemini-openai:MODEL` (Gemini's OpenAI-compatible endpoint, key from GEMINI_API_KEY), `google:MODEL`
(the google-genai SDK).
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from PIL import Image

from o3video.construction.ratelimit import TokenBucket
from o3video.remote import openai_client, parse_remote_spec

Part = str | Image.Image
CONTEXT_HEADER = "X-O3Video-Context"
_PNG_MAX_PIXELS = 256 * 256


class VLMError(RuntimeError):
    """A call that failed after the client's retries (network, server error, refusal)."""


@dataclass
class Turn:
    role: str  # "user" or "assistant"
    parts: list[Part]


@dataclass
class VLMRequest:
    turns: list[Turn]
    system: str | None = None
    max_tokens: int = 4096
    temperature: float = 0.0
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ask(cls, parts: list[Part], **kwargs: Any) -> "VLMRequest":
        return cls([Turn("user", list(parts))], **kwargs)

    def followup(self, reply: str, note: str) -> "VLMRequest":
        """This conversation continued by the model's `reply` and a user `note` (e.g. "that was not JSON")."""
        return replace(self, turns=[*self.turns, Turn("assistant", [reply]), Turn("user", [note])])

    @property
    def images(self) -> list[Image.Image]:
        return [p for t in self.turns for p in t.parts if isinstance(p, Image.Image)]


@dataclass
class VLMReply:
    text: str
    finish_reason: str | None = None  # "stop", "length" (cut by max_tokens), ...

    @property
    def truncated(self) -> bool:
        return (self.finish_reason or "").lower() in ("length", "max_tokens")


class VLMClient(Protocol):
    name: str

    def complete(self, request: VLMRequest) -> VLMReply: ...


def encode_image(image: Image.Image) -> tuple[str, bytes]:
    """(mime type, bytes): PNG for small images (lossless crops), JPEG (quality 90) for frames."""
    buffer = io.BytesIO()
    rgb = image.convert("RGB")
    if rgb.width * rgb.height <= _PNG_MAX_PIXELS:
        rgb.save(buffer, format="PNG")
        return "image/png", buffer.getvalue()
    rgb.save(buffer, format="JPEG", quality=90)
    return "image/jpeg", buffer.getvalue()


def image_data_uri(image: Image.Image) -> str:
    mime, data = encode_image(image)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def openai_messages(request: VLMRequest) -> list[dict[str, Any]]:
    """The request as OpenAI chat messages; user turns with images become content-part lists."""
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for turn in request.turns:
        if all(isinstance(p, str) for p in turn.parts):
            messages.append({"role": turn.role, "content": "".join(turn.parts)})  # type: ignore[arg-type]
            continue
        content = [
            {"type": "text", "text": p} if isinstance(p, str) else {"type": "image_url", "image_url": {"url": image_data_uri(p)}}
            for p in turn.parts
        ]
        messages.append({"role": turn.role, "content": content})
    return messages


class OpenAIVLM:
    """A model behind an OpenAI-compatible `/chat/completions` endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        max_retries: int = 4,
        send_context: bool = False,
    ) -> None:
        self.client = openai_client(base_url, api_key=api_key, api_key_env=api_key_env, timeout=timeout,
                                    max_retries=max_retries)
        self.model = model
        self.name = f"openai:{base_url}:{model}"
        self.send_context = send_context

    def complete(self, request: VLMRequest) -> VLMReply:
        import openai

        headers = {CONTEXT_HEADER: json.dumps(request.context, separators=(",", ":"))} if self.send_context and request.context else None
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=openai_messages(request),  # type: ignore[arg-type]
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                extra_headers=headers,
            )
        except openai.APIError as err:
            raise VLMError(f"{self.name}: {type(err).__name__}: {err}") from None
        if not response.choices:
            raise VLMError(f"{self.name}: the reply has no choices")
        choice = response.choices[0]
        return VLMReply(text=choice.message.content or "", finish_reason=choice.finish_reason)


class GoogleVLM:
    """Gemini through Google's `google-genai` SDK (optional dependency: `pip install google-genai`)."""

    def __init__(self, model: str, *, api_key: str | None = None, max_retries: int = 4, backoff_s: float = 2.0) -> None:
        try:
            from google import genai
        except ImportError:
            raise VLMError("the google:MODEL client needs the google-genai package (pip install google-genai), "
                           "or use gemini-openai:MODEL, Gemini's OpenAI-compatible endpoint") from None
        key = api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        self.client = genai.Client(api_key=key) if key else genai.Client()
        self.model = model
        self.name = f"google:{model}"
        self.max_retries, self.backoff_s = max_retries, backoff_s

    def complete(self, request: VLMRequest) -> VLMReply:
        from google.genai import errors, types

        contents = [
            types.Content(
                role="model" if turn.role == "assistant" else "user",
                parts=[types.Part.from_text(text=p) if isinstance(p, str) else _google_image(types, p) for p in turn.parts],
            )
            for turn in request.turns
        ]
        config = types.GenerateContentConfig(system_instruction=request.system, temperature=request.temperature,
                                             max_output_tokens=request.max_tokens)
        for attempt in range(self.max_retries + 1):
            try:
                response = self.client.models.generate_content(model=self.model, contents=contents, config=config)
                break
            except errors.APIError as err:
                retryable = getattr(err, "code", None) in (408, 429, 500, 502, 503, 504)
                if not retryable or attempt == self.max_retries:
                    raise VLMError(f"{self.name}: {err}") from None
                time.sleep(self.backoff_s * 2**attempt * (0.5 + random.random()))
        finish = None
        if getattr(response, "candidates", None):
            reason = response.candidates[0].finish_reason
            finish = "length" if reason is not None and "MAX_TOKENS" in str(reason) else "stop"
        return VLMReply(text=response.text or "", finish_reason=finish)


def _google_image(types: Any, image: Image.Image) -> Any:
    mime, data = encode_image(image)
    return types.Part.from_bytes(data=data, mime_type=mime)


class ThrottledVLM:
    """A client whose calls go through a shared token bucket (requests per minute)."""

    def __init__(self, inner: VLMClient, requests_per_minute: float, burst: int = 1) -> None:
        self.inner = inner
        self.name = inner.name
        self.bucket = TokenBucket(requests_per_minute / 60.0, burst)

    def complete(self, request: VLMRequest) -> VLMReply:
        self.bucket.acquire()
        return self.inner.complete(request)


def make_vlm(
    spec: str,
    *,
    timeout: float = 120.0,
    max_retries: int = 4,
    send_context: bool = False,
    api_key_env: str | None = None,
    requests_per_minute: float | None = None,
) -> VLMClient:
    """A client from a spec (`o3video.remote.parse_remote_spec`); wrapped in a `ThrottledVLM` when a rate
    is given. A bad spec is an `InputError` (a `ValueError`) naming it."""
    kind, base_url, model = remote = parse_remote_spec(spec, what="VLM spec")
    client: VLMClient
    if kind == "google":
        client = GoogleVLM(model, max_retries=max_retries)
    else:
        client = OpenAIVLM(base_url, model, timeout=timeout, max_retries=max_retries, send_context=send_context,
                           api_key_env=api_key_env or remote.key_env)
    if requests_per_minute:
        client = ThrottledVLM(client, requests_per_minute)
    return client


__all__ = [
    "CONTEXT_HEADER",
    "GoogleVLM",
    "OpenAIVLM",
    "Part",
    "ThrottledVLM",
    "Turn",
    "VLMClient",
    "VLMError",
    "VLMReply",
    "VLMRequest",
    "encode_image",
    "image_data_uri",
    "make_vlm",
    "openai_messages",
]
