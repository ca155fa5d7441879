"""Asking a VLM for something structured, and asking again (bounded, with backoff) when the reply
cannot be read: JSON annotations and yes/no verdicts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from o3video.construction.annotation_prompts import JSON_RETRY_NOTE
from o3video.construction.build_config import VLMOptions
from o3video.construction.replies import ParsedReply, ReplyError, parse_json_reply, parse_yes_no
from o3video.construction.vlm import VLMClient, VLMRequest

YES_NO_NOTE = "Please answer with one word: yes or no."


@dataclass
class JSONAnswer:
    parsed: ParsedReply
    attempts: int
    notes: list[str] = field(default_factory=list)


class UnreadableReply(ValueError):
    """Every attempt gave a reply that could not be read; `error` is the last ReplyError."""

    def __init__(self, error: ReplyError, attempts: int, text: str) -> None:
        super().__init__(f"{error} (after {attempts} attempts)")
        self.error, self.attempts, self.text = error, attempts, text


def _pause(options: VLMOptions, attempt: int) -> None:
    if options.retry_backoff_s > 0:
        time.sleep(options.retry_backoff_s * 2**attempt)


def ask_json(client: VLMClient, request: VLMRequest, options: VLMOptions) -> JSONAnswer:
    """The first readable JSON object among up to `1 + reply_retries` replies; each retry shows the
    model its unreadable reply and says what was wrong with it."""
    last: ReplyError | None = None
    text = ""
    for attempt in range(options.reply_retries + 1):
        reply = client.complete(request)
        text = reply.text
        try:
            parsed = parse_json_reply(text, repair=options.accept_repaired)
            notes = list(parsed.notes) + (["the server reported the reply cut by max_tokens"] if reply.truncated else [])
            return JSONAnswer(parsed, attempt + 1, notes)
        except ReplyError as err:
            last = err
        if attempt < options.reply_retries:
            _pause(options, attempt)
            request = request.followup(text, JSON_RETRY_NOTE.format(problem=last.detail))
    assert last is not None
    raise UnreadableReply(last, options.reply_retries + 1, text)


def ask_yes_no(client: VLMClient, request: VLMRequest, options: VLMOptions) -> tuple[bool | None, str]:
    """(verdict, last reply): True/False, or None if no reply said yes or no."""
    text = ""
    for attempt in range(options.reply_retries + 1):
        text = client.complete(request).text
        verdict = parse_yes_no(text)
        if verdict is not None:
            return verdict, text
        if attempt < options.reply_retries:
            _pause(options, attempt)
            request = request.followup(text, YES_NO_NOTE)
    return None, text


__all__ = ["JSONAnswer", "UnreadableReply", "YES_NO_NOTE", "ask_json", "ask_yes_no"]
