"""Evidence pictures: the frames a completion cites with their boxes, a timeline of cited times and the
reasoning with its grounded mentions highlighted — as PNG, animated GIF or a self-contained HTML page.

    from o3video.viz import render_evidence, save_evidence
    save_evidence("out.html", frames, completion_text, question=q, duration=video_seconds)

Frames are any objects with `.timestamp` (seconds) and `.image` (PIL image at the model-input size).
"""

from o3video.viz.evidence import (
    EvidenceLayout,
    PanelPlacement,
    RenderedEvidence,
    TimelinePlacement,
    draw_evidence,
    render_evidence,
)
from o3video.viz.save import FORMATS, save_evidence
from o3video.viz.shown_claims import Evidence, EvidenceItem, FrameLike, collect_evidence
from o3video.viz.truth import GroundTruth, TimedBox, vstar_truth

__all__ = [
    "FORMATS",
    "Evidence",
    "EvidenceItem",
    "EvidenceLayout",
    "FrameLike",
    "GroundTruth",
    "PanelPlacement",
    "RenderedEvidence",
    "TimedBox",
    "TimelinePlacement",
    "collect_evidence",
    "draw_evidence",
    "render_evidence",
    "save_evidence",
    "vstar_truth",
]
