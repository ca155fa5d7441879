"""Reading structured replies from VLMs: JSON objects wrapped in code fences or prose, with trailing
commas, or cut off by the token limit; and yes/no answers.

`parse_json_reply` finds the first JSON object in the text and reads it. A reply that was cut off
(unclosed string or brackets at the end) raises `ReplyError("truncated")` unless `repair=True`, in
which case the open string and brackets are closed, a dangling key or comma is dropped, and the
result says it was repaired: a repaired reply holds only what the model wrote before it was cut.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


class ReplyError(ValueError):
    """A reply that holds no usable JSON object. `code`: no_json, truncated, invalid_json, not_an_object."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class ParsedReply:
    data: dict[str, Any]
    repaired: bool = False
    notes: list[str] = field(default_factory=list)  # what had to be done to read it


_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)


def _unfence(text: str, notes: list[str]) -> str:
    """The inside of the first code fence holding a `{` (the fence may be unclosed: truncated)."""
    for match in _FENCE_RE.finditer(text):
        if "{" in match.group(2) or "[" in match.group(2):
            notes.append("read from a code fence")
            return match.group(2)
    return text


def _scan(text: str, start: int) -> tuple[list[str], bool, int]:
    """Bracket stack and in-string flag after scanning `text[start:]` (JSON lexical rules), and the
    index just past the point where the first top-level value closed (-1 if it never did, -2 at a
    closing bracket that matches nothing)."""
    stack: list[str] = []
    in_string = escaped = False
    for i in range(start, len(text)):
        char = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]":
            if stack and stack[-1] == char:
                stack.pop()
                if not stack:
                    return stack, False, i + 1
            else:
                return stack, False, -2  # a bracket that closes nothing: broken, not cut off
    return stack, in_string, -1


_TRAILING_COMMA_RE = re.compile(r",(\s*[}\]])")


def _without_trailing_commas(text: str) -> str:
    """Remove commas directly before `}` or `]` outside strings."""
    out, in_string, escaped = [], False, False
    i = 0
    while i < len(text):
        char = text[i]
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char == ",":
            match = _TRAILING_COMMA_RE.match(text, i)
            if match is None:
                out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _cut_points(text: str) -> list[int]:
    """Positions where a prefix of `text` ends just before a structural comma or just after an
    opening bracket (outside strings): the places a cut-off text can be shortened to."""
    points, in_string, escaped = [], False, False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == ",":
            points.append(i)
        elif char in "{[":
            points.append(i + 1)
    return points


def _close_truncated(text: str, in_string: bool) -> Any:
    """Parse a cut-off JSON text: close its open string and brackets; if what was cut is an unfinished
    member (`"key":`, a half number), shorten to the last complete member first."""
    prefixes = [text + '"' if in_string else text] + [text[:p] for p in reversed(_cut_points(text))]
    for prefix in prefixes:
        stack, still_open, _ = _scan(prefix, 0)
        if still_open:
            continue
        candidate = _without_trailing_commas(prefix.rstrip() + "".join(reversed(stack)))
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    raise ReplyError("truncated", "the JSON is cut off and nothing before the cut could be read")


def parse_json_reply(text: str, *, repair: bool = False) -> ParsedReply:
    """The first JSON object in a VLM reply (see the module docstring); `ReplyError` if there is none."""
    notes: list[str] = []
    if not isinstance(text, str) or not text.strip():
        raise ReplyError("no_json", "the reply is empty")
    body = _unfence(text, notes)
    starts = [i for i in (body.find("{"), body.find("[")) if i >= 0]
    if not starts:
        raise ReplyError("no_json", f"no JSON object in the reply: {text[:120]!r}")
    start = min(starts)
    if start > 0 and body[:start].strip():
        notes.append("skipped text before the JSON")
    stack, in_string, end = _scan(body, start)
    if end == -1 and (stack or in_string):
        if not repair:
            raise ReplyError("truncated", f"the JSON is cut off after {len(body) - start} characters")
        data = _close_truncated(body[start:], in_string)
        notes.append("closed a cut-off JSON text")
        return ParsedReply(_as_object(data), repaired=True, notes=notes)
    candidate = body[start:end] if end > 0 else body[start:]
    if end > 0 and body[end:].strip().strip("`").strip():
        notes.append("ignored text after the JSON")
    return ParsedReply(_as_object(_loads(candidate, notes)), notes=notes)


def _loads(candidate: str, notes: list[str]) -> Any:
    try:
        return json.loads(candidate)
    except json.JSONDecodeError:
        pass
    fixed = _without_trailing_commas(candidate)
    try:
        data = json.loads(fixed)
    except json.JSONDecodeError as err:
        raise ReplyError("invalid_json", f"{err.msg} at character {err.pos}: {candidate[max(0, err.pos - 40): err.pos + 40]!r}") from None
    notes.append("removed trailing commas")
    return data


def _as_object(data: Any) -> dict[str, Any]:
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        return data[0]
    if not isinstance(data, dict):
        raise ReplyError("not_an_object", f"expected a JSON object, got {type(data).__name__}")
    return data


_YES_NO_RE = re.compile(r"^[\s*_`\"'(\[]*(?:answer\s*[:：]\s*)?[\s*_`\"'(\[]*(yes|no)\b", re.IGNORECASE)


def parse_yes_no(text: str | None) -> bool | None:
    """True for a reply starting with "yes", False for "no" (markdown, quotes, "Answer:" allowed); else None."""
    match = _YES_NO_RE.match(text or "")
    if match is None:
        return None
    return match.group(1).lower() == "yes"


__all__ = ["ParsedReply", "ReplyError", "parse_json_reply", "parse_yes_no"]
