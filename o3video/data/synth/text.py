"""Render reasoning parts and answers as text, in a chosen box convention, through `o3video.grammar` (the
one writer of grounded text).

Times are written with as few decimals as represent them exactly (frame times are multiples of
1/fps): `2.0`, `2.25`, `0.125`. Normalised boxes get 4 decimals (under 0.01 px error at 128 px
wide); pixel boxes are integers (ground-truth extents are whole pixels).
"""

from __future__ import annotations

from collections.abc import Sequence

from o3video.data.synth.questions.base import Mention, Moment, Part
from o3video.data.synth.scene_plan import ScenePlan
from o3video.grammar import Claim, render_box, render_claim, render_span_truth, render_time

# Pixel boxes are whole pixels; normalised boxes keep 4 decimals (trailing zeros dropped).
_BOX_STYLE = {True: {"decimals": 0}, False: {"decimals": 4, "trim": True}}


def normalised(box: Sequence[float], plan: ScenePlan) -> list[float]:
    w, h = plan.width, plan.height
    return [box[0] / w, box[1] / h, box[2] / w, box[3] / h]


def box_values(box: Sequence[float], plan: ScenePlan, *, pixels: bool) -> list[float]:
    return list(box) if pixels else normalised(box, plan)


def box_text(box: Sequence[float], plan: ScenePlan, *, pixels: bool) -> str:
    return render_box(box_values(box, plan, pixels=pixels), **_BOX_STYLE[pixels])


def time_text(frame: int, plan: ScenePlan) -> str:
    return render_time(plan.time_of(frame))


def mention_text(m: Mention, plan: ScenePlan, *, pixels: bool, with_time: bool = True) -> str:
    claim = Claim(m.name, (tuple(box_values(m.box, plan, pixels=pixels)),), plan.time_of(m.frame) if with_time else None)
    return render_claim(claim, **_BOX_STYLE[pixels])


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
    return render_span_truth(*span_seconds(span, plan))
