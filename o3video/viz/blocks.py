"""The parts of an evidence picture, each rendered as its own block image: the question/answer header,
a claim panel (frame with boxes + caption), the thumbnail strip, the timeline, the reasoning text.
`evidence.py` stacks them into the summary; `animation.py` reuses them for the GIF frames."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from o3video.geometry import BoxConvention
from o3video.grammar import parse_number
from o3video.viz.fonts import BODY, CAPTION, SMALL, TITLE, font
from o3video.viz.frame_drawing import draw_claim, fit_scale, scaled_frame
from o3video.viz.layout import Rect
from o3video.viz.palette import BACKGROUND, INK, MUTED, NEUTRAL_MARK, WARNING, text_color_on
from o3video.viz.richtext import Mention, draw_text, plain
from o3video.viz.segments import Kind, Segment, format_box, format_time, segments
from o3video.viz.shown_claims import Evidence, EvidenceItem
from o3video.viz.timeline import Marker, TimelineGeometry, draw_timeline

CAPTION_GAP = 6
HEADER_BADGE = 20
REASONING_MAX_LINES = 60


def stack_vertically(parts: list[Image.Image], width: int, gap: int) -> Image.Image:
    height = sum(p.height for p in parts) + gap * max(0, len(parts) - 1)
    out = Image.new("RGB", (width, max(1, height)), BACKGROUND)
    y = 0
    for part in parts:
        out.paste(part, (0, y))
        y += part.height + gap
    return out


def heading(text: str, width: int) -> Image.Image:
    return draw_text(plain(text), font(SMALL), width, ink=MUTED)[0]


def displayed_answer(evidence: Evidence, answer: str | None) -> str | None:
    return answer if answer is not None else evidence.completion.answer


def header(evidence: Evidence, width: int, *, question: str, answer: str | None, reference: str | None) -> Image.Image:
    """Question (large), the answer with its times highlighted, and the reference answer if given."""
    parts = [draw_text([Segment("Q: ")] + plain(question or "(no question)"), font(TITLE), width)[0]]
    shown = displayed_answer(evidence, answer)
    answer_parts = segments(shown) if shown else [Segment("(no <answer> block)", Kind.BOX)]
    parts.append(draw_text([Segment("A: ")] + answer_parts, font(BODY + 2), width, evidence.colors)[0])
    if reference is not None:
        parts.append(draw_text(plain(f"Reference: {reference}"), font(BODY), width, ink=MUTED)[0])
    return stack_vertically(parts, width, 4)


def answer_span(evidence: Evidence, answer: str | None) -> tuple[float, float] | None:
    """The span an answer states (`From <t>S</t>s to <t>E</t>s`): its first and last time, if two or more."""
    shown = displayed_answer(evidence, answer) or ""
    times = [parse_number(s.text) for s in segments(shown) if s.kind is Kind.TIME]
    times = [t for t in times if t is not None]
    return (times[0], times[-1]) if len(times) >= 2 else None


def _offset_words(item: EvidenceItem, frame_time: float) -> str:
    if item.claim.time is None:
        return ""
    delta = frame_time - item.claim.time
    if abs(delta) < 0.05:
        return ""
    return f" ({format_time(abs(delta))} s {'earlier' if delta < 0 else 'later'})"


def caption_lines(evidence: Evidence, item: EvidenceItem) -> list[str]:
    """Detail lines under a panel: which frame is shown, each box (as claimed, its convention named unless it is
    the frame's pixels, and source px if known)."""
    frame = evidence.frames[item.frame_index if item.frame_index is not None else 0]
    key = " · key frame" if getattr(frame, "is_key", False) else ""
    lines = [f"frame at {format_time(frame.timestamp)} s{_offset_words(item, frame.timestamp)}{key}"]
    for box in item.boxes:
        note = " (outside the frame)" if box.drawn is None else " (clipped)" if box.clipped else ""
        scale = "" if evidence.box_convention is BoxConvention.PIXELS else f" ({evidence.box_convention.description})"
        lines.append(f"box {format_box(box.claimed)}{scale}{note}")
        if box.source is not None:
            lines.append(f"  in source px {format_box(tuple(round(v) for v in box.source))}")
    if not item.boxes:
        lines.append("no readable box")
    return lines


def caption(evidence: Evidence, item: EvidenceItem, width: int) -> Image.Image:
    """Numbered colour badge with `name @ T s`, then the detail lines."""
    title_font = font(CAPTION)
    title, _ = draw_text(plain(item.label), title_font, width - HEADER_BADGE - 6)
    top = Image.new("RGB", (width, max(HEADER_BADGE + 2, title.height)), BACKGROUND)
    draw = ImageDraw.Draw(top)
    draw.rectangle((0, 1, HEADER_BADGE - 1, HEADER_BADGE), fill=item.color)
    draw.text((HEADER_BADGE // 2, 1 + HEADER_BADGE // 2), str(item.number), font=font(SMALL), anchor="mm",
              fill=text_color_on(item.color))
    top.paste(title, (HEADER_BADGE + 6, 0))
    details, _ = draw_text(plain("\n".join(caption_lines(evidence, item))), font(SMALL), width, ink=MUTED)
    return stack_vertically([top, details], width, 0)


@dataclass(frozen=True)
class Panel:
    """A claim panel block and where its frame lies inside it."""

    image: Image.Image
    frame_rect: Rect
    scale: float


def claim_panel(evidence: Evidence, item: EvidenceItem, width: int, max_height: int, *, emphasis: bool = True) -> Panel:
    frame = evidence.frames[item.frame_index if item.frame_index is not None else 0]
    scale = fit_scale(frame.image.size, width, max_height)
    picture = draw_claim(frame.image, item, scale, emphasis=emphasis)
    text = caption(evidence, item, width)
    out = Image.new("RGB", (width, picture.height + CAPTION_GAP + text.height), BACKGROUND)
    out.paste(picture, (0, 0))
    out.paste(text, (0, picture.height + CAPTION_GAP))
    return Panel(out, Rect(0, 0, picture.width, picture.height), scale)


def thumbnail(evidence: Evidence, index: int, width: int, max_height: int) -> Panel:
    frame = evidence.frames[index]
    scale = fit_scale(frame.image.size, width, max_height)
    picture = scaled_frame(frame.image, scale)
    label, _ = draw_text(plain(f"{format_time(frame.timestamp)} s"), font(SMALL), width, ink=MUTED)
    out = Image.new("RGB", (width, picture.height + 2 + label.height), BACKGROUND)
    out.paste(picture, (0, 0))
    out.paste(label, (0, picture.height + 2))
    return Panel(out, Rect(0, 0, picture.width, picture.height), scale)


def timeline_span(evidence: Evidence) -> float:
    """The axis length: the video duration, or (no duration, e.g. one image) the latest time seen."""
    if evidence.duration > 0:
        return evidence.duration
    times = [f.timestamp for f in evidence.frames] + [i.claim.time for i in evidence.items if i.claim.time is not None]
    return max(times, default=0.0)


def timeline(evidence: Evidence, width: int, *, answer: str | None, focus: int | None = None) -> tuple[Image.Image, TimelineGeometry]:
    """The strip with a marker per cited time; with `focus` (a claim number) the others are faded."""
    markers = [
        Marker(item.claim.time, item.color, item.number, faded=focus is not None and item.number != focus)
        for item in evidence.items
        if item.claim.time is not None
    ]
    markers += [Marker(t, NEUTRAL_MARK, None, faded=focus is not None) for t in evidence.loose_times]
    return draw_timeline(
        width,
        timeline_span(evidence),
        [f.timestamp for f in evidence.frames],
        markers,
        key_frames=[bool(getattr(f, "is_key", False)) for f in evidence.frames],
        answer_span=answer_span(evidence, answer),
    )


def reasoning(evidence: Evidence, width: int) -> tuple[Image.Image, list[Mention]]:
    """The <think> text with grounded mentions highlighted; the raw completion if there is no <think>."""
    completion = evidence.completion
    if completion.think is not None:
        title, body = "Reasoning", segments(completion.think) if completion.think else [Segment("(empty)", Kind.BOX)]
    else:
        title, body = "Raw completion (no <think> block)", segments(completion.text) or [Segment("(empty)", Kind.BOX)]
    head = heading(title, width)
    text, mentions = draw_text(body, font(BODY), width, evidence.colors, max_lines=REASONING_MAX_LINES)
    offset = head.height + 4
    moved = [Mention(m.key, (m.rect[0], m.rect[1] + offset, m.rect[2], m.rect[3] + offset)) for m in mentions]
    return stack_vertically([head, text], width, 4), moved


def problems(evidence: Evidence, width: int, limit: int = 4) -> Image.Image | None:
    found = evidence.completion.problems
    if not found:
        return None
    lines = found[:limit] + ([f"… and {len(found) - limit} more"] if len(found) > limit else [])
    return draw_text(plain("Format notes: " + "; ".join(lines)), font(SMALL), width, ink=WARNING, max_lines=6)[0]


def note(text: str, width: int) -> Image.Image:
    return draw_text(plain(text), font(CAPTION), width, ink=INK)[0]
