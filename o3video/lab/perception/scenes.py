"""Scenes of the perception pre-training: named shapes on a plain background, drawn in memory at the model's
frame size, and the ways a question about one is varied (video form, V-STaR's *where* layout, motion, clauses)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from o3video.data.synth.shapes import shape_mask
from o3video.data.synth.vocab import COLOURS, SHAPES, object_name

BLANK_GREY = 70


# Sentences a question may be preceded by (`Recipe.context`), so the text between the frames and the answer varies in
# length the way real prompts' wording does (V-STaR's where question, for one, carries ~60 words of instructions).
CONTEXT = (
    "Please answer the question about the video.",
    "The frames show coloured shapes on a grey background.",
    "Some of the shapes may move while others stand still.",
    "Each frame is labelled with the time it was taken.",
    "Look at every frame before you answer.",
    "Give the box as four numbers, [x1, y1, x2, y2].",
    "The question names one object by its colour and its shape.",
    "Answer from what the frames show, not from what is likely.",
)


# Clauses a *where* question may end with (`Recipe.clause`), as the world's V-STaR questions do ("Where is the red
# square while the blue triangle is in front of it?"); `{other}` names another object, `{colour}` the asked one's.
# Why: a clause after the name costs the base most of its localisation (docs/experiments/).
CLAUSES = (
    "while it stands still", "while it stands still for the first time", "while it moves",
    "when it touches the {other}", "while it touches the {other}", "while the {other} is in front of it",
    "while it is {colour}", "before it moves", "after it stops", "when the {other} stops",
)


@dataclass(frozen=True)
class Motion:
    """How one object of a moving scene (`add_motion`) changes: its top-left corner goes from `start` to `end`
    between `begin` and `stop` seconds (linearly; still before and after), and its colour becomes `colour` at
    `change` seconds (never: None)."""

    start: tuple[int, int]
    end: tuple[int, int]
    begin: float = 0.0
    stop: float = 0.0
    colour: str | None = None
    change: float = math.inf


@dataclass
class Scene:
    """One image and its objects; `objects[target]` is the one asked about. `owner` is the (H, W) map of which
    object each pixel shows (-1: background), for dense labels."""

    image: Image.Image
    objects: list[tuple[str, str, tuple[int, int, int, int]]]  # (colour, shape, pixel box x1 y1 x2 y2)
    target: int
    owner: np.ndarray = field(repr=False)
    ask_box: str | None = None  # set: the question is the reverse one, "What is at <this box>?"
    # 0: asked as one image (visual QA). K > 0: asked in the video form, K time-labelled frames that all show
    # this image (same answer). Why: trained on one layout only, a tiny model ties its boxes to token offsets.
    frames: int = 0
    duration: float | None = None  # the video form's length in seconds (frame k at k * duration / frames); None: frames
    context: str = ""  # sentences asked before the question (`Recipe.context`)
    clause: str = ""  # said after the object's name in the question (`Recipe.clause`)
    # set (with `frames` and `duration`): asked as V-STaR's chain-1 *where* prompt about these whole seconds (first,
    # last), answered in its form (`where_record`): ~60 words of instruction sit between the frames and the answer
    span: tuple[int, int] | None = None
    # set (with `span`): the objects move and the named one may change colour (`add_motion`); `objects` holds
    # each one as it is at 0 s, and every frame is drawn at its own time (`clip`)
    motions: list[Motion] | None = None
    background: int = BLANK_GREY
    blank: bool = False  # drawn without the objects (the blind model's frames); `owner` still says where they are
    times: list[float] | None = None  # the video form's frame times when not evenly spaced (`frame_times`)
    # set (with `span`, which then only marks the scene as asked): the practice record it is asked by instead of its
    # `where_record` (a world scene's *what* or *when* question, `practice_questions`)
    record: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.objects)

    @property
    def answer_span(self) -> tuple[float, float] | None:
        """The seconds a *when* question's answer spans (its frames outside it do not show what was asked);
        None for every other question."""
        return None

    @property
    def asked_at(self) -> float:
        """The time the answer's first box is of: the span's first second (0 for a still scene)."""
        return float(self.span[0]) if self.span is not None and self.motions else 0.0

    def box_at(self, index: int, t: float) -> tuple[int, int, int, int]:
        """Object `index`'s pixel box at `t` seconds."""
        box = self.objects[index][2]
        if not self.motions:
            return box
        m, side = self.motions[index], box[2] - box[0]
        f = 0.0 if t <= m.begin else 1.0 if t >= m.stop else (t - m.begin) / (m.stop - m.begin)
        x, y = (round(a + f * (b - a)) for a, b in zip(m.start, m.end))
        return (x, y, x + side, y + side)

    def colour_at(self, index: int, t: float) -> str:
        if self.motions and t >= self.motions[index].change:
            return self.motions[index].colour or self.objects[index][0]
        return self.objects[index][0]

    @property
    def record_size(self) -> tuple[int, int]:
        """The frame size a where record's boxes are in (`where_practice_record`): the scene's own."""
        return self.image.size

    def record_box(self, index: int, t: float) -> tuple[int, int, int, int]:
        """Object `index`'s box at `t` seconds in `record_size` pixels."""
        return self.box_at(index, t)

    @property
    def boxes(self) -> list[tuple[int, int, int, int]]:
        """Every object's box at the asked time (`asked_at`)."""
        return [self.box_at(i, self.asked_at) for i in range(self.n)]

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.box_at(self.target, self.asked_at)

    @property
    def question(self) -> str:
        if self.ask_box is not None:
            return f"What is at {self.ask_box}?"
        colour, shape = self.colour_at(self.target, self.asked_at), self.objects[self.target][1]
        return f"Where is the {object_name(colour, shape)}{' ' + self.clause if self.clause else ''}?"

    def draw(self, t: float) -> tuple[Image.Image, np.ndarray]:
        """The frame at `t` seconds and its owner map; the named object is drawn last, so it is never hidden."""
        h, w = self.owner.shape
        pixels = np.full((h, w, 3), self.background, np.uint8)
        owner = np.full((h, w), -1, np.int16)
        for index in [*(i for i in range(self.n) if i != self.target), self.target]:
            x1, y1, x2, y2 = self.box_at(index, t)
            mask = shape_mask(self.objects[index][1], x2 - x1)
            owner[y1:y2, x1:x2][mask] = index
            if not self.blank:
                pixels[y1:y2, x1:x2][mask] = COLOURS[self.colour_at(index, t)]
        return Image.fromarray(pixels), owner

    def clip(self) -> list[tuple[Image.Image, np.ndarray]]:
        """(image, owner map) of every image the question shows, in order: one for the visual-QA form, `frames`
        of the video forms (drawn at their times when the scene moves)."""
        if self.motions:
            return [self.draw(t) for t in frame_times(self)]
        return [(self.image, self.owner)] * max(1, self.frames)


