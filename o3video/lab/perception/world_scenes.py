"""Perception questions about new videos of the synthetic world itself, drawn in memory by the world's
rasteriser at the model's frame size and asked in V-STaR's layouts (*where*, *what*, *when*)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from o3video.lab.perception.questions import unresized_frame_kwargs
from o3video.lab.perception.scenes import BLANK_GREY, Scene, World, frame_times

MIN_VISIBLE = 0.5  # an asked second shows at least this share of the named object


@dataclass
class WorldScene(Scene):
    """A scene of the synthetic world (`plan`, `truth`: `o3video.data.synth`), seen at the model's frame size."""

    plan: Any = field(default=None, repr=False)
    truth: Any = field(default=None, repr=False)
    # shown instead of the drawn frames, one per frame time: a decoded video's (bench/perception.py world)
    shown: list[Image.Image] | None = field(default=None, repr=False)
    # the world's V-STaR record a practice question (`record`) was written from: its event kind and span
    vstar: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def answer_span(self) -> tuple[float, float] | None:
        if self.record is None or not str(self.record.get("vstar_kind", "")).startswith("when"):
            return None
        start, end = self.vstar["timestamps"]
        return float(start), float(end)

    def _frame(self, t: float) -> int:
        return min(self.plan.num_frames - 1, max(0, round(t * self.plan.fps)))

    def _scale(self, box: list[int] | None) -> tuple[float, float, float, float]:
        """A box of the world's frame on the model's (not rounded: the world's boxes are whole pixels of its own)."""
        if box is None:
            return (0.0, 0.0, 0.0, 0.0)
        h, w = self.owner.shape
        sx, sy = w / self.plan.width, h / self.plan.height
        return (round(box[0] * sx, 2), round(box[1] * sy, 2), round(box[2] * sx, 2), round(box[3] * sy, 2))

    @property
    def asked_at(self) -> float:
        return float(self.span[0]) if self.span is not None else 0.0

    def box_at(self, index: int, t: float) -> tuple[float, float, float, float]:  # type: ignore[override]
        """The object's visible box at `t` seconds, in the model's frame ((0, 0, 0, 0) when it is not in view)."""
        return self._scale(self.truth.tracks[index].box[self._frame(t)])

    @property
    def record_size(self) -> tuple[int, int]:
        """Where records are written in the world's own pixels, as its V-STaR records are."""
        return (self.plan.width, self.plan.height)

    def record_box(self, index: int, t: float) -> tuple[int, int, int, int]:
        box = self.truth.tracks[index].box[self._frame(t)]
        return (0, 0, 0, 0) if box is None else tuple(box)

    def colour_at(self, index: int, t: float) -> str:
        return self.plan.objects[index].colour_at(self._frame(t))

    def draw(self, t: float) -> tuple[Image.Image, np.ndarray]:
        """The world's frame nearest `t` and its owner map, resized to the model's frame (the image as the
        processor would, the owner map by nearest neighbour); blank frames for the blind model."""
        from o3video.data.synth.render import Rasteriser

        h, w = self.owner.shape
        raster = Rasteriser(self.plan).draw(self._frame(t), with_image=not self.blank)
        rows = (np.arange(h) * self.plan.height / h).astype(int)
        cols = (np.arange(w) * self.plan.width / w).astype(int)
        owner = raster.owner[rows][:, cols].copy()
        if self.blank:
            return self.image, owner
        return Image.fromarray(raster.image).resize((w, h), Image.Resampling.BICUBIC), owner

    def clip(self) -> list[tuple[Image.Image, np.ndarray]]:
        drawn = [self.draw(t) for t in frame_times(self)]
        if self.shown is None:
            return drawn
        return [(image, owner) for image, (_, owner) in zip(self.shown, drawn, strict=True)]


def _asked_seconds(truth: Any, plan: Any, index: int) -> list[int]:
    """The whole seconds at which object `index` shows at least `MIN_VISIBLE` of itself."""
    track = truth.tracks[index]
    seconds = []
    for t in range(int(plan.duration) + 1):
        frame = t * plan.fps
        if frame < plan.num_frames and track.box[frame] is not None and \
                track.visible_px[frame] >= MIN_VISIBLE * track.shape_px:
            seconds.append(t)
    return seconds


def _vstar_records(truth: Any, preset: str) -> list[tuple[int, dict[str, Any]]]:
    """(asked object, V-STaR record) of each of the world's own V-STaR records about this scene
    (`o3video.data.synth.vstar_writer.scene_vstar_records`)."""
    from o3video.data.synth import get_preset
    from o3video.data.synth.questions import SceneFacts
    from o3video.data.synth.vstar_writer import scene_vstar_records

    return [(item.obj, record) for item, record in scene_vstar_records(SceneFacts(truth, get_preset(preset)))]


def event_questions(plan: Any, truth: Any, preset: str = "easy") -> list[tuple[int, tuple[int, int], str]]:
    """The world's own chain-1 *where* questions about this scene's events (`o3video.data.synth.questions.vstar_questions`,
    as its V-STaR records ask them): (object, its span of whole seconds, the clause after the object's name, e.g.
    "while it touches the red cross"). Only those whose every second of the span shows the object."""
    found = []
    for obj, record in _vstar_records(truth, preset):
        seconds = [b["timestamp"] for b in record["bboxes"]]
        lead = f"Where is the {record['object']}"
        if seconds != list(range(seconds[0], seconds[-1] + 1)) or not record["spatial_question"].startswith(lead) or \
                plan.objects[obj].name_at(seconds[0] * plan.fps) != record["object"]:
            continue
        clause = record["spatial_question"].removeprefix(lead).removesuffix("?").strip()
        found.append((obj, (seconds[0], seconds[-1]), clause))
    return found


