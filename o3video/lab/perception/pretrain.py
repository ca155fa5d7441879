"""Perception pre-training: teach a tiny model to find a named object in a frame before it learns to reason.

It stands in for the grounding pre-training every real base model already had (the paper's Qwen2.5-VL scores
17.0 vIoU on V-STaR before any training), which a randomly initialised tiny model lacks. Each example is one
frame of the synthetic world's shapes, colours and object names (`o3video.data.synth`) on a plain grey
background, the question "Where is the <colour> <shape>?", asked as the project's visual QA (the one prompt
builder's system prompt and answer-format line, which SFT and the demo use too, so the skill is learnt in
the form it will be asked in), and the grounded answer the grammar writes for it,
`<think><obj>name</obj><box>[x1,y1,x2,y2]</box></think><answer><obj>name</obj><box>[...]</box></answer>`,
with the box in the model family's convention (0-1000 for Qwen3-VL, input pixels for Qwen2.5-VL). Batches
come from the project's SFT collator (loss on the answer only), answers from `generate`.

What was measured (bench/perception.py, its docstring): a tiny Qwen3-VL sits on a plateau for ~2,000-3,000
steps, then localises single objects (IoU ~0.6 after ~13 CPU minutes) when the learning rate stays high
(no decay before the plateau is passed); a tiny Qwen2.5-VL stays at chance. On 1-3 objects it then learns to
land on *an* object but not on the *named* one (binding at chance after 40 more CPU minutes), unless one
attention head per layer is pulled onto the named object's image tokens (`attention_loss`: binding 0.85 after
50 CPU minutes, one seed). Those boxes are tied to the single-image prompt's layout (the same frames asked as a
video: IoU 0.68 -> 0.04) until part of the questions are asked in the video form (`Recipe.video`). Even then
they do not survive V-STaR's chain-1 *where* layout (~60 words of instruction between the frames and the answer,
a JSON of boxes per second: IoU 0.05 on the held-out frames), nor does SFT on that form alone teach it (0.13,
bench/where_form.py); a stage with half the questions in that layout and the same attention supervision
(`Recipe.where`) takes it to 0.27 in 400 steps (73 CPU minutes, one seed: 0.05, 0.07, 0.08, 0.23, 0.27 every 100
steps; the single-image form 0.54 -> 0.52; bind in that layout 0.66). On the demo world's own test questions that
model scores 0.035 (bench/perception.py world): their clauses ("... while it touches the red cross?") and event
moments cost most of it, so a last stage asks about new videos of the world itself, half of them its own event
questions (`Recipe.world`, `world_scene`): 0.035 -> 0.129 on those records in 400 steps.
`pretrain_perception` runs the stages on the model's own frame size and saves the result with `save_pretrained`,
resumably.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from o3video.data.synth.shapes import shape_mask
from o3video.data.synth.vocab import COLOURS, SHAPES, object_name
from o3video.geometry import BoxConvention, BoxFormat, box_iou, convention_to_pixels, from_pixels, pixels_to_convention
from o3video.grammar import Claim, parse, parse_answer_box, render_claim, render_completion
from o3video.tasks import Task, parse_task
from o3video.video.prompt import answer_instruction, build_messages
from o3video.video.sampling import Frame

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
# Why: the where stage's model localises at 0.33 asked "Where is the <object>?" in V-STaR's layout, 0.10 with "while it
# stands still for the first time" added and 0.17 with "while it touches the <other object>" (48 held-out frames).
CLAUSES = (
    "while it stands still", "while it stands still for the first time", "while it moves",
    "when it touches the {other}", "while it touches the {other}", "while the {other} is in front of it",
    "while it is {colour}", "before it moves", "after it stops", "when the {other} stops",
)
HIT_IOU = 0.3  # an answer "hits" an object at this IoU (objects never overlap, so at most one is hit)


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
    # this image (same answer). Why: trained on one layout only, a tiny model ties its boxes to token offsets;
    # four extra words in the prompt, or the same image as a one-frame video, take its IoU from 0.68 to ~0.03.
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


# `coord` names the project's box conventions (o3video.geometry.BoxConvention) by short names.
COORDS = {"1000": BoxConvention.RELATIVE_1000, "pixels": BoxConvention.PIXELS}


def answer_text(scene: Scene, coord: str, size: tuple[int, int]) -> str:
    """The grounded visual-QA completion naming the asked object and its box (in `coord`)."""
    colour, shape, box = scene.objects[scene.target]
    claim = render_claim(Claim(object_name(colour, shape), (pixels_to_convention(box, COORDS[coord], size),)))
    return render_completion(claim, claim)


def answer_box(text: str, coord: str, size: tuple[int, int]) -> list[float] | None:
    """The box of a completion's answer (the first second's of a V-STaR *where* JSON answer; without an answer, the
    completion's first box), in pixels."""
    from o3video.data.vstar import parse_spatial_answer

    answer = parse(text).answer
    box = parse_answer_box(answer or text)
    if box is None and answer:
        box = next(iter(parse_spatial_answer(answer).values()), None)
    if box is None:
        return None
    try:
        return convention_to_pixels(box, COORDS[coord], size)
    except ValueError:
        return None


def messages(scene: Scene, coord: str, record: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chat messages asking `scene`'s question in its layout (for the where layout, of its `where_record`,
    built here unless given)."""
    if scene.span is not None:
        record = asked_record(scene) if record is None else record
        return build_messages(_frames_of(scene), record["question"], parse_task(record["task"]),
                              duration=scene.duration, instruction=record["instruction"], box_convention=COORDS[coord])
    question = f"{scene.context}\n{scene.question}" if scene.context else scene.question
    if not scene.frames:
        return build_messages(scene.image, question, Task.VISUAL, box_convention=COORDS[coord])
    return build_messages(_frames_of(scene), question, Task.SPATIO_TEMPORAL, duration=_duration(scene),
                          instruction=answer_instruction(Task.VISUAL), box_convention=COORDS[coord])


def _duration(scene: Scene) -> float:
    return float(scene.frames if scene.duration is None else scene.duration)


def frame_times(scene: Scene) -> list[float]:
    """The video form's frame times: `scene.times`, else frame k at k * duration / frames seconds."""
    if scene.times is not None:
        return list(scene.times)
    duration = _duration(scene)
    return [round(k * duration / scene.frames, 2) for k in range(scene.frames)]


