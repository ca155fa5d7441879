"""Render reasoning parts and answers as text, in a chosen box convention.

Times are written with as few decimals as represent them exactly (frame times are multiples of
1/fps): `2.0`, `2.25`, `0.125`. Normalised boxes get 4 decimals (under 0.01 px error at 128 px
wide); pixel boxes are integers (ground-truth extents are whole pixels).
"""

from __future__ import annotations

from collections.abc import Sequence

from o3video.data.synth.questions.base import Mention, Moment, Part
from o3video.data.synth.world import ScenePlan


def format_time(seconds: float) -> str:
    for decimals in range(1, 7):
        text = f"{seconds:.{decimals}f}"
        if abs(float(text) - seconds) < 1e-9:
            return text
    return f"{seconds:.6f}"


def format_number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals > 0 else str(int(round(value)))
    return "0" if text in ("-0", "") else text


def normalised(box: Sequence[float], plan: ScenePlan) -> list[float]:
    w, h = plan.width, plan.height
    return [box[0] / w, box[1] / h, box[2] / w, box[3] / h]


def box_text(box: Sequence[float], plan: ScenePlan, *, pixels: bool) -> str:
    values = list(box) if pixels else normalised(box, plan)
    decimals = 0 if pixels else 4
    return "<box>[" + ",".join(format_number(v, decimals) for v in values) + "]</box>"


def time_text(frame: int, plan: ScenePlan) -> str:
    return f"<t>{format_time(plan.time_of(frame))}</t>s"


def mention_text(m: Mention, plan: ScenePlan, *, pixels: bool, with_time: bool = True) -> str:
    when = f"at{time_text(m.frame, plan)}" if with_time else ""
    return f"<obj>{m.name}</obj>{box_text(m.box, plan, pixels=pixels)}{when}"


def render_parts(parts: Sequence[Part], plan: ScenePlan, *, pixels: bool, with_time: bool = True) -> str:
    """The reasoning text: mentions become `<obj>…</obj><box>[…]</box>at<t>…</t>s`, moments `<t>…</t>s`."""
    out = []
    for part in parts:
        if isinstance(part, Mention):
            out.append(mention_text(part, plan, pixels=pixels, with_time=with_time))
        elif isinstance(part, Moment):
            out.append(time_text(part.frame, plan))
        else:
            out.append(part)
    return "".join(out)


def span_seconds(span: tuple[int, int], plan: ScenePlan) -> tuple[float, float]:
    return plan.time_of(span[0]), plan.time_of(span[1])


def span_text(span: tuple[int, int], plan: ScenePlan) -> str:
    """The released temporal ground-truth form `[S, E]`."""
    start, end = span_seconds(span, plan)
    return f"[{format_time(start)}, {format_time(end)}]"
