"""Events derived from the per-frame ground truth by geometry alone (never from the planner's
script), each with its span of frames (inclusive at both ends).

* `visible`: a maximal run of frames where some pixel of the object is shown.
* `still`: a maximal run of frames over which the object does not move, lasting at least
  `STILL_MIN_S` (a shorter pause is not a stop).
* `colour_change`: the first frame with a new colour (`value`), while visible on both sides.
* `touch`: the two objects' squares meet or overlap (gap of at most `TOUCH_GAP` px on both axes,
  and not only at a corner), while both are visible.
* `covered`: `other` is drawn over at least `COVER_SHARE` of the subject's on-canvas pixels while
  the subject stays visible ("partly hidden behind").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from o3video.data.synth.truth import SceneTruth

TOUCH_GAP = 2  # px
STILL_MIN_S = 0.5
COVER_SHARE = 0.15


@dataclass(frozen=True)
class Event:
    kind: str
    subject: int
    start: int
    end: int
    other: int | None = None
    value: str | None = None

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


def runs(flags: np.ndarray | list[bool]) -> list[tuple[int, int]]:
    """Maximal runs of True as (first, last) index pairs."""
    flags = np.asarray(flags, dtype=bool)
    if flags.size == 0:
        return []
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def _touching(a: list[int] | None, b: list[int] | None) -> bool:
    if a is None or b is None:
        return False
    gap_x = max(a[0], b[0]) - min(a[2], b[2])
    gap_y = max(a[1], b[1]) - min(a[3], b[3])
    if gap_x > TOUCH_GAP or gap_y > TOUCH_GAP:
        return False
    return gap_x <= 0 or gap_y <= 0  # not a corner-to-corner near miss


def derive_events(truth: SceneTruth) -> list[Event]:
    plan, tracks = truth.plan, truth.tracks
    n = plan.num_frames
    events: list[Event] = []
    for track in tracks:
        visible = np.array([track.visible(f) for f in range(n)])
        events += [Event("visible", track.id, a, b) for a, b in runs(visible)]
        full = track.full_box
        same = np.array([f > 0 and full[f] is not None and full[f] == full[f - 1] for f in range(n)])
        for a, b in runs(same):  # frames a-1 .. b hold one position
            if visible[a - 1 : b + 1].all() and (b - a + 1) / plan.fps >= STILL_MIN_S - 1e-9:
                events.append(Event("still", track.id, a - 1, b))
        for f in range(1, n):
            if visible[f - 1] and visible[f] and track.colour[f] != track.colour[f - 1]:
                events.append(Event("colour_change", track.id, f, f, value=track.colour[f]))
        for other in tracks:
            if other.id == track.id:
                continue
            covered = [
                visible[f] and other.id in track.occluders[f] and track.hidden_fraction(f) >= COVER_SHARE
                for f in range(n)
            ]
            events += [Event("covered", track.id, a, b, other=other.id) for a, b in runs(covered)]
    for i, a in enumerate(tracks):
        for b in tracks[i + 1 :]:
            touching = [
                a.visible(f) and b.visible(f) and _touching(a.full_box[f], b.full_box[f]) for f in range(n)
            ]
            events += [Event("touch", a.id, s, e, other=b.id) for s, e in runs(touching)]
    return events