def _frames_of(scene: Scene) -> list[Frame]:
    """The video form's labelled frames (`scene.image` each, unless the scene moves)."""
    return [Frame(t, image, index=k) for k, (t, (image, _)) in enumerate(zip(frame_times(scene), scene.clip()))]


def example(scene: Scene, coord: str, size: tuple[int, int]) -> dict[str, Any]:
    record = None
    if scene.span is not None:
        from o3video.train.targets import target_completion

        record = asked_record(scene)
        text = target_completion(record, size, COORDS[coord])
    else:
        text = answer_text(scene, coord, size)
    assistant = {"role": "assistant", "content": [{"type": "text", "text": text}]}
    return {"messages": [*messages(scene, coord, record), assistant], "images": []}


def where_practice_record(scene: Scene, span: tuple[int, int], *, video: str, fps: int, length: int) -> dict[str, Any]:
    """The chain-1 *where* practice record (`o3video.lab.vstar_practice`, the one writer of that form) asking for
    `scene`'s named object over the whole seconds `span` (first, last) of `video`, `length` s of the scene standing
    still at `fps`; boxes in pixels of the scene's own frame."""
    from o3video.lab.vstar_practice import practice_records

    width, height = scene.record_size
    start, end = span
    name = object_name(scene.colour_at(scene.target, start), scene.objects[scene.target][1])
    boxes = [{"timestamp": t, "frame_index": t * fps, **dict(zip(("xmin", "ymin", "xmax", "ymax"),
                                                              scene.record_box(scene.target, t)))}
             for t in range(start, end + 1)]
    annotation = {"vid": Path(video).stem, "video_path": video, "width": width, "height": height, "fps": fps,
                  "frame_count": length * fps, "object": name, "timestamps": [start, end], "question": scene.question,
                  "answer": "", "temporal_question": "", "spatial_question": scene.question, "bboxes": boxes}
    return practice_records([annotation], kinds=("where_1",), frame_kwargs=unresized_frame_kwargs(width, height))[0]


def unresized_frame_kwargs(width: int, height: int) -> dict[str, int]:
    """The resize rule under which a `width` x `height` frame stays as it is: practice records written in its pixels."""
    return {"factor": math.gcd(width, height), "min_pixels": width * height, "max_pixels": width * height}


def where_record(scene: Scene) -> dict[str, Any]:
    """The practice record of a scene asked in the where layout (`scene.span`, `ask_where`)."""
    if scene.span is None:
        raise ValueError("where_record needs a scene asked in the where layout (scene.span)")
    return where_practice_record(scene, scene.span, video="still.mp4", fps=1, length=math.ceil(_duration(scene)))


def asked_record(scene: Scene) -> dict[str, Any]:
    """The practice record a scene in the where layout is asked by: its own (`Scene.record`, a *what* question) or
    its `where_record`."""
    return scene.record or where_record(scene)


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


def where_viou(text: str, scene: Scene, coord: str, size: tuple[int, int]) -> float:
    """V-STaR's vIoU of a *where* answer: the mean over the asked seconds of the IoU of the box answered for each
    second with the named object's box then (0 where none)."""
    from o3video.data.vstar import parse_spatial_answer, second_key

    answered = parse_spatial_answer(parse(text).answer or text)
    first, last = scene.span or (0, 0)
    ious = []
    for t in range(first, last + 1):
        box = answered.get(second_key(t))
        try:
            pixels = convention_to_pixels(box, COORDS[coord], size) if box is not None else None
        except ValueError:
            pixels = None
        ious.append(box_iou(pixels, scene.box_at(scene.target, t)) if pixels is not None else 0.0)
    return sum(ious) / len(ious)


def eval_set(world: World, counts: list[int], per_count: int, seed: int = 12345) -> list[Scene]:
    rng = random.Random(seed)
    return [make_scene(rng, world, n) for n in counts for _ in range(per_count)]


