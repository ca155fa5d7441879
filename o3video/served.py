"""A model behind any OpenAI-compatible chat-completions server (vLLM, SGLang, ...), as `--model
openai:BASE_URL:MODEL`: the `o3video.answer.VideoModel` the evaluators and `infer` ask like an
in-process one.

Frames are sampled here, by o3video's sampler, at the size the served family's processor keeps as it
is (its resize factor and pixel bounds: `FAMILIES`), so the boxes the model cites refer to the frames
sent. They travel as lossless PNG data URLs, interleaved with exactly the frame labels
`o3video.video.prompt.build_messages` writes (`openai_messages` converts its messages part by part).

Failed HTTP calls are retried by the `openai` client with exponential backoff (`retries`); what still
fails, a client error (4xx) or an empty or malformed reply is an `InputError` naming the server. No
torch here: a served run needs only the video layer and the `openai` package.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from o3video.errors import InputError
from o3video.geometry import (
    AUTO_CONVENTION,
    FAMILY_BOX_CONVENTIONS,
    MAX_PIXELS,
    MIN_PIXELS,
    BoxConvention,
)
from o3video.remote import data_uri, openai_client, parse_remote_spec
from o3video.video.resize import QWEN3_FACTOR, QWEN25_FACTOR

log = logging.getLogger(__name__)

QWEN25, QWEN3 = "qwen2_5_vl", "qwen3_vl"
# family -> (resize factor, the processor's own least pixels per image): Qwen2.5-VL 28 px and 4 tokens,
# Qwen3-VL 32 px and its released processor's shortest_edge (65536).
FAMILIES = {QWEN25: (QWEN25_FACTOR, MIN_PIXELS), QWEN3: (QWEN3_FACTOR, 65536)}


def is_served(spec: str) -> bool:
    """Whether a `--model` value names a served model (`openai:...`) rather than a checkpoint."""
    return str(spec).startswith("openai:")


def guess_family(model: str) -> str:
    """The family a served model's name suggests: Qwen3-VL when it says "qwen3", else Qwen2.5-VL."""
    return QWEN3 if "qwen3" in model.lower() else QWEN25


def family_told_by_name(model: str) -> bool:
    """Whether a served model's name says its family (Qwen2.5-VL or Qwen3-VL), so `guess_family` is not a guess."""
    name = model.lower().replace("_", ".").replace("-", ".")
    return "qwen3" in name or "qwen2.5" in name


def assumed_convention_note(model: str, family: str | None, box_convention: str) -> str | None:
    """When neither `--served-family` nor `--box-convention` is given and the name does not tell the family: the
    one line saying which box convention the run assumes and how to set it; else None."""
    if family is not None or box_convention != AUTO_CONVENTION or family_told_by_name(model):
        return None
    assumed = guess_family(model)
    return (f"served model {model!r}: its name does not tell its family; assuming {assumed} "
            f"(boxes in {FAMILY_BOX_CONVENTIONS[assumed].value}); set --served-family qwen2_5_vl|qwen3_vl "
            f"or --box-convention pixels|relative_1000")


def family_of(spec: str, family: str | None = None) -> str:
    """The family of the served model `spec` names: `family` when given, else guessed from its name."""
    return family or guess_family(_parse(spec).model)


def _parse(spec: str) -> Any:
    return parse_remote_spec(spec, what="--model", kinds=("openai",), also=("PATH", "HUB_ID"))


def served_frame_settings(family: str, max_pixels: int) -> dict[str, int]:
    """`factor`, `min_pixels`, `max_pixels` for frames the `family`'s processor leaves as they are."""
    if family not in FAMILIES:
        raise InputError(f"--served-family {family!r}: expected one of {', '.join(FAMILIES)}")
    factor, least = FAMILIES[family]
    return {"factor": factor, "min_pixels": min(least, max_pixels), "max_pixels": max_pixels}