@dataclass(frozen=True)
class World:
    width: int = 128
    height: int = 96
    colours: tuple[str, ...] = tuple(COLOURS)
    sizes: tuple[float, float] = (0.15, 0.40)  # object side as a fraction of min(W, H)
    unique: bool = False  # no two objects share a colour or a shape, as in the easy preset (`unique_attributes`)


def make_scene(rng: random.Random, world: World, n: int, *, blank: bool = False) -> Scene:
    """`n` distinct (colour, shape) objects, non-overlapping, on a plain grey background (30-110, as the world's)."""
    w, h = world.width, world.height
    short = min(w, h)
    lo, hi = round(world.sizes[0] * short), round(world.sizes[1] * short)
    if world.unique:
        kinds = list(zip(rng.sample(world.colours, n), rng.sample(SHAPES, n)))
    else:
        kinds = rng.sample([(c, s) for c in world.colours for s in SHAPES], n)
    while True:
        boxes: list[tuple[int, int, int, int]] = []
        for _ in range(n):
            for _attempt in range(100):
                side = rng.randint(lo, hi)
                x, y = rng.randint(0, w - side), rng.randint(0, h - side)
                box = (x, y, x + side, y + side)
                if all(box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1] for b in boxes):
                    boxes.append(box)
                    break
        if len(boxes) == n:
            break
    grey = BLANK_GREY if blank else rng.randint(30, 110)
    pixels = np.full((h, w, 3), grey, np.uint8)
    owner = np.full((h, w), -1, np.int16)
    for index, ((colour, shape), (x1, y1, x2, y2)) in enumerate(zip(kinds, boxes)):
        mask = shape_mask(shape, x2 - x1)
        owner[y1:y2, x1:x2][mask] = index
        if not blank:
            pixels[y1:y2, x1:x2][mask] = COLOURS[colour]
    objects = [(c, s, b) for (c, s), b in zip(kinds, boxes)]
    return Scene(Image.fromarray(pixels), objects, rng.randrange(n), owner, background=grey, blank=blank)