def mean_box(world: World, counts: list[int], samples: int = 4000, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    boxes = np.array([make_scene(rng, world, rng.choice(counts)).box for _ in range(samples)], float)
    return boxes.mean(0).tolist()


def score(predicted: list[list[float] | None], scenes: list[Scene]) -> dict[str, Any]:
    """Mean IoU with the named object, share >= 0.5, parse rate, IoU by object count, and binding among hits
    (of answers on 2+ object images that hit some object, the share that hit the named one)."""
    ious, by_n, hits, bound = [], {}, 0, 0
    for box, scene in zip(predicted, scenes):
        iou = box_iou(box, scene.box) if box is not None else 0.0
        ious.append(iou)
        by_n.setdefault(scene.n, []).append(iou)
        if box is not None and scene.n > 1:
            overlaps = [box_iou(box, b) for b in scene.boxes]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= HIT_IOU:
                hits += 1
                bound += best == scene.target
    values = np.array(ious)
    return {
        "iou": round(float(values.mean()), 4),
        "iou50": round(float((values >= 0.5).mean()), 4),
        "parse": round(sum(b is not None for b in predicted) / len(scenes), 4),
        "iou_by_n": {str(k): round(float(np.mean(v)), 3) for k, v in sorted(by_n.items())},
        "bind": round(bound / hits, 3) if hits else None,
        "hits": hits,
    }


def evaluate(model: Any, processor: Any, scenes: list[Scene], coord: str, size: tuple[int, int], *,
             blank: bool = False, frames: int = 0, where: bool = False, clause: bool = False, motion: bool = False,
             batch: int = 64) -> dict[str, Any]:
    """Greedy answers to every scene's question (on blank frames for the blind model; `frames` > 0: asked in
    the video form, as that many labelled frames of the image; `where`: asked in V-STaR's chain-1 *where* layout,
    `ask_where`, scored by the answer's first box and by vIoU over the asked seconds (`where_viou`); `motion`:
    there, the objects move, `add_motion`; `clause`: every question ending with one of the `CLAUSES`), scored."""
    blank_image = Image.new("RGB", size, (BLANK_GREY,) * 3)
    scenes_in = [Scene(blank_image if blank else s.image, s.objects, s.target, s.owner, frames=frames,
                       background=BLANK_GREY if blank else s.background, blank=blank) for s in scenes]
    if where:
        rng = random.Random(len(scenes))
        for scene in scenes_in:
            ask_where(scene, rng)
    if motion:
        rng = random.Random(len(scenes) + 2)
        for scene in scenes_in:
            add_motion(scene, rng)
    if clause:
        rng = random.Random(len(scenes) + 1)
        for scene in scenes_in:
            add_clause(scene, rng)
    return evaluate_asked(model, processor, scenes_in, coord, size, batch=batch)


def greedy_answers(model: Any, processor: Any, scenes: list[Scene], coord: str, *, max_new_tokens: int,
                   batch: int = 64) -> list[str]:
    """The model's greedy completion of every scene's question as it is asked (`messages`), `batch` at a time, in
    eval mode (the mode it was in is restored)."""
    from o3video.models import generate

    was_training = model.training
    model.eval()
    texts = []
    for i in range(0, len(scenes), batch):
        texts += [c[0] for c in generate(model, processor, [messages(s, coord) for s in scenes[i:i + batch]],
                                         max_new_tokens=max_new_tokens)]
    model.train(was_training)
    return texts


def evaluate_asked(model: Any, processor: Any, scenes: list[Scene], coord: str, size: tuple[int, int], *,
                   batch: int = 64, where_tokens: int = 160) -> dict[str, Any]:
    """Greedy answers to scenes asked as they are (`evaluate`; `WorldScene`s), scored:
    `score`, and for scenes in the where layout (answered in up to `where_tokens` tokens) also vIoU over the asked
    seconds (`where_viou`)."""
    where = all(s.span is not None for s in scenes)
    texts = greedy_answers(model, processor, scenes, coord, max_new_tokens=where_tokens if where else 64, batch=batch)
    result = score([answer_box(t, coord, size) for t in texts], scenes)
    if where:
        result["viou"] = round(float(np.mean([where_viou(t, s, coord, size) for t, s in zip(texts, scenes)])), 4)
    result["example"] = texts[0]
    return result


@dataclass
class Recipe:
    lr: float = 2e-3
    batch: int = 16
    warmup: int = 30
    schedule: str = "constant"  # constant, or cosine (to 10% of lr over the budget)
    minutes: float = 15.0  # CPU minutes of training
    objects: tuple[int, int] = (1, 1)
    single_minutes: float = 0.0  # curriculum: single objects for the first minutes
    vision_lr_mult: float = 1.0
    coord: str = "1000"
    # weight of the attention supervision (`attention_loss`): what made binding (the named object among several)
    # learnable at this scale; needs a model loaded with eager attention
    attention_supervision: float = 0.0
    # share of the questions asked in the video form: 1-8 labelled frames of the image, 0.25-2 s apart, so the
    # prompt's layout varies and only the image content can give the box (see `Scene.frames`)
    video: float = 0.0
    # share of the questions preceded by 1-4 of the `CONTEXT` sentences (either form): the text between the frames and
    # the answer varies too (16 filler words after the image take a video-stage model's IoU from 0.66 to 0.06).
    # Not in the base's recipe: in the video stage with half the questions so preceded (one seed), the 8-frame IoU
    # was 0.10 / 0.14 at steps 100 / 200 against 0.26 / 0.48 without, the image form 0.51 against 0.68 at 200
    context: float = 0.0
    # share of the questions asked in V-STaR's chain-1 *where* layout (`ask_where`): 8 frames, ~60 words of
    # instruction between them and the answer, the answer a JSON of boxes after reasoning that cites each. Why: a
    # model that localises at 0.54 asked "Where is the <object>?" of 8 frames localises at ~0.13 in that layout
    # after learning its form by SFT (bench/where_form.py); here the attention supervision covers that layout too
    where: float = 0.0
    # share of the questions ending with one of the `CLAUSES` (`add_clause`), so the wording around the name varies.
    # Not in the base's recipe: continuing the where stage's model with half the questions so worded (one seed, 200
    # steps, 96 held-out frames in the where layout) the IoU asked with a clause went 0.14, 0.15, 0.17, 0.20, 0.13
    # every 50 steps, without one 0.27 -> 0.22, the single-image form 0.52 -> 0.39
    clause: float = 0.0
    # share of the where-layout questions whose objects move (`add_motion`), as the world's test videos' do: the
    # where stage's model localises at 0.225 vIoU on still videos but 0.05 on the world's (8.1 with its plain question
    # where the object stands still over the asked span, 3 seeds' 90 test records)
    motion: float = 0.0
    # share of the questions about a new video of the synthetic world itself, in the where layout
    # (`world_scene`): objects that enter, leave, hide one another and touch
    world: float = 0.0
    # share of those asked the world's own question about one of the video's events, with its clause ("... while it
    # touches the red cross?"): the where stage's model scores 0.106 vIoU on the world's test spans asked
    # "Where is the <object>?" and 0.037 asked with their clause (frames drawn in memory; 0.095 / 0.035 decoded)
    events: float = 0.0
    # share of the world scenes asked the world's own *what* question about one of its events, in V-STaR's *what*
    # prompt ("What colour does the green square turn?", `practice_questions`), answered as its practice records are:
    # after SFT the demo's models answered one phrase to every *what* question (25 of 30 "it turns blue", one seed)
    what: float = 0.0
    # share of the other world scenes asked the world's own chain-1 *when* question about one of its events ("When can
    # the white triangle be seen?", `practice_questions`), answered as its practice records are ("It starts at ...
    # [S, E]"), the attention supervision on the asked object in the frames inside the answer's span only. Why: the
    # demo's models answer *when* below the middle-half span (17.4 +- 15.5 tIoU against 37.4, 3 seeds), and the
    # world's question alone tells little of it (best span per event kind: 0.38)
    when: float = 0.0


def add_clause(scene: Scene, rng: random.Random) -> None:
    """End `scene`'s question with one of the `CLAUSES`; `{other}` becomes another object of the frame (one not in
    it for a single object): a second name in the question the answer must not follow."""
    colour, shape = scene.colour_at(scene.target, scene.asked_at), scene.objects[scene.target][1]
    others = [object_name(c, s) for i, (c, s, _) in enumerate(scene.objects) if i != scene.target]
    if not others:
        others = [object_name(c, s) for c in COLOURS for s in SHAPES if (c, s) != (colour, shape)]
    scene.clause = rng.choice(CLAUSES).format(other=rng.choice(others), colour=colour)


class Learner:
    """One model and its optimizer, trained step by step on its own CPU clock (process time, so other load on
    the machine does not count). `extra_loss` is the hook for auxiliary losses (bench/perception.py)."""

    def __init__(self, model: Any, processor: Any, world: World, recipe: Recipe, *, blank: bool = False,
                 seed: int = 1, extra_params: list[torch.nn.Parameter] | None = None) -> None:
        from o3video.train.sft_data import sft_collator

        self.model, self.processor, self.world, self.recipe, self.blank = model, processor, world, recipe, blank
        self.size = (world.width, world.height)
        self.collate = sft_collator(processor)
        self.rng = random.Random(seed)
        self.cpu = 0.0
        self.steps = 0
        self.losses: list[float] = []
        visual = [p for n, p in model.named_parameters() if ".visual." in f".{n}"]
        other = [p for n, p in model.named_parameters() if ".visual." not in f".{n}"]
        groups = [{"params": other, "mult": 1.0}, {"params": visual, "mult": recipe.vision_lr_mult}]
        if extra_params:
            groups.append({"params": extra_params, "mult": 1.0})
        self.opt = torch.optim.AdamW(groups, lr=recipe.lr, betas=(0.9, 0.98), weight_decay=0.0)
        model.train()

    def lr(self) -> float:
        r = self.recipe
        frac = min(1.0, self.cpu / (r.minutes * 60))
        decay = 1.0 if r.schedule == "constant" else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))
        return r.lr * min(1.0, (self.steps + 1) / r.warmup) * decay

    def batch(self) -> list[Scene]:
        lo, hi = self.recipe.objects
        if self.cpu < self.recipe.single_minutes * 60:
            lo = hi = 1
        scenes = [make_scene(self.rng, self.world, self.rng.randint(lo, hi), blank=self.blank)
                  for _ in range(self.recipe.batch)]
        if self.recipe.world > 0:
            scenes = [world_scene(self.rng, self.world, events=self.recipe.events, what=self.recipe.what,
                                  when=self.recipe.when, blank=self.blank)
                      if self.rng.random() < self.recipe.world else scene for scene in scenes]
        for scene in scenes:
            if scene.span is not None:  # a world scene, already asked
                continue
            clause = self.recipe.clause > 0 and self.rng.random() < self.recipe.clause
            if self.recipe.where > 0 and self.rng.random() < self.recipe.where:
                ask_where(scene, self.rng)
                if self.recipe.motion > 0 and self.rng.random() < self.recipe.motion:
                    add_motion(scene, self.rng)
            if clause:  # after the motion: "while it is <colour>" says the colour it has over the asked span
                add_clause(scene, self.rng)
            if scene.span is not None:
                continue
            if self.recipe.video > 0 and self.rng.random() < self.recipe.video:
                scene.frames = self.rng.randint(1, 8)
                scene.duration = round(scene.frames * self.rng.uniform(0.25, 2.0), 1)
            if self.recipe.context > 0 and self.rng.random() < self.recipe.context:
                scene.context = " ".join(self.rng.sample(CONTEXT, self.rng.randint(1, 4)))
        return scenes

    def extra_loss(self, scenes: list[Scene], inputs: dict[str, Any], outputs: Any) -> torch.Tensor | None:
        """Losses beside the answer's: the recipe's attention supervision (subclasses add their own)."""
        if self.recipe.attention_supervision <= 0:
            return None
        if outputs.attentions is None or outputs.attentions[0] is None:
            raise ValueError("attention supervision needs the model loaded with attn_implementation='eager'")
        return self.recipe.attention_supervision * attention_loss(self.model, scenes, inputs, outputs.attentions)

    def forward_kwargs(self) -> dict[str, Any]:
        return {"output_attentions": True} if self.recipe.attention_supervision > 0 else {}

    def step(self) -> float:
        started = time.process_time()
        scenes = self.batch()
        inputs = self.collate([example(s, self.recipe.coord, self.size) for s in scenes])
        for group in self.opt.param_groups:
            group["lr"] = self.lr() * group["mult"]
        outputs = self.model(**inputs, **self.forward_kwargs())
        extra = self.extra_loss(scenes, inputs, outputs)
        loss = outputs.loss if extra is None else outputs.loss + extra
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in self.opt.param_groups for p in g["params"]], 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.steps += 1
        self.losses.append(outputs.loss.item())
        self.cpu += time.process_time() - started
        return self.losses[-1]

    def state(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly: weights, optimizer, data stream, clock."""
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "rng": self.rng.getstate(),
                "torch_rng": torch.get_rng_state(), "cpu": self.cpu, "steps": self.steps, "losses": self.losses}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.cpu, self.steps, self.losses = state["cpu"], state["steps"], list(state["losses"])


def object_shares(owner: np.ndarray, n: int, cell: int) -> np.ndarray:
    """(n, rows, cols): the share of each cell×cell block of an image (its `owner` map) that each object covers."""
    h, w = owner.shape
    rows, cols = h // cell, w // cell
    blocks = owner[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(rows, cols, cell * cell)
    return np.stack([(blocks == index).mean(-1) for index in range(n)])


def attended_tokens(scene: Scene, factor: int) -> np.ndarray:
    """Which of the scene's image tokens (every frame's, in order; one per `factor` x `factor` block) the attention
    supervision pulls onto: those on the named object, in every frame, or for a *when* question every frame inside
    its answer's span (`Scene.answer_span`)."""
    shares = [object_shares(owner, scene.n, factor)[scene.target].reshape(-1) for _, owner in scene.clip()]
    span = scene.answer_span
    shown = [True] * len(shares) if span is None else [span[0] <= t <= span[1] for t in frame_times(scene)]
    return np.concatenate([(share >= max(0.05, 0.5 * share.max())) & keep
                           for share, keep in zip(shares, shown, strict=True)])


