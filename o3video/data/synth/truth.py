"""Exact per-frame ground truth, read from the drawn owner map (what is really visible).

Boxes are `[x1, y1, x2, y2]` in pixels of the original frame with exclusive ends: pixel column `i`
covers `[i, i + 1)`, so a box is the continuous extent of the object's visible pixels and
`x2 - x1` is its visible width. `box` is the *visible* extent (clipped to the frame, minus what
objects drawn over it hide) and is None when no pixel of the object is visible; `full_box` is the
whole square of the object (amodal, possibly outside the frame) whenever it exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from o3video.data.synth.render import Rasteriser
from o3video.data.synth.scene_plan import ScenePlan
from o3video.data.synth.shapes import shape_mask

Box = list[int]


@dataclass
class ObjectTrack:
    id: int
    box: list[Box | None] = field(default_factory=list)
    full_box: list[Box | None] = field(default_factory=list)
    colour: list[str | None] = field(default_factory=list)
    shape_px: int = 0  # pixels of the whole shape
    canvas_px: list[int] = field(default_factory=list)  # shape pixels inside the frame
    visible_px: list[int] = field(default_factory=list)  # shape pixels actually shown
    occluders: list[list[int]] = field(default_factory=list)  # ids of objects drawn over it

    def visible(self, frame: int) -> bool:
        return self.box[frame] is not None

    def hidden_fraction(self, frame: int) -> float:
        """Share of its on-canvas pixels that other objects cover (0 when off-canvas)."""
        canvas = self.canvas_px[frame]
        return 0.0 if canvas == 0 else 1.0 - self.visible_px[frame] / canvas


@dataclass
class SceneTruth:
    plan: ScenePlan
    tracks: list[ObjectTrack]

    def to_dict(self) -> dict:
        return {"plan": self.plan.to_dict(), "tracks": [asdict(t) for t in self.tracks]}

    @classmethod
    def from_dict(cls, data: dict) -> "SceneTruth":
        return cls(ScenePlan.from_dict(data["plan"]), [ObjectTrack(**t) for t in data["tracks"]])

    def visible_ids(self, frame: int) -> list[int]:
        return [t.id for t in self.tracks if t.visible(frame)]

    def name(self, obj_id: int, frame: int) -> str:
        return self.plan.objects[obj_id].name_at(frame)


def _extent(visible: np.ndarray, x0: int, y0: int) -> Box | None:
    rows, cols = np.flatnonzero(visible.any(axis=1)), np.flatnonzero(visible.any(axis=0))
    if rows.size == 0:
        return None
    return [int(x0 + cols[0]), int(y0 + rows[0]), int(x0 + cols[-1] + 1), int(y0 + rows[-1] + 1)]


def compute_truth(plan: ScenePlan, raster: Rasteriser | None = None) -> SceneTruth:
    """Draw every frame's owner map and read each object's visible box and pixel counts from it."""
    raster = raster or Rasteriser(plan)
    tracks = [ObjectTrack(o.id) for o in plan.objects]
    for obj, track in zip(plan.objects, tracks):
        track.shape_px = int(shape_mask(obj.shape, obj.size).sum())
    for f in range(plan.num_frames):
        owner = raster.draw(f, with_image=False).owner
        for obj, track in zip(plan.objects, tracks):
            x, y = (int(v) for v in raster.positions[obj.id][f])
            part = raster.clip(obj.id, f) if obj.exists(f) else None
            track.full_box.append([x, y, x + obj.size, y + obj.size] if obj.exists(f) else None)
            track.colour.append(obj.colour_at(f) if obj.exists(f) else None)
            if part is None:
                track.box.append(None)
                track.canvas_px.append(0)
                track.visible_px.append(0)
                track.occluders.append([])
                continue
            x0, y0, x1, y1, mask = part
            shown = owner[y0:y1, x0:x1]
            visible = (shown == obj.id) & mask
            covering = np.unique(shown[mask & (shown != obj.id)])
            track.box.append(_extent(visible, x0, y0))
            track.canvas_px.append(int(mask.sum()))
            track.visible_px.append(int(visible.sum()))
            track.occluders.append([int(v) for v in covering if v >= 0])
    return SceneTruth(plan, tracks)
