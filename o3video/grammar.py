"""The grounded-evidence grammar: parse model completions and render claims back to text.

A completion looks like::

    <think>The <obj>red car</obj><box>[120,44,210,130]</box>at<t>12.5</t>s stops ...</think>
    <answer>It turns left.</answer>

`parse` never raises: whatever string it is given, it returns a `Completion` holding what could be
read (possibly nothing) and a list of `problems` describing what could not. It accepts the variants
real models emit: spaces inside tags and lists, any letter case in tag names, ints or floats,
several `<box>` per `<obj>`, `<t>12</t>s`, `<t>12.0</t> s` and `at <t>3</t>s`.

Parsing is linear in the length of the text: RL parses every completion once per reward term, and a
model can emit `<think>` ten thousand times. Every regex here either stops at the next `<` or is applied
at one position only; a lazy `<think>(.*?)</think>` search, which rescans the rest of the text from every
opener, is not used (`block`).

This module is pure Python on purpose: rewards, data construction and evaluation all build on it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]

GROUNDING_TAGS = ("obj", "box", "t")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
_NUMBER_RE = re.compile(_NUMBER, re.IGNORECASE)


def _tag(name: str, closing: bool = False) -> str:
    """Regex for `<name>` / `</name>` tolerating spaces inside the angle brackets and any case."""
    slash = r"/\s*" if closing else ""
    return rf"<\s*{slash}{name}\s*>"


def _block_re(name: str, inner: str) -> re.Pattern[str]:
    return re.compile(rf"{_tag(name)}({inner}){_tag(name, closing=True)}", re.IGNORECASE | re.DOTALL)


_OPEN_RE = {name: re.compile(_tag(name), re.IGNORECASE) for name in ("think", "answer")}
_CLOSE_RE = {name: re.compile(_tag(name, closing=True), re.IGNORECASE) for name in ("think", "answer")}
_BOX_RE = _block_re("box", "[^<>]*?")  # inline tags hold no other tag
_TIME_RE = _block_re("t", "[^<>]*?")
# One claim: <obj>name</obj> then one or more <box>…</box>, then optionally `at <t>T</t> s`.
_CLAIM_RE = re.compile(
    rf"{_tag('obj')}(?P<name>[^<>]*?){_tag('obj', True)}"
    rf"(?P<boxes>(?:\s*{_tag('box')}[^<>]*?{_tag('box', True)})+)"
    rf"(?:\s*(?:at\s*)?{_tag('t')}(?P<time>[^<>]*?){_tag('t', True)}\s*s?)?",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Claim:
    """One grounded mention: an object, where it is (boxes, pixels of the frame the model saw) and when."""

    object: str
    boxes: tuple[Box, ...]
    time: float | None = None

    @property
    def complete(self) -> bool:
        """Object name, at least one box and a time: what the spatial reward scores."""
        return bool(self.object) and bool(self.boxes) and self.time is not None


@dataclass
class Completion:
    """What `parse` could read from a completion. Missing parts are None or empty."""

    text: str
    think: str | None = None
    answer: str | None = None
    claims: list[Claim] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # every valid <t> in <think>, in order
    boxes: list[Box] = field(default_factory=list)  # every valid <box> in <think>, in order
    answer_times: list[float] = field(default_factory=list)
    answer_boxes: list[Box] = field(default_factory=list)
    answer_claims: list[Claim] = field(default_factory=list)  # visual QA answers are `<obj>…</obj><box>…</box>`
    well_formed: bool = False  # exactly one <think>…</think> then one <answer>…</answer>, nothing else
    tags_balanced: bool = False  # every <obj>, <box>, <t> opened and closed in order, none nested
    problems: list[str] = field(default_factory=list)

    @property
    def complete_claims(self) -> list[Claim]:
        return [c for c in self.claims if c.complete]


def parse_number(text: str) -> float | None:
    """A finite float from text like ' 12', '12.5', '12.5s', '1e3'; None if there is none."""
    match = _NUMBER_RE.search(text or "")
    if match is None:
        return None
    try:
        value = float(match.group(0))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_box(text: str) -> Box | None:
    """A box from '[x1, y1, x2, y2]' (brackets, parentheses or none); None unless exactly 4 finite numbers."""
    inner = (text or "").strip().strip("[]()").strip()
    parts = [p for p in re.split(r"[,\s]+", inner) if p]
    if len(parts) != 4:
        return None
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    return values  # type: ignore[return-value]


def _read_boxes(text: str, where: str, problems: list[str]) -> list[Box]:
    boxes: list[Box] = []
    for match in _BOX_RE.finditer(text):
        box = parse_box(match.group(1))
        if box is None:
            problems.append(f"{where}: unreadable box {match.group(0)!r} (need 4 finite numbers)")
        else:
            boxes.append(box)
    return boxes


# The text of a `<t>`: one number with at most one decimal point (`5.5.1` and `.3.0` are not times),
# optionally followed by `s`. Matched against the stripped text: `\s*s?\s*` at the end of a pattern
# tries every split of a run of spaces, quadratic in its length.
_TIME_TEXT_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:\s*s)?")


def _time_value(inner: str) -> float | None:
    """The seconds a `<t>` holds, or None when its text is not one plain number."""
    return parse_number(inner) if _TIME_TEXT_RE.fullmatch(inner.strip()) else None


def _read_times(text: str, where: str, problems: list[str]) -> list[float]:
    times: list[float] = []
    for match in _TIME_RE.finditer(text):
        value = _time_value(match.group(1))
        if value is None:
            problems.append(f"{where}: unreadable time {match.group(0)!r}")
        else:
            times.append(value)
    return times


def read_times(text: str) -> list[float]:
    """Every readable `<t>…</t>` time in `text`, in order; unreadable ones are left out."""
    return _read_times(text or "", "text", [])


def _read_claims(think: str, problems: list[str]) -> list[Claim]:
    claims: list[Claim] = []
    for match in _CLAIM_RE.finditer(think):
        name = " ".join(match.group("name").split())
        boxes = tuple(_read_boxes(match.group("boxes"), f"claim {name!r}", problems))
        time = None
        if match.group("time") is not None:
            time = _time_value(match.group("time"))  # an unreadable time is reported with the think's times
        elif boxes:
            problems.append(f"claim {name!r}: no time (expected `at<t>T</t>s` after its boxes)")
        if not name:
            problems.append("claim with an empty object name")
        claims.append(Claim(object=name, boxes=boxes, time=time))
    return claims


_GROUNDING_TAG_RE = re.compile(r"<\s*(/?)\s*(obj|box|t)\s*>", re.IGNORECASE)


def tags_balanced(text: str) -> bool:
    """True when every grounding tag (`obj`, `box`, `t`) opens, then closes, before another opens."""
    open_tag: str | None = None
    for slash, name in _GROUNDING_TAG_RE.findall(text):  # tuples, not match objects: cheaper on many tags
        closing, name = slash == "/", name.lower()
        if not closing:
            if open_tag is not None:
                return False
            open_tag = name
        elif open_tag != name:
            return False
        else:
            open_tag = None
    return open_tag is None


def _structure(text: str, problems: list[str]) -> bool:
    """Exactly one think block, then one answer block, and only white space outside them."""
    counts = {
        name: (len(re.findall(_tag(name), text, re.IGNORECASE)), len(re.findall(_tag(name, True), text, re.IGNORECASE)))
        for name in ("think", "answer")
    }
    ok = True
    for name, (opened, closed) in counts.items():
        if (opened, closed) != (1, 1):
            problems.append(f"expected one <{name}> and one </{name}>, found {opened} and {closed}")
            ok = False
    if not ok:
        return False
    pattern = rf"\s*{_tag('think')}.*?{_tag('think', True)}\s*{_tag('answer')}.*?{_tag('answer', True)}\s*"
    if re.fullmatch(pattern, text, re.IGNORECASE | re.DOTALL) is None:
        problems.append("text outside <think>…</think><answer>…</answer>, or the blocks are out of order")
        return False
    return True


def block(text: str, name: str) -> str | None:
    """The inside of the first `<name>…</name>` (`think` or `answer`): from the first opener to the first
    closer after it; None when there is no such pair.

    The same as searching `<name>(.*?)</name>` (an opener without a closer after it means no later opener
    has one either), in one pass instead of one scan to the end of the text per opener."""
    opener = _OPEN_RE[name].search(text)
    if opener is None:
        return None
    closer = _CLOSE_RE[name].search(text, opener.end())
    return None if closer is None else text[opener.end() : closer.start()]


def parse(text: object) -> Completion:
    """Parse a completion. Never raises; see `Completion.problems` for what could not be read."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    out = Completion(text=text)
    think, answer = block(text, "think"), block(text, "answer")
    if think is None:
        out.problems.append("no <think>…</think> block")
    if answer is None:
        out.problems.append("no <answer>…</answer> block")
    out.well_formed = _structure(text, out.problems)
    out.tags_balanced = tags_balanced(text)
    if not out.tags_balanced:
        out.problems.append("unbalanced or nested <obj>/<box>/<t> tags")
    if think is not None:
        out.think = think.strip()
        out.claims = _read_claims(out.think, out.problems)
        out.times = _read_times(out.think, "think", out.problems)
        out.boxes = _read_boxes(out.think, "think", [])  # box problems already reported per claim
    if answer is not None:
        out.answer = answer.strip()
        out.answer_times = _read_times(out.answer, "answer", out.problems)
        out.answer_boxes = _read_boxes(out.answer, "answer", out.problems)
        out.answer_claims = _read_claims(out.answer, [])
    return out


