"""Split model text into styled segments for display: plain text, object mentions, boxes, times.

The grounding tags are replaced by readable text (`<obj>red car</obj>` -> `red car`,
`<box>[1,2,3,4]</box>` -> `[1, 2, 3, 4]`, `<t>12.5</t>` -> `12.5`) so a person reads prose, and each
segment knows which object it belongs to so the PNG and HTML renderers can colour it like that
object's boxes. A time or box that directly follows an object mention (`<obj>…</obj><box>…</box>at<t>…</t>`)
belongs to that object. Stray or unbalanced tags are left in the text as they are: a malformed
completion is shown, not repaired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from o3video.grammar import format_number, parse_box, parse_number
from o3video.viz.palette import object_key

_TAG_RE = re.compile(r"<\s*(obj|box|t)\s*>([^<>]*?)<\s*/\s*\1\s*>", re.IGNORECASE)
# Text allowed between an object and its boxes/time without ending the claim (`at`, white space).
_CLAIM_GLUE_RE = re.compile(r"\s*(?:at\s*)?", re.IGNORECASE)


class Kind(StrEnum):
    TEXT = "text"
    OBJECT = "object"
    BOX = "box"
    TIME = "time"


@dataclass(frozen=True)
class Segment:
    text: str
    kind: Kind = Kind.TEXT
    key: str | None = None  # object key (palette.object_key) this segment belongs to, if any


def _number(value: float) -> str:
    return format_number(value, 0) if float(value).is_integer() else f"{value:g}"


def format_box(box) -> str:
    return "[" + ", ".join(_number(v) for v in box) + "]"


def format_time(value: float) -> str:
    """`12.5`, `3`, `0.25`: at most two decimals, no trailing zeros."""
    return _number(round(value, 2))


def _tag_segment(name: str, inner: str, key: str | None) -> Segment:
    if name == "obj":
        return Segment(" ".join(inner.split()), Kind.OBJECT, object_key(inner))
    if name == "box":
        box = parse_box(inner)
        return Segment(format_box(box) if box is not None else inner.strip() or "[]", Kind.BOX, key)
    value = parse_number(inner)
    return Segment(format_time(value) if value is not None else inner.strip(), Kind.TIME, key)


def segments(text: str) -> list[Segment]:
    """`text` as display segments, in order; concatenating their `.text` gives the readable text."""
    out: list[Segment] = []
    mentioned: str | None = None  # object just named, whose boxes may follow
    claimed: str | None = None  # object with at least one box, whose time may follow
    position = 0
    for match in _TAG_RE.finditer(text):
        between = text[position : match.start()]
        if between:
            out.append(Segment(between))
            if _CLAIM_GLUE_RE.fullmatch(between) is None:
                mentioned = claimed = None
        name = match.group(1).lower()
        if name == "obj":
            segment = _tag_segment(name, match.group(2), None)
            mentioned, claimed = segment.key, None
        elif name == "box":
            claimed = mentioned or claimed
            mentioned = None
            segment = _tag_segment(name, match.group(2), claimed)
        else:
            segment = _tag_segment(name, match.group(2), claimed)
            mentioned = claimed = None
        out.append(segment)
        position = match.end()
    if position < len(text):
        out.append(Segment(text[position:]))
    return _space_tags(out)


_OPENERS = "([{\"'"


def _space_tags(parts: list[Segment]) -> list[Segment]:
    """Insert a space where a tag touches a word or another tag (`</box>at<t>12.5</t>s` reads
    `… at 12.5 s`), so the readable text has word breaks; never after an opening bracket or quote."""
    spaced: list[Segment] = []
    for part in parts:
        if spaced:
            before = spaced[-1]
            tag_after_word = part.kind is not Kind.TEXT and not (before.text[-1:].isspace() or before.text[-1:] in _OPENERS)
            word_after_tag = before.kind is not Kind.TEXT and part.kind is Kind.TEXT and part.text[:1].isalnum()
            if tag_after_word or word_after_tag:
                spaced.append(Segment(" "))
        spaced.append(part)
    return spaced