def attention_loss(model: Any, scenes: list[Scene], inputs: dict[str, torch.Tensor],
                   attentions: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """-log(attention mass on the named object's image tokens, `attended_tokens`), averaged over the answer's
    positions, for head 0 of every text layer after the first (the first can carry the question to the answer
    positions).

    Why: a tiny model learns to land on *an* object among several, but not on the *named* one, from the answer's
    loss alone (bench/perception.py: binding stays at chance for 40 CPU minutes); pulling one head per layer onto
    the named object's tokens teaches it (binding 0.85 after 50 CPU minutes, one seed)."""
    factor = model.config.vision_config.patch_size * model.config.vision_config.spatial_merge_size
    image_id = model.config.image_token_id
    losses = []
    for b, scene in enumerate(scenes):
        on_object = attended_tokens(scene, factor)
        image_positions = (inputs["input_ids"][b] == image_id).nonzero().squeeze(-1)
        if len(on_object) != len(image_positions):
            raise ValueError(f"attention supervision: {len(image_positions)} image tokens for {len(scene.clip())} "
                             f"frames, {len(on_object)} expected")
        target = image_positions[torch.from_numpy(on_object)]
        if len(target) == 0:
            continue
        answer = (inputs["labels"][b] != -100).nonzero().squeeze(-1) - 1  # positions predicting answer tokens
        for layer in attentions[1:]:
            mass = layer[b, 0][answer][:, target].sum(-1)
            losses.append(-torch.log(mass + 1e-6).mean())
    return torch.stack(losses).mean() if losses else torch.zeros(())


def coord_of(model: Any) -> str:
    """The short name (`COORDS`) of the box convention the model answers in (`o3video.models.box_convention_of`)."""
    from o3video.models import box_convention_of

    return {v: k for k, v in COORDS.items()}[box_convention_of(model)]


STATE_FILE = "perception_state.pt"
CURVE_FILE = "perception.json"


def pretrain_perception(model_dir: str | Path, out: str | Path, *, steps: int = 3500, binding_steps: int = 0,
                        video_steps: int = 0, where_steps: int = 0, world_steps: int = 0, what_steps: int = 0,
                        when_steps: int = 0, seed: int = 0, eval_every: int = 250,
                        eval_per_count: int = 32, progress: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Train the model saved in `model_dir` in up to seven stages at a constant learning rate, and save it to `out`
    (`save_pretrained`, with `perception.json`: the stages' recipes, seed and the learning curve against CPU
    minutes):
    1. `steps` optimizer steps localising named single objects on frames of its own input size;
    2. `binding_steps` finding the named one among 1-3 objects, with attention supervision (`attention_loss`;
       without it binding stays at chance);
    3. `video_steps` the same, half of the questions asked in the video form (`Recipe.video`), so the boxes come
       from the image and not from where the image sits in the prompt;
    4. `where_steps` the same, half of the questions asked in V-STaR's chain-1 *where* layout (`Recipe.where`);
    5. `world_steps` the same, half of the questions about new videos of the synthetic world itself, in that
       layout (`Recipe.world`, `world_scene`), half of those the world's own questions about
       the video's events (`Recipe.events`).
    6. `what_steps` the same with three quarters of the questions about new world videos, half of those the
       world's own *what* questions (`Recipe.what`), answered as V-STaR's *what* prompt asks.
    7. `when_steps` the same with half of those its own chain-1 *when* questions instead (`Recipe.when`), the attention
       supervision on the asked object in the frames inside the answer's span.
    Every `eval_every` steps it is scored on held-out frames (1-3 objects) against the mean box, in the video
    stage also on the same frames asked as 8 labelled frames, from the where stage on also in that layout, with and
    without a clause and with the objects moving (`add_motion`), and in the world stage also on 96
    held-out world videos (`world_eval_set`), asked "Where is the <object>?" and the world's event questions, in the
    what stage also their *what* questions, seeing and on blank frames (`evaluate_what`), in the when stage their
    *when* questions likewise (`evaluate_when`).
    A stage of 0 steps is skipped, so `steps=0` and one later stage continue a saved base by that stage alone. Resumable: the state at each evaluation is kept in
    `out/perception_state.pt` until the run finishes, and a resumed run continues the same data stream."""
    from o3video.io import atomic_path, atomic_write_json
    from o3video.models import frame_settings, load_model

    out = Path(out)
    if (out / CURVE_FILE).is_file() and json.loads((out / CURVE_FILE).read_text()).get("finished"):
        return out
    supervised = binding_steps + video_steps + where_steps + world_steps + what_steps + when_steps > 0
    model, processor = load_model(model_dir, dtype="float32", attn_implementation="eager" if supervised else None)
    world = _world_of(processor)
    size = (world.width, world.height)
    single = Recipe(minutes=math.inf, coord=coord_of(model))
    binding = Recipe(minutes=math.inf, coord=single.coord, objects=(1, 3), attention_supervision=1.0)
    video = Recipe(minutes=math.inf, coord=single.coord, objects=(1, 3), attention_supervision=1.0, video=0.5)
    where = Recipe(minutes=math.inf, coord=single.coord, objects=(1, 3), attention_supervision=1.0, video=0.5, where=0.5)
    worlds = Recipe(minutes=math.inf, coord=single.coord, objects=(1, 3), attention_supervision=1.0, video=0.5,
                    where=0.5, world=0.5, events=0.5)
    whats = replace(worlds, world=0.75, what=0.5)
    whens = replace(worlds, world=0.75, when=0.5)
    stages = [("single", single, steps), ("binding", binding, binding_steps), ("video", video, video_steps),
              ("where", where, where_steps), ("world", worlds, world_steps), ("what", whats, what_steps),
              ("when", whens, when_steps)]
    ends = list(accumulate(n for _, _, n in stages))
    total = ends[-1]

    def reached(stage: str, *, own: bool = False) -> bool:
        """Whether the run has reached the start of `stage` and trains something from there: any stage from it on
        (what it trains is kept by the later stages, so it is scored to the end), or, with `own`, that stage itself
        (what only that stage asks, e.g. the *what* questions, is scored only in a run that trains it)."""
        index = [name for name, _, _ in stages].index(stage)
        start = ends[index - 1] if index else 0
        trains = stages[index][2] > 0 if own else ends[-1] > start
        return trains and learner.steps >= start

    def stage_at(step: int) -> tuple[str, Recipe]:
        """The stage that step number `step` (1-based) belongs to."""
        index = next((i for i, end in enumerate(ends) if step <= end), len(stages) - 1)
        return stages[index][0], stages[index][1]

    learner = Learner(model, processor, world, single, seed=seed + 1)
    scenes = eval_set(world, [1, 2, 3], eval_per_count)
    if world_steps + what_steps + when_steps > 0:
        world_scenes = world_eval_set(world, 3 * eval_per_count)
        event_scenes = world_eval_set(world, 3 * eval_per_count, events=1.0)
    if what_steps > 0:
        what_scenes = world_eval_set(world, 3 * eval_per_count, what=1.0)
    if when_steps > 0:
        when_scenes = world_eval_set(world, 3 * eval_per_count, when=1.0)
    curve: list[dict[str, Any]] = []
    state_path = out / STATE_FILE
    if state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        learner.load_state(state["learner"])
        curve = state["curve"]
    else:
        torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    recipes = {name: asdict(recipe) | {"minutes": None, "steps": n} for name, recipe, n in stages}
    info = {"source": str(model_dir), "seed": seed, "steps": total, "recipe": recipes,
            "frame": list(size), "frame_settings": frame_settings(processor),
            "mean_box": score([mean_box(world, [1, 2, 3])] * len(scenes), scenes), "curve": curve, "finished": False}

    def checkpoint() -> None:
        row = {"steps": learner.steps, "stage": stage_at(max(1, learner.steps))[0],
               "cpu_min": round(learner.cpu / 60, 2),
               "loss": round(float(np.mean(learner.losses[-20:])), 3) if learner.losses else None,
               "model": evaluate(model, processor, scenes, single.coord, size)}
        if reached("video", own=True):  # only in a run that trains it (it costs 8 images each)
            row["model_as_video"] = evaluate(model, processor, scenes, single.coord, size, frames=8)
        if reached("where"):
            row["model_as_where"] = evaluate(model, processor, scenes, single.coord, size, where=True)
            row["model_as_where_clause"] = evaluate(model, processor, scenes, single.coord, size, where=True, clause=True)
            row["model_as_moving"] = evaluate(model, processor, scenes, single.coord, size, where=True, motion=True)
        if reached("world"):
            row["model_as_world"] = evaluate_asked(model, processor, world_scenes, single.coord, size)
            row["model_as_world_events"] = evaluate_asked(model, processor, event_scenes, single.coord, size)
        if reached("what", own=True):
            row["model_as_what"] = evaluate_what(model, processor, what_scenes, single.coord)
            row["model_as_what_blank"] = evaluate_what(model, processor, what_scenes, single.coord, blank=True)
        if reached("when", own=True):
            row["model_as_when"] = evaluate_when(model, processor, when_scenes, single.coord)
            row["model_as_when_blank"] = evaluate_when(model, processor, when_scenes, single.coord, blank=True)
        curve.append(row)
        if progress is not None:
            progress(row)
        with atomic_path(state_path) as tmp:
            torch.save({"learner": learner.state(), "curve": curve}, tmp)
        atomic_write_json(out / CURVE_FILE, info)

    if not curve:
        checkpoint()
    from tqdm import tqdm

    with tqdm(total=total, initial=learner.steps, desc="perception", unit="step", dynamic_ncols=True) as bar:
        while learner.steps < total:
            learner.recipe = stage_at(learner.steps + 1)[1]
            bar.set_postfix(loss=f"{learner.step():.3f}", refresh=False)
            bar.update()
            if learner.steps % eval_every == 0 or learner.steps in ends:
                checkpoint()
    model.save_pretrained(out)
    processor.save_pretrained(out)
    info["finished"] = True
    atomic_write_json(out / CURVE_FILE, info)
    state_path.unlink(missing_ok=True)
    return out


REPLAY_FILE = "perception_sft.json"


def perception_records(out: str | Path, n: int, *, seed: int, objects: tuple[int, int] = (1, 1),
                       preset: str = "easy", video: float = 0.0, where: float = 0.0) -> Path:
    """`n` perception questions as STGR records for SFT (`out/perception_sft.json`, media in `out/images/` and
    `out/videos/`): frames of the synthetic preset's size, so the processor resizes them as it resizes the world's.
    Mixed into SFT, they keep asking what the base learned while the other tasks are learned (replay).

    A share `video` of them are asked of a still video of the frame (2-8 s at the preset's fps, rendered by the
    world's own encoder) as spatio-temporal QA, answered as the world's *where* questions are: the object cited
    with its box at a time, `The <obj>…</obj><box>[…]</box>at<t>T</t>s is in the top left.`, then the region in
    plain text. Why: with visual-QA replay alone, SFT on the world's video tasks erased the video-stage base's
    video-form localisation (IoU asked as 8 frames 0.54 -> 0.06; the world's test videos 0.09 after SFT, the centre
    box's level); with half of it on still videos they scored 0.19 (one SFT run each, bench/perception.py layouts).
    A share `where` of those still videos is asked as V-STaR's chain-1 *where* prompt instead, written by
    `o3video.lab.vstar_practice` (the one writer of that form): the seconds of a span listed in the question, the
    reasoning citing the box at each, the answer their JSON. Why: after SFT the demo's *where* answers did not copy
    the boxes their reasoning cites, nor the seconds the question lists (bench/where_answers.py); this asks for
    exactly that copy on videos whose answer is known to the base.
    The others are visual QA of the image, answered as the base was taught.
    Written once; an existing file is returned as it is."""
    from o3video.data.synth import get_preset
    from o3video.io import atomic_write_json

    out = Path(out)
    path = out / REPLAY_FILE
    if path.is_file():
        return path
    frames = get_preset(preset)
    world = World(frames.width, frames.height)
    rng = random.Random(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(n):
        scene = make_scene(rng, world, rng.randint(*objects))
        colour, shape, box = scene.objects[scene.target]
        name = object_name(colour, shape)
        record = {"id": f"perception-{index:05d}", "source": "synth-perception", "question": scene.question,
                  "image_size": [world.width, world.height]}
        if video > 0 and rng.random() < video:
            video_path, length = f"videos/{index:05d}.mp4", rng.randint(2, 8)
            _encode_still_video(scene, out, video_path, frames.fps, length, rng)
            asked = _where_record if where > 0 and rng.random() < where else _still_video_record
            record |= asked(scene, video_path, frames.fps, length, rng)
        else:
            image = f"images/{index:05d}.png"
            scene.image.save(out / image)
            claim = render_claim(Claim(name, (box,)))
            record |= {"task": Task.VISUAL.value, "answer": claim, "reasoning_process": claim, "image_path": image}
        records.append(record)
    atomic_write_json(path, records)
    return path


def _encode_still_video(scene: Scene, out: Path, video: str, fps: int, seconds: int, rng: random.Random) -> None:
    """`seconds` of `scene` standing still, written to `out/video` by the synthetic world's encoder (the objects
    drawn where the scene has them)."""
    from o3video.data.synth.render import encode_video
    from o3video.data.synth.scene_plan import ObjectPlan, ScenePlan

    width, height = scene.image.size
    count = seconds * fps
    plans = [ObjectPlan(i, s, b[2] - b[0], i, 0, count, [(0, b[0], b[1]), (count - 1, b[0], b[1])], [(0, c)])
             for i, (c, s, b) in enumerate(scene.objects)]
    plan = ScenePlan(Path(video).stem, "perception", width, height, fps, count, "plain", rng.randrange(2**31), plans)
    (out / video).parent.mkdir(parents=True, exist_ok=True)
    encode_video(plan, out / video)


def _still_video_record(scene: Scene, video: str, fps: int, seconds: int, rng: random.Random) -> dict[str, Any]:
    """The fields of a spatio-temporal record asking `scene`'s question of its still video `video`."""
    from o3video.data.synth.vocab import region_answer, region_of

    width, height = scene.image.size
    colour, shape, box = scene.objects[scene.target]
    second = rng.randrange(seconds)
    name = object_name(colour, shape)
    region = region_of((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, width, height)
    claim = render_claim(Claim(name, (box,), float(second)))
    relative = from_pixels(box, BoxFormat.XYXY_NORM, (width, height))
    return {"task": Task.SPATIO_TEMPORAL.value, "video_path": video, "box_format": "xyxy_px",
            "reasoning_process": f"The {claim} is in the {region}.", "answer": region_answer(region),
            "key_frames": [{"idx": second * fps, "time": float(second)}],
            "key_items": {str(second * fps): {name: [relative]}}, "insert_key_frames": False}


def _where_record(scene: Scene, video: str, fps: int, length: int, rng: random.Random) -> dict[str, Any]:
    """The fields of a record asking V-STaR's chain-1 *where* prompt of the still video `video` (`length` s of
    `scene`) about a span of 1-4 of its whole seconds."""
    start = rng.randrange(length)
    span = (start, min(length - 1, start + rng.randrange(4)))
    record = where_practice_record(scene, span, video=video, fps=fps, length=length)
    return {k: v for k, v in record.items() if k not in ("id", "source")}


def _world_of(processor: Any, preset: str = "easy") -> World:
    """Frames of the size the processor turns the synthetic world's frames (`preset`, the demo's easy one: 112x84)
    into: 128x96 for Qwen3-VL's 32-pixel factor, 112x84 for Qwen2.5-VL's 28."""
    from o3video.data.synth import get_preset
    from o3video.models import frame_settings
    from o3video.video.resize import input_size

    frames = get_preset(preset)
    w, h = input_size((frames.width, frames.height), **frame_settings(processor))
    return World(w, h)


# ---- the synthetic world's own videos
# Perception questions about the synthetic world's own kind of video, asked in V-STaR's chain-1 *where* layout.
## Why: the where stage's model localises at 0.26 vIoU on still frames asked in that layout, and at 0.17 when its own
# frames' objects slide and change colour (`add_motion`), but at 0.05 on the demo world's test videos (3 seeds, 90
# records). Those videos differ in more than motion: objects enter, leave, hide one another and touch, the frames
# are drawn at 112x84 and resized, the frames shown fall between the asked seconds. A `WorldScene` is a fresh scene
# of the world's planner (`o3video.data.synth.planner.plan_scene`, never one of the demo's: its own random stream)
# whose frames are drawn in memory by the world's rasteriser, so the perception stage can ask about exactly such
# videos, with the same attention supervision (each frame's owner map) as its other questions.

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


def _shown(scenes: list[WorldScene], blank: bool) -> list[WorldScene]:
    """The scenes as asked: on blank frames for `blank` (the objects' places kept, so nothing else changes)."""
    if not blank or not scenes:
        return scenes
    blank_image = Image.new("RGB", scenes[0].image.size, (BLANK_GREY,) * 3)
    return [replace(s, blank=True, image=blank_image) for s in scenes]


def frame_reader_span(times: list[float], span: tuple[float, float], duration: float) -> tuple[float, float]:
    """The span a perfect reader of the frames at `times` would answer for the true `span`: from halfway between the
    first frame inside it and the one before to halfway between the last and the one after (the video's ends at its
    ends); with no frame inside, half a frame gap around the nearest frame. What sampled frames allow at best."""
    inside = [k for k, t in enumerate(times) if span[0] <= t <= span[1]]
    if not inside:
        k = min(range(len(times)), key=lambda i: min(abs(times[i] - span[0]), abs(times[i] - span[1])))
        gap = duration / len(times) / 2
        return max(0.0, times[k] - gap), min(duration, times[k] + gap)
    first, last = inside[0], inside[-1]
    start = (times[first - 1] + times[first]) / 2 if first > 0 else 0.0
    end = (times[last] + times[last + 1]) / 2 if last + 1 < len(times) else duration
    return start, end


def evaluate_when(model: Any, processor: Any, scenes: list[WorldScene], coord: str, *, blank: bool = False,
                  batch: int = 64, max_new_tokens: int = 96) -> dict[str, Any]:
    """Greedy answers to world scenes asked their chain-1 *when* question (on blank frames for `blank`), scored as
    V-STaR scores *when*: tIoU of the answer's `[S, E]` with the true span, overall and by event kind, with the share
    of answers that parse, and for scale the tIoU of answering the whole video (`whole`) and of the best single span
    per event kind fitted on these very scenes (`prior`, `o3video.data.vstar.question_span_prior`: an upper bound
    for an answer that reads only the question) and of a perfect reader of the shown frames (`reader`,
    `frame_reader_span`: what the frames allow); `spans` holds each answer's parsed span (None: unparsed)."""
    from o3video.data.vstar import parse_temporal_answer, question_span_prior
    from o3video.geometry import temporal_iou

    asked = _shown(scenes, blank)
    texts = greedy_answers(model, processor, asked, coord, max_new_tokens=max_new_tokens, batch=batch)
    spans = [parse_temporal_answer(t) for t in texts]
    truths = [s.vstar["timestamps"] for s in asked]
    scores = [temporal_iou(span, truth) if span else 0.0 for span, truth in zip(spans, truths, strict=True)]
    by_event: dict[str, list[float]] = {}
    for scene, value in zip(asked, scores):
        by_event.setdefault(scene.vstar["event"], []).append(value)
    prior = question_span_prior([s.vstar for s in asked])
    return {"tiou": round(float(np.mean(scores)), 4),
            "by_event": {k: [round(float(np.mean(v)), 4), len(v)] for k, v in sorted(by_event.items())},
            "parse": round(sum(bool(span) for span in spans) / max(1, len(spans)), 4),
            "whole": round(float(np.mean([temporal_iou((0.0, s.duration), t) for s, t in zip(asked, truths)])), 4),
            "prior": round(sum(score * n for _, score, n in prior.values()) / max(1, len(asked)), 4),
            "reader": round(float(np.mean([temporal_iou(frame_reader_span(frame_times(s), tuple(t), s.duration), t)
                                           for s, t in zip(asked, truths)])), 4),
            "spans": [[round(v, 2) for v in span] if span else None for span in spans],
            "example": texts[0] if texts else ""}


def evaluate_what(model: Any, processor: Any, scenes: list[WorldScene], coord: str, *, blank: bool = False,
                  batch: int = 64, max_new_tokens: int = 96) -> dict[str, Any]:
    """Greedy answers to world scenes asked their *what* question (on blank frames for `blank`), rated as the
    evaluation's `exact` judge rates them (`o3video.rewards.exact_rating`): accuracy = the share rated 2 or more,
    with the share of its answers equal to its most frequent one (`one_answer`: a model that answers one phrase to
    every question scores that phrase's frequency) and the accuracy of always answering the most frequent true
    answer (`most_frequent`)."""
    from collections import Counter

    from o3video.rewards import exact_rating

    asked = _shown(scenes, blank)
    texts = greedy_answers(model, processor, asked, coord, max_new_tokens=max_new_tokens, batch=batch)
    answers = [parse(t).answer or "" for t in texts]
    right = [exact_rating(s.record["answer"], a) >= 2 for s, a in zip(asked, answers, strict=True)]
    top = Counter(answers).most_common(1)[0][1] if answers else 0
    truths = Counter(s.record["answer"] for s in asked).most_common(1)
    return {"accuracy": round(float(np.mean(right)), 4), "one_answer": round(top / max(1, len(answers)), 4),
            "most_frequent": round(truths[0][1] / len(asked), 4) if truths else 0.0,
            "example": texts[0] if texts else ""}


__all__ = [
    "Learner",
    "Recipe",
    "Scene",
    "World",
    "WorldScene",
    "answer_box",
    "answer_text",
    "asked_scene",
    "eval_set",
    "evaluate",
    "evaluate_what",
    "evaluate_when",
    "event_questions",
    "example",
    "make_scene",
    "mean_box",
    "perception_records",
    "practice_questions",
    "pretrain_perception",
    "score",
    "unresized_frame_kwargs",
    "world_eval_set",
    "world_scene",
]