# --- rendering -------------------------------------------------------------------------------------


# Grounded text is written here and nowhere else: every target, synthetic record, practice record,
# tokenizer corpus and annotator reply writes numbers, times, boxes, claims and spans through these.
TIME_DECIMALS = 3  # times are written with the fewest decimals (1 to 3) that represent them: 3.0, 3.25, 0.125


def format_number(value: float, decimals: int, *, trim: bool = False) -> str:
    """`12` for decimals=0, `12.5` for decimals=1; `trim` drops trailing zeros (`0.5000` -> `0.5`); never `-0`."""
    text = f"{value:.{decimals}f}" if decimals > 0 else str(int(round(value)))
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "-0.0", "") else text


def format_time(seconds: float, *, max_decimals: int = TIME_DECIMALS) -> str:
    """Seconds with the fewest decimals, at least one, that represent them (frame times are multiples of
    1/fps): `3.0`, `3.25`, `0.125`; rounded to `max_decimals` otherwise."""
    seconds = float(seconds)
    for decimals in range(1, max_decimals + 1):
        text = format_number(seconds, decimals)
        if abs(float(text) - seconds) < 1e-9:
            return text
    return format_number(seconds, max_decimals)


def render_box(box: Sequence[float], *, decimals: int = 0, trim: bool = False) -> str:
    return "<box>[" + ",".join(format_number(v, decimals, trim=trim) for v in box) + "]</box>"


