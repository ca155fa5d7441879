"""Remote models named by a spec, shared by the V-STaR judges (`o3video.eval.judges`) and the annotators
(`o3video.construction.vlm`): one parser, one error message, one OpenAI-compatible client.

Specs: `openai:BASE_URL:MODEL` (any OpenAI-compatible server: vLLM, SGLang, OpenAI), `gemini-openai:MODEL`
(Gemini's OpenAI-compatible endpoint) and `google:MODEL` (Google's own SDK). BASE_URL contains colons
itself, so `openai:http://host:8000/v1` names no model: what follows its last colon is a port and a path.
Pure standard library until a client is built (the `openai` package is imported then); `data_uri` encodes
the images sent.
"""

from __future__ import annotations

import base64
import io
import os
import re
from typing import Any, NamedTuple

from o3video.errors import InputError

GEMINI_OPENAI_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"
REMOTE_KINDS = ("openai", "gemini-openai", "google")
OPENAI_COMPATIBLE = ("openai", "gemini-openai")  # the kinds `openai_client` serves
OPENAI_FORM = "openai:BASE_URL:MODEL, e.g. openai:http://localhost:8000/v1:Qwen/Qwen2.5-VL-7B-Instruct"
_FORMS = {"openai": "openai:BASE_URL:MODEL", "gemini-openai": "gemini-openai:MODEL", "google": "google:MODEL"}
_KEY_ENV = {"openai": "OPENAI_API_KEY", "gemini-openai": "GEMINI_API_KEY", "google": "GEMINI_API_KEY"}


class RemoteSpec(NamedTuple):
    kind: str  # one of REMOTE_KINDS
    base_url: str  # "" for google:MODEL (the SDK knows its endpoint)
    model: str

    @property
    def key_env(self) -> str:
        """The environment variable the API key is read from by default."""
        return _KEY_ENV[self.kind]


def parse_remote_spec(spec: str, *, what: str = "remote model spec", kinds: tuple[str, ...] = REMOTE_KINDS,
                      also: tuple[str, ...] = ()) -> RemoteSpec:
    """`(kind, base_url, model)` of a spec (module docstring) of one of `kinds`; anything else is an
    `InputError` starting with `what` (the option or setting the spec came from) and the spec. `also`:
    the caller's own non-remote forms, listed in that message."""
    kind, _, rest = spec.partition(":")
    if kind == "openai" and kind in kinds:
        base_url, _, model = rest.rpartition(":")
        if "://" not in base_url or not model or model.startswith("/") or re.match(r"\d+(/|$)", model):
            raise InputError(f"{what} {spec!r}: expected {OPENAI_FORM} (a BASE_URL alone names no model)")
        return RemoteSpec(kind, base_url, model)
    if kind in ("gemini-openai", "google") and kind in kinds and rest:
        return RemoteSpec(kind, GEMINI_OPENAI_URL if kind == "gemini-openai" else "", rest)
    raise InputError(f"{what} {spec!r}: expected {spec_forms(kinds, also)}")


def spec_forms(kinds: tuple[str, ...] = REMOTE_KINDS, also: tuple[str, ...] = ()) -> str:
    """The forms a spec of `kinds` (and the caller's own `also`) may take, as a list in words."""
    forms = [*also, *(_FORMS[k] for k in kinds)]
    return f"{', '.join(forms[:-1])} or {forms[-1]}" if len(forms) > 1 else forms[0]


def data_uri(image: Any, fmt: str) -> str:
    """`data:image/png;base64,…` (or jpeg, quality 90) of a PIL `image`: how images reach a served model
    (PNG: lossless) and an HTML page."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def openai_client(base_url: str, *, api_key: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                  timeout: float = 120.0, max_retries: int = 4) -> Any:
    """The `openai.OpenAI` client for an OpenAI-compatible server; it retries failed HTTP calls with
    exponential backoff. Local servers accept any key, so a missing one is sent as `EMPTY`."""
    from openai import OpenAI

    key = api_key or os.environ.get(api_key_env) or "EMPTY"
    return OpenAI(base_url=base_url, api_key=key, timeout=timeout, max_retries=max_retries)


__all__ = ["GEMINI_OPENAI_URL", "OPENAI_COMPATIBLE", "OPENAI_FORM", "REMOTE_KINDS", "RemoteSpec", "data_uri",
           "openai_client", "parse_remote_spec"]