def openai_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`build_messages`' chat messages as OpenAI ones, part by part in order: text items as text parts
    (a message of text alone as one string), images as PNG data-URL `image_url` parts."""
    converted = []
    for message in messages:
        items = message["content"]
        if isinstance(items, str) or all(item["type"] == "text" for item in items):
            text = items if isinstance(items, str) else "".join(item["text"] for item in items)
            converted.append({"role": message["role"], "content": text})
            continue
        parts = [{"type": "text", "text": item["text"]} if item["type"] == "text"
                 else {"type": "image_url", "image_url": {"url": data_uri(item["image"], "PNG")}} for item in items]
        converted.append({"role": message["role"], "content": parts})
    return converted


@dataclass
class ServedModel:
    """`o3video.answer.VideoModel` for a model served at `base_url` under the name `model`."""

    base_url: str
    model: str
    family: str = QWEN25
    max_pixels: int = MAX_PIXELS
    retries: int = 4
    timeout: float = 120.0
    box_convention: BoxConvention | str = AUTO_CONVENTION  # auto: the family's
    concurrent: bool = True
    frame_settings: dict[str, int] = field(init=False)
    client: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.frame_settings = served_frame_settings(self.family, self.max_pixels)
        auto = self.box_convention == AUTO_CONVENTION
        self.box_convention = FAMILY_BOX_CONVENTIONS[self.family] if auto else BoxConvention(self.box_convention)
        self.client = openai_client(self.base_url, timeout=self.timeout, max_retries=self.retries)

    @classmethod
    def from_spec(cls, spec: str, *, max_pixels: int = MAX_PIXELS, family: str | None = None, retries: int = 4,
                  timeout: float = 120.0, box_convention: str = AUTO_CONVENTION) -> ServedModel:
        """From `openai:BASE_URL:MODEL`; the family is guessed from MODEL unless given, the box convention is
        the family's unless given."""
        _, base_url, model = _parse(spec)
        note = assumed_convention_note(model, family, box_convention)
        if note is not None:
            log.warning(note)
        return cls(base_url, model, family_of(spec, family), max_pixels, retries, timeout, box_convention)

    @property
    def name(self) -> str:
        return f"openai:{self.base_url}:{self.model}"

    def ask(self, batch: Sequence[list[dict[str, Any]]], *, max_new_tokens: int, temperature: float = 0.0,
            on_tokens: Callable[[int], None] | None = None) -> list[str]:
        """One completion per conversation; a reply arrives whole, so `on_tokens` is not called."""
        return [self._complete(m, n=1, temperature=temperature, max_new_tokens=max_new_tokens)[0] for m in batch]

    def sample(self, messages: list[dict[str, Any]], *, n: int, temperature: float, max_new_tokens: int,
               seed: int | None = None) -> list[str]:
        return self._complete(messages, n=n, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)

    def _complete(self, messages: list[dict[str, Any]], *, n: int, temperature: float, max_new_tokens: int,
                  seed: int | None = None) -> list[str]:
        """`n` completions of one conversation; top-p 1 as in-process (`o3video.models.generate`)."""
        import openai

        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=openai_messages(messages), max_tokens=max_new_tokens,
                temperature=temperature, top_p=1.0, n=n, **({"seed": seed} if seed is not None else {}))
        except openai.APIConnectionError as error:
            raise InputError(f"{self.name}: cannot reach the server after {self.retries} retries "
                             f"({type(error).__name__}: {error})") from None
        except openai.APIStatusError as error:
            raise InputError(f"{self.name}: HTTP {error.status_code} from the server: {_message(error)}") from None
        return self._texts(response, n)

    def _texts(self, response: Any, n: int) -> list[str]:
        """The completions of a reply, or an `InputError` when it has not exactly `n` of them as text."""
        choices = getattr(response, "choices", None) or []
        texts = [getattr(getattr(c, "message", None), "content", None) for c in choices]
        if len(texts) != n or not all(isinstance(t, str) for t in texts):
            raise InputError(f"{self.name}: malformed reply (expected {n} completion(s) as text, "
                             f"got {len(texts)}: {str(response)[:200]})")
        return texts


def _message(error: Any) -> str:
    """The server's own error message of a failed call, on one line."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        body = body.get("error", body)
        body = body.get("message", body) if isinstance(body, dict) else body
    return " ".join(str(body or error).split())[:300]


__all__ = ["FAMILIES", "QWEN3", "QWEN25", "ServedModel", "family_of", "guess_family", "is_served", "openai_messages",
           "served_frame_settings"]