def practice_questions(plan: Any, truth: Any, preset: str = "easy",
                       kind: str = "what") -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """The world's own V-STaR questions of `kind` (`o3video.lab.vstar_practice.KINDS`: "what", "when_1", ...) about
    this scene's events, as its test records ask them: (the object the question names, the V-STaR record, its
    practice record of that kind, `o3video.lab.vstar_practice`, written in the world's pixels)."""
    from o3video.lab.vstar_practice import practice_records

    keep_size = unresized_frame_kwargs(plan.width, plan.height)
    return [(obj, record, practice_records([record], kinds=(kind,), frame_kwargs=keep_size)[0])
            for obj, record in _vstar_records(truth, preset)]


def world_scene(rng: random.Random, world: World, preset: str = "easy", *, events: float = 0.0, what: float = 0.0,
                when: float = 0.0, blank: bool = False) -> WorldScene:
    """A new scene of the synthetic world's `preset`, asked in the where layout: 8 frames evenly spaced over the
    video (as the evaluation samples them). With probability `events` (when the scene has one) one of the world's
    own questions about its events (`event_questions`: "Where is the white square while it touches the red cross?"),
    else "Where is the <object>?" about a span of 1-4 whole seconds in which it is in view and keeps one colour,
    named by that colour. With probability `what` the world's own *what* question instead (of a scene that has one)
    (`practice_questions`: "What colour does the green square turn?"), its answer the world's; else with probability
    `when` its own chain-1 *when* question ("When can the white triangle be seen?"), answered with its span."""
    from o3video.data.synth import get_preset
    from o3video.data.synth.planner import plan_scene
    from o3video.data.synth.truth import compute_truth
    from o3video.video.sampling import uniform_times

    frames = get_preset(preset)
    # drawn only for a share above 0, so the data stream of a recipe without one stays as it was
    kind = "what" if what > 0 and rng.random() < what else "when_1" if when > 0 and rng.random() < when else None
    while True:  # a new scene until it has what is asked: a question of `kind`, or a second showing an object
        plan = plan_scene(np.random.default_rng(rng.randrange(2**63)), frames, "perception")
        truth = compute_truth(plan)
        found = practice_questions(plan, truth, preset, kind) if kind else \
            [(i, t) for i in range(len(plan.objects)) for t in _asked_seconds(truth, plan, i)]
        if found:
            break
    times = [round(round(t * plan.fps) / plan.fps, 2) for t in uniform_times((plan.num_frames - 1) / plan.fps, 8)]
    if kind:
        target, vstar, record = rng.choice(found)
        return asked_scene(plan, truth, world, target, (0, 0), "", times, blank=blank, record=record, vstar=vstar)
    asked = event_questions(plan, truth, preset) if events > 0 and rng.random() < events else []
    if asked:
        target, (first, last), clause = rng.choice(asked)
    else:
        target, first = rng.choice(found)
        seconds = set(_asked_seconds(truth, plan, target))
        obj = plan.objects[target]
        last, longest, clause = first, first + rng.randrange(4), ""
        while last < longest and last + 1 in seconds and \
                obj.colour_at((last + 1) * plan.fps) == obj.colour_at(first * plan.fps):
            last += 1
    return asked_scene(plan, truth, world, target, (first, last), clause, times, blank=blank)


def asked_scene(plan: Any, truth: Any, world: World, target: int, span: tuple[int, int], clause: str,
                times: list[float], *, blank: bool = False, record: dict[str, Any] | None = None,
                vstar: dict[str, Any] | None = None) -> WorldScene:
    """The world scene `plan` (with its `truth`) asked in the where layout about object `target` over the whole
    seconds `span`, its question ending with `clause`, shown as the frames at `times` on `world`'s frame size; or,
    given its practice `record` (written from the V-STaR record `vstar`), asked that record's question about
    `target`."""
    blank_image = Image.new("RGB", (world.width, world.height), (BLANK_GREY,) * 3)
    scene = WorldScene(blank_image, [], target, np.full((world.height, world.width), -1, np.int16), frames=len(times),
                       duration=plan.duration, clause=clause, span=span, blank=blank, times=times, plan=plan,
                       truth=truth, record=record, vstar=vstar)
    scene.objects = [(o.colours[0][1], o.shape, scene.box_at(o.id, 0.0)) for o in plan.objects]
    first_image, scene.owner = scene.draw(0.0)
    scene.image = first_image
    return scene


def world_eval_set(world: World, n: int, seed: int = 54321, *, events: float = 0.0, what: float = 0.0,
                   when: float = 0.0) -> list[WorldScene]:
    """`n` held-out world scenes, the same every call (their own random stream, not the training one's); `events`,
    `what`, `when`: the shares asked the world's own *where*, *what* and *when* questions about their events
    (`world_scene`)."""
    rng = random.Random(seed)
    return [world_scene(rng, world, events=events, what=what, when=when) for _ in range(n)]
