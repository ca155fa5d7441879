"""Self-contained HTML page: the summary picture and each claim's frame embedded as data URIs, the
reasoning with `<mark>` highlights in the objects' colours, and a table of the evidence.

Every piece of model or user text goes through `html.escape`; the only markup is ours. Colours in
`style` attributes come from the palette, never from the text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from o3video.remote import data_uri
from o3video.viz import blocks
from o3video.viz.evidence import RenderedEvidence
from o3video.viz.frame_drawing import draw_claim, fit_scale
from o3video.viz.palette import RGB, hex_color, tint
from o3video.viz.segments import Kind, Segment, format_box, format_time, segments
from o3video.viz.shown_claims import Evidence, EvidenceItem

CLAIM_MAX = (640, 480)

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1e1e1e; margin: 0; background: #f6f6f6; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; background: #fff; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 16px; color: #555; margin: 24px 0 8px; }
.answer { font-size: 17px; } .reference, .box, .muted { color: #6e6e6e; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
.claims { display: flex; flex-wrap: wrap; gap: 16px; }
.claims figure { margin: 0; max-width: 340px; } figcaption { font-size: 13px; }
.reasoning { white-space: pre-wrap; }
mark { color: inherit; padding: 0 2px; border-radius: 2px; }
mark.obj { border-bottom: 3px solid var(--c); background: var(--bg); }
mark.time { background: var(--bg); }
mark.plain { background: #e4e4e4; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: -1px; }
table { border-collapse: collapse; font-size: 14px; } td, th { border: 1px solid #ddd; padding: 4px 8px; text-align: left; }
.problems { color: #b45000; font-size: 13px; }
"""


def _vars(color: RGB) -> str:
    return f"--c:{hex_color(color)};--bg:{hex_color(tint(color, 0.3))}"


def rich_html(parts: Sequence[Segment], colors: dict[str, RGB]) -> str:
    """Display segments as escaped HTML with `<mark>` around grounded mentions and times."""
    out = []
    for part in parts:
        text = html.escape(part.text)
        color = colors.get(part.key) if part.key is not None else None
        if part.kind is Kind.OBJECT:
            out.append(f'<mark class="obj" style="{_vars(color)}">{text}</mark>' if color else f'<mark class="plain">{text}</mark>')
        elif part.kind is Kind.TIME:
            out.append(f'<mark class="time" style="{_vars(color)}">{text}</mark>' if color else f'<mark class="plain">{text}</mark>')
        elif part.kind is Kind.BOX:
            out.append(f'<span class="box">{text}</span>')
        else:
            out.append(text)
    return "".join(out)


def _claim_figure(evidence: Evidence, item: EvidenceItem) -> str:
    frame = evidence.frames[item.frame_index if item.frame_index is not None else 0]
    picture = draw_claim(frame.image, item, fit_scale(frame.image.size, *CLAIM_MAX))
    lines = "<br>".join(html.escape(line) for line in blocks.caption_lines(evidence, item))
    swatch = f'<span class="swatch" style="background:{hex_color(item.color)}"></span>'
    alt = html.escape(f"claim {item.number}: {item.label}", quote=True)
    return (
        f'<figure><img alt="{alt}" src="{data_uri(picture, "JPEG")}">'
        f"<figcaption>{swatch}<b>{item.number}. {html.escape(item.label)}</b><br>"
        f'<span class="muted">{lines}</span></figcaption></figure>'
    )


def _row(evidence: Evidence, item: EvidenceItem) -> str:
    frame_time = "—" if item.frame_index is None else f"{format_time(evidence.frames[item.frame_index].timestamp)} s"
    cited = "—" if item.claim.time is None else f"{format_time(item.claim.time)} s"
    boxes = "<br>".join(html.escape(format_box(b.claimed)) for b in item.boxes) or "—"
    source = "<br>".join(html.escape(format_box(tuple(round(v) for v in b.source))) for b in item.boxes if b.source) or "—"
    swatch = f'<span class="swatch" style="background:{hex_color(item.color)}"></span>'
    return (
        f"<tr><td>{item.number}</td><td>{swatch}{html.escape(item.claim.object or '(unnamed)')}</td>"
        f"<td>{cited}</td><td>{frame_time}</td><td>{boxes}</td><td>{source}</td></tr>"
    )


def render_page(rendered: RenderedEvidence, *, question: str, answer: str | None = None, reference: str | None = None) -> str:
    """The whole page as a string."""
    evidence = rendered.evidence
    completion = evidence.completion
    shown = blocks.displayed_answer(evidence, answer)
    answer_html = rich_html(segments(shown), evidence.colors) if shown else '<span class="muted">(no &lt;answer&gt; block)</span>'
    if completion.think is not None:
        reasoning_title, reasoning = "Reasoning", rich_html(segments(completion.think), evidence.colors)
    else:
        reasoning_title, reasoning = "Raw completion (no &lt;think&gt; block)", rich_html(segments(completion.text), evidence.colors)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Evidence: {html.escape(question)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>Q: {html.escape(question)}</h1>",
        f'<p class="answer"><b>A:</b> {answer_html}</p>',
    ]
    if reference is not None:
        parts.append(f'<p class="reference">Reference: {html.escape(reference)}</p>')
    parts.append(f'<figure><img alt="evidence summary" src="{data_uri(rendered.image, "PNG")}"></figure>')
    parts.append(f'<h2>{reasoning_title}</h2><p class="reasoning">{reasoning}</p>')
    parts.append("<h2>Evidence</h2>")
    if evidence.items:
        parts.append(
            "<table><thead><tr><th>#</th><th>object</th><th>cited time</th><th>frame shown</th>"
            f"<th>box ({evidence.box_convention.description})</th><th>box (source px)</th></tr></thead><tbody>"
            + "".join(_row(evidence, item) for item in evidence.items)
            + "</tbody></table>"
        )
        figures = [_claim_figure(evidence, item) for item in evidence.placed]
        parts.append(f'<div class="claims">{"".join(figures)}</div>')
    else:
        parts.append('<p class="muted">No grounded evidence cited.</p>')
    if completion.problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in completion.problems)
        parts.append(f'<h2>Format notes</h2><ul class="problems">{items}</ul>')
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
