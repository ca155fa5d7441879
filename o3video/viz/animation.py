"""Animated GIF: each drawn claim in turn, large, with the timeline marking its time, then the summary.

All frames share the summary's width and are padded to one height, so the animation does not jump.
Each claim frame carries its claim number and `evidence k of n`, so two claims citing the same box at
the same time still give two frames (Pillow's writer merges identical consecutive frames).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from o3video.viz import blocks
from o3video.viz.evidence import CONTENT, WIDTH, RenderedEvidence
from o3video.viz.layout import MARGIN, Stack
from o3video.viz.palette import BACKGROUND
from o3video.viz.shown_claims import EvidenceItem

CLAIM_MS = 800
SUMMARY_MS = 4000
FOCUS_MAX_HEIGHT = 540


def focus_frame(rendered: RenderedEvidence, item: EvidenceItem, *, question: str, answer: str | None, position: tuple[int, int]) -> Image.Image:
    """One claim shown large: header, the frame with its boxes, its caption, the timeline focused on it."""
    evidence = rendered.evidence
    stack = Stack(WIDTH)
    stack.add(blocks.header(evidence, CONTENT, question=question, answer=answer, reference=None))
    stack.rule()
    k, n = position
    stack.add(blocks.heading(f"evidence {k} of {n}", CONTENT), gap=4)
    stack.add(blocks.claim_panel(evidence, item, CONTENT, FOCUS_MAX_HEIGHT).image)
    if blocks.timeline_span(evidence) > 0:
        stack.add(blocks.timeline(evidence, CONTENT, answer=answer, focus=item.number)[0])
    return stack.render()


def _pad(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    out = Image.new("RGB", size, BACKGROUND)
    out.paste(image, (0, 0))
    return out


def gif_frames(rendered: RenderedEvidence, *, question: str, answer: str | None) -> tuple[list[Image.Image], list[int]]:
    """The GIF's frames (claims drawn in the summary, then the summary) and their durations in ms."""
    items = [p.item for p in rendered.layout.panels if p.item is not None]
    pictures = [
        focus_frame(rendered, item, question=question, answer=answer, position=(k, len(items)))
        for k, item in enumerate(items, start=1)
    ] + [rendered.image]
    size = (WIDTH, max(p.height for p in pictures) if pictures else 2 * MARGIN)
    return [_pad(p, size) for p in pictures], [CLAIM_MS] * len(items) + [SUMMARY_MS]


def save_gif(path: Path, rendered: RenderedEvidence, *, question: str, answer: str | None) -> None:
    frames, durations = gif_frames(rendered, question=question, answer=answer)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
