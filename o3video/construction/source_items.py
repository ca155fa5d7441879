"""Source items: one unit of work for the build pipeline, read from a temporal-grounding or a
region-dense-caption data set, as a plain dataclass that round-trips to JSON.

* `temporal`: a video, its duration, the annotated span(s) and the sentence describing them
  (ActivityNet Captions, Charades-STA, QVHighlights, ...). Annotated by a VLM into spatio-temporal QA.
* `dense`: a video, its frame count, and per-object tracks (boxes per frame) with captions over
  frame ranges (PLM-Rdcap). Annotated by a VLM into spatio-temporal QA.
* `temporal-qa`: a temporal-grounding sample that already carries a chain of thought (TVG-Coldstart,
  Time-R1); passed through as a `temporal QA` record after the source filters, without a VLM.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("temporal", "dense", "temporal-qa")
ANNOTATED_KINDS = ("temporal", "dense")


@dataclass
class Caption:
    start_frame: int
    end_frame: int
    text: str


@dataclass
class Track:
    """One object of a dense-caption source: its captions and its boxes (`box_format` of the item)."""

    id: str
    name: str | None = None
    captions: list[Caption] = field(default_factory=list)
    boxes: dict[int, list[float]] = field(default_factory=dict)  # frame index -> [x1, y1, x2, y2]


@dataclass
class SourceItem:
    id: str  # unique within a build: "<source name>:<id in the source>"
    kind: str  # one of KINDS
    source: str  # the data set's name, written to the record's `source`
    video: str  # as the source names it (relative to the videos directory, or absolute)
    duration: float | None = None  # seconds, as the source states it (the pipeline measures its own)
    spans: list[list[float]] = field(default_factory=list)  # temporal: annotated [start, end] seconds
    sentence: str = ""  # temporal: what happens in the span(s)
    question: str | None = None  # temporal-qa: the source's own question, if it has one
    cot: str | None = None  # a chain of thought that comes with the source sample
    frame_count: int | None = None  # dense: frames in the video, as the source counts them
    tracks: list[Track] = field(default_factory=list)  # dense
    box_format: str = "xyxy_px"  # dense: convention of the track boxes

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for track in data["tracks"]:
            track["boxes"] = {str(k): v for k, v in track["boxes"].items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SourceItem":
        tracks = [
            Track(
                id=str(t["id"]),
                name=t.get("name"),
                captions=[Caption(**c) for c in t.get("captions", [])],
                boxes={int(k): list(v) for k, v in t.get("boxes", {}).items()},
            )
            for t in data.get("tracks", [])
        ]
        return cls(**{**data, "tracks": tracks})

    @property
    def segment(self) -> tuple[float, float] | None:
        """The smallest interval holding every annotated span (temporal kinds)."""
        if not self.spans:
            return None
        return min(s[0] for s in self.spans), max(s[1] for s in self.spans)

    @property
    def action_seconds(self) -> float:
        """Total annotated time (the union of the spans)."""
        total, end = 0.0, float("-inf")
        for start, stop in sorted((float(a), float(b)) for a, b in self.spans):
            start = max(start, end)
            if stop > start:
                total += stop - start
            end = max(end, stop)
        return total


def safe_name(item_id: str) -> str:
    """A file-system-safe directory name for an item id (ids may contain '/', ':' or '#'); a hash of
    the id keeps two ids that differ only in such characters apart."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in item_id).strip(".")[:80]
    return f"{keep or 'item'}-{zlib.crc32(item_id.encode('utf-8')):08x}"


__all__ = ["ANNOTATED_KINDS", "KINDS", "Caption", "SourceItem", "Track", "safe_name"]