def video_duration(scene: Scene) -> float:
    return float(scene.frames if scene.duration is None else scene.duration)


def frame_times(scene: Scene) -> list[float]:
    """The video form's frame times: `scene.times`, else frame k at k * duration / frames seconds."""
    if scene.times is not None:
        return list(scene.times)
    duration = video_duration(scene)
    return [round(k * duration / scene.frames, 2) for k in range(scene.frames)]


def ask_where(scene: Scene, rng: random.Random, seconds: tuple[int, int] = (2, 8)) -> None:
    """Turn `scene` into a question in V-STaR's chain-1 *where* layout: 8 frames of a still video of 2-8 s, about
    1-4 of its whole seconds (as `perception_records(where=...)` asks its still videos)."""
    length = rng.randint(*seconds)
    start = rng.randrange(length)
    scene.frames, scene.duration = 8, float(length)
    scene.span = (start, min(length - 1, start + rng.randrange(4)))


def add_motion(scene: Scene, rng: random.Random, moving: float = 0.7, recolour: float = 0.5) -> None:
    """Make a scene asked in the where layout (`ask_where`) move, as the world's videos do: each object with
    probability `moving` slides in a straight line to a random place over a random part of the video, and with
    probability `recolour` the named one changes colour before or after the asked span, so that the question names
    it by the colour it has then and other frames show it in another ("Where is the white square?" of a square that
    was green). Each asked second then has its own box."""
    if scene.span is None or scene.duration is None:
        raise ValueError("add_motion needs a scene asked in the where layout (ask_where)")
    length, (first, last) = scene.duration, scene.span
    h, w = scene.owner.shape
    motions = []
    for colour, shape, (x1, y1, x2, _) in scene.objects:
        side = x2 - x1
        if rng.random() < moving:
            begin = rng.uniform(0.0, length - 0.5)
            stop = rng.uniform(begin + 0.5, length)
            motions.append(Motion((x1, y1), (rng.randint(0, w - side), rng.randint(0, h - side)), begin, stop))
        else:
            motions.append(Motion((x1, y1), (x1, y1)))
    shape = scene.objects[scene.target][1]
    taken = {(c, s) for c, s, _ in scene.objects}
    others = [c for c in COLOURS if (c, shape) not in taken]
    times = ([rng.uniform(max(0.25, first - 2.0), first)] if first >= 1 else []) + \
            ([rng.uniform(last + 0.25, length)] if length > last + 0.25 else [])
    if others and times and rng.random() < recolour:
        target = motions[scene.target]
        motions[scene.target] = Motion(target.start, target.end, target.begin, target.stop, rng.choice(others),
                                       rng.choice(times))
    scene.motions = motions


def eval_set(world: World, counts: list[int], per_count: int, seed: int = 12345) -> list[Scene]:
    rng = random.Random(seed)
    return [make_scene(rng, world, n) for n in counts for _ in range(per_count)]


def mean_box(world: World, counts: list[int], samples: int = 4000, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    boxes = np.array([make_scene(rng, world, rng.choice(counts)).box for _ in range(samples)], float)
    return boxes.mean(0).tolist()


def add_clause(scene: Scene, rng: random.Random) -> None:
    """End `scene`'s question with one of the `CLAUSES`; `{other}` becomes another object of the frame (one not in
    it for a single object): a second name in the question the answer must not follow."""
    colour, shape = scene.colour_at(scene.target, scene.asked_at), scene.objects[scene.target][1]
    others = [object_name(c, s) for i, (c, s, _) in enumerate(scene.objects) if i != scene.target]
    if not others:
        others = [object_name(c, s) for c in COLOURS for s in SHAPES if (c, s) != (colour, shape)]
    scene.clause = rng.choice(CLAUSES).format(other=rng.choice(others), colour=colour)


def world_of(processor: Any, preset: str = "easy") -> World:
    """Frames of the size the processor turns the synthetic world's frames (`preset`, the demo's easy one: 112x84)
    into: 128x96 for Qwen3-VL's 32-pixel factor, 112x84 for Qwen2.5-VL's 28."""
    from o3video.data.synth import get_preset
    from o3video.models import frame_settings
    from o3video.video.resize import input_size

    frames = get_preset(preset)
    w, h = input_size((frames.width, frames.height), **frame_settings(processor))
    return World(w, h)
