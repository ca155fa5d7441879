"""`save_evidence`: write the evidence picture as PNG, animated GIF or a self-contained HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from o3video.errors import InputError
from o3video.geometry import BoxConvention
from o3video.grammar import Completion
from o3video.io import atomic_write_text
from o3video.viz.animation import save_gif
from o3video.viz.evidence import draw_evidence
from o3video.viz.page import render_page
from o3video.viz.shown_claims import FrameLike
from o3video.viz.truth import GroundTruth

FORMATS = (".png", ".gif", ".html", ".htm")


def check_evidence_path(path: str | Path, option: str = "--viz") -> Path:
    """`path` names a format `save_evidence` writes (by its suffix); checked before the work that fills it."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"{option} {path}: cannot tell the picture format from suffix {path.suffix!r}; "
                         "use .png, .gif or .html")
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder, not a file")
    return path


def save_evidence(
    path: str | Path,
    frames: Sequence[FrameLike],
    completion: str | Completion,
    *,
    question: str,
    duration: float,
    answer: str | None = None,
    reference: str | None = None,
    source_size: tuple[float, float] | None = None,
    box_convention: BoxConvention | str = BoxConvention.PIXELS,
    truth: GroundTruth | None = None,
) -> Path:
    """Write the evidence for `completion` to `path`; the suffix picks the format (.png, .gif, .html). With
    `truth` (a record's ground truth) the picture draws it beside the answer."""
    path = check_evidence_path(path)
    suffix = path.suffix.lower()
    rendered = draw_evidence(
        frames, completion, question=question, duration=duration, answer=answer, reference=reference, source_size=source_size,
        box_convention=box_convention, truth=truth,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        rendered.image.save(path, format="PNG")
    elif suffix == ".gif":
        save_gif(path, rendered, question=question, answer=answer)
    else:
        atomic_write_text(path, render_page(rendered, question=question, answer=answer, reference=reference))
    return path