def render_time(time: float, *, max_decimals: int = TIME_DECIMALS) -> str:
    return f"<t>{format_time(time, max_decimals=max_decimals)}</t>s"


def render_claim(claim: Claim, *, decimals: int = 0, trim: bool = False, time_decimals: int = TIME_DECIMALS) -> str:
    """`<obj>name</obj><box>[…]</box>…at<t>T</t>s` — the canonical form the model is trained to emit."""
    boxes = "".join(render_box(b, decimals=decimals, trim=trim) for b in claim.boxes)
    when = f"at{render_time(claim.time, max_decimals=time_decimals)}" if claim.time is not None else ""
    return f"<obj>{claim.object}</obj>{boxes}{when}"


def render_completion(think: str, answer: str) -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


def render_span(start: float, end: float) -> str:
    """The temporal-QA answer form `From <t>S</t>s to <t>E</t>s`."""
    return f"From {render_time(start)} to {render_time(end)}"


def render_span_truth(start: float, end: float) -> str:
    """The released temporal ground-truth form `[S, E]`."""
    return f"[{format_time(start)}, {format_time(end)}]"


def map_boxes(text: str, fn: Callable[[Box], Sequence[float]], *, decimals: int = 0) -> str:
    """Rewrite every readable `<box>[…]</box>` in `text` through `fn` (e.g. a coordinate conversion).

    Unreadable boxes are left exactly as they were, so a conversion never invents coordinates."""

    def replace(match: re.Match[str]) -> str:
        box = parse_box(match.group(1))
        return match.group(0) if box is None else render_box(fn(box), decimals=decimals)

    return _BOX_RE.sub(replace, text)


