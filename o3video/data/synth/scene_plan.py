"""The world model: objects and their timelines of keyframed positions and colours.

A `ScenePlan` is everything needed to render a video, and nothing more: frame size, frame rate,
background, and per object its shape, size, layer (drawing order) and two timelines,
`waypoints` (frame, x, y) with straight-line motion between them, and `colours` (frame, colour).
Positions are the top-left corner of the object's square, always even, so that object edges fall
on the 2x2 blocks of H.264's 4:2:0 chroma. An object exists on frames [appear, vanish); it may be
partly or wholly outside the frame (sliding in or out through an edge).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from o3video.data.synth.vocab import object_name


@dataclass
class ObjectPlan:
    id: int
    shape: str
    size: int  # side of the object's square, even, in pixels
    layer: int  # drawing order: higher layers are drawn over lower ones
    appear: int  # first frame it exists on
    vanish: int  # first frame it no longer exists on (exclusive end)
    waypoints: list[tuple[int, int, int]] = field(default_factory=list)  # (frame, x, y), frames increasing
    colours: list[tuple[int, str]] = field(default_factory=list)  # (from frame, colour), first at `appear`

    def colour_at(self, frame: int) -> str:
        current = self.colours[0][1]
        for start, colour in self.colours:
            if start <= frame:
                current = colour
        return current

    def name_at(self, frame: int) -> str:
        return object_name(self.colour_at(frame), self.shape)

    def names(self) -> list[str]:
        """Every name this object goes by, in time order, each once."""
        return list(dict.fromkeys(object_name(c, self.shape) for _, c in self.colours))

    def exists(self, frame: int) -> bool:
        return self.appear <= frame < self.vanish


@dataclass
class ScenePlan:
    scene_id: str
    preset: str
    width: int
    height: int
    fps: int
    num_frames: int
    background: str
    background_seed: int
    objects: list[ObjectPlan]
    # What the planner scripted, for reference and tests only: questions read events derived from the
    # rendered geometry, never this. [{"kind": "touch"|"cover", "objects": [a, b], "frames": [s, e]}]
    script: list[dict] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def time_of(self, frame: int) -> float:
        """Presentation time of a frame in the encoded video (pts = frame, time base = 1/fps)."""
        return frame / self.fps

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ScenePlan":
        objects = [
            ObjectPlan(
                **{
                    **o,
                    "waypoints": [tuple(w) for w in o["waypoints"]],
                    "colours": [tuple(c) for c in o["colours"]],
                }
            )
            for o in data["objects"]
        ]
        return cls(**{**data, "objects": objects})


def positions(obj: ObjectPlan, num_frames: int) -> np.ndarray:
    """(num_frames, 2) int array of the object's top-left corner per frame, linear between waypoints
    and rounded to even pixels; frames where the object does not exist hold its nearest position."""
    frames = np.arange(num_frames)
    wp = np.asarray(obj.waypoints, dtype=float)
    xs = np.interp(frames, wp[:, 0], wp[:, 1])
    ys = np.interp(frames, wp[:, 0], wp[:, 2])
    out = np.stack([xs, ys], axis=1)
    return (2 * np.round(out / 2)).astype(int)