_CITED_TIME_RE = re.compile(rf"[ \t]*(?:\bat\s*)?{_tag('t')}[^<>]*?{_tag('t', True)}(?:[ \t]*s\b)?", re.IGNORECASE)
_OBJ_TAG_RE = re.compile(rf"{_tag('obj')}|{_tag('obj', True)}", re.IGNORECASE)


def ungrounded(text: str) -> str:
    """`text` as text-only reasoning writes it (the non-o3 variant of the paper's Table 9): every box and every
    cited time (`at<t>T</t>s`, its `at` and unit with it) removed, object names kept without their tags."""
    text = _OBJ_TAG_RE.sub("", _CITED_TIME_RE.sub("", _BOX_RE.sub("", text)))
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# --- ground-truth answer forms (docs/design.md §2) ------------------------------------------------------------


def parse_span(text: object) -> tuple[float, float] | None:
    """`[S, E]` (the released temporal ground truth) → (S, E); None unless exactly two finite numbers."""
    if isinstance(text, (list, tuple)):
        text = "[" + ",".join(str(v) for v in text) + "]"
    if not isinstance(text, str):
        return None
    match = re.fullmatch(r"\s*[\[(]\s*([^,\])]+)\s*,\s*([^,\])]+)\s*[\])]\s*", text)
    if match is None:
        return None
    start, end = parse_number(match.group(1)), parse_number(match.group(2))
    if start is None or end is None:
        return None
    return start, end


_LETTER_FORMS = (r"([A-Za-z])", r"([A-Za-z])\.", r"\(([A-Za-z])\)", r"\[([A-Za-z])\]")


def parse_option_letter(text: object) -> str | None:
    """The option letter of `B`, `B.`, `(B)` or `[B]` (surrounding white space allowed); else None."""
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    for form in _LETTER_FORMS:
        match = re.fullmatch(form, stripped)
        if match:
            return match.group(1).upper()
    return None


def split_temporal_mcq(text: str) -> tuple[str | None, str]:
    """Split a temporal-MCQ answer `From <t>S</t>s to <t>E</t>s.\\nCorrect Option: X` into (letter, rest)."""
    match = re.search(r"correct\s*option\s*:\s*(.*)$", text, re.IGNORECASE | re.DOTALL)
    if match is None:
        return None, text
    return parse_option_letter(match.group(1)), text[: match.start()]


def parse_answer_box(answer: str) -> Box | None:
    """The first box of an answer such as `<obj>cup</obj><box>[…]</box>`, or of a bare `[x1,y1,x2,y2]`."""
    boxes = _read_boxes(answer or "", "answer", [])
    return boxes[0] if boxes else parse_box(answer or "")


def parse_temporal_truth(answer: str, *, with_option: bool) -> tuple[str | None, tuple[float, float] | None]:
    """(letter, span) of a released temporal ground truth: `"[S, E]"`, or `"X\\n[S, E]"` with an option."""
    if not with_option:
        return None, parse_span(answer)
    letter, _, span_text = (answer or "").partition("\n")
    return parse_option_letter(letter), parse_span(span_text)
