"""What question generators produce, and the facts about a scene they read.

A `Question` keeps its reasoning as parts: plain text, `Mention`s (an object, a frame, its exact
visible box) and `Moment`s (a frame). Writers render the parts in the convention of their output
(normalised boxes for STGR, original pixels for V-STaR), so one question can be written either way
and every grounded mention is, by construction, a key frame with a key item.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from o3video.data.synth.events import Event, derive_events
from o3video.data.synth.presets import WorldPreset
from o3video.data.synth.truth import SceneTruth
from o3video.data.synth.vocab import OPTION_LETTERS, object_name, region_of
from o3video.tasks import Task

# Spans used as temporal ground truth follow the STGR source filters: at least 1 s, and under 70%
# of the video (docs/design.md §1).
MAX_SPAN_SHARE = 0.7
MIN_SIDE = 6  # px: smallest box side a reasoning mention may cite
MIN_SHOWN = 0.2  # least share of an object's shape shown for it to be cited


class Unmentionable(ValueError):
    """A question would have to cite an object that is barely visible; generators skip it."""


@dataclass(frozen=True)
class Mention:
    obj: int
    frame: int
    name: str
    box: tuple[int, int, int, int]  # visible extent, original pixels, exclusive ends


@dataclass(frozen=True)
class Moment:
    frame: int


Part = str | Mention | Moment


@dataclass
class Question:
    task: Task
    template: str
    question: str
    answer: str = ""  # temporal and visual answers are written from `span` / `target` by the writers
    reasoning: list[Part] = field(default_factory=list)
    span: tuple[int, int] | None = None  # frames, inclusive
    option: str | None = None  # the correct letter of a temporal MCQ
    image_frame: int | None = None  # visual QA: the frame shown as the image
    target: Mention | None = None  # visual QA: the object to box

    @property
    def mentions(self) -> list[Mention]:
        return [p for p in self.reasoning if isinstance(p, Mention)]

    @property
    def key_frames(self) -> list[int]:
        return sorted({m.frame for m in self.mentions})


class SceneFacts:
    """Read-only queries over one scene's ground truth and derived events."""

    def __init__(self, truth: SceneTruth, preset: WorldPreset) -> None:
        self.truth = truth
        self.plan = truth.plan
        self.preset = preset
        self.fps = self.plan.fps
        self.n = self.plan.num_frames
        self.events: list[Event] = derive_events(truth)
        self.ids = [o.id for o in self.plan.objects]

    def asks(self, kind: str) -> bool:
        """Whether the preset asks questions of this kind (`o3video.data.synth.presets.QUESTION_KINDS`)."""
        return kind in self.preset.asks

    # --- names and boxes ------------------------------------------------------------------------

    def name(self, obj: int, frame: int) -> str:
        return self.plan.objects[obj].name_at(frame)

    def stable_name(self, obj: int, start: int, end: int) -> str | None:
        """The object's name if it keeps one colour over frames start..end, else None."""
        names = {self.name(obj, f) for f in range(start, end + 1)}
        return names.pop() if len(names) == 1 else None

    def box(self, obj: int, frame: int) -> tuple[int, int, int, int] | None:
        box = self.truth.tracks[obj].box[frame]
        return None if box is None else tuple(box)  # type: ignore[return-value]

    def mentionable(self, obj: int, frame: int) -> bool:
        """Clearly visible: at least `MIN_SIDE` px each way and a fifth of the shape shown. Slivers at an
        edge or behind another object are real ground truth, but too small to cite as evidence."""
        box = self.box(obj, frame) if 0 <= frame < self.n else None
        if box is None or box[2] - box[0] < MIN_SIDE or box[3] - box[1] < MIN_SIDE:
            return False
        track = self.truth.tracks[obj]
        return track.visible_px[frame] >= MIN_SHOWN * track.shape_px

    def mention(self, obj: int, frame: int) -> Mention:
        """A grounded mention of `obj` at `frame`; `Unmentionable` unless it is clearly visible."""
        if not self.mentionable(obj, frame):
            raise Unmentionable(f"object {obj} is not clearly visible at frame {frame}")
        return Mention(obj, frame, self.name(obj, frame), self.box(obj, frame))  # type: ignore[arg-type]

    def visible(self, obj: int, frame: int) -> bool:
        return 0 <= frame < self.n and self.truth.tracks[obj].visible(frame)

    def fully_shown(self, obj: int, frame: int) -> bool:
        """Entirely inside the frame and covered by nothing."""
        t = self.truth.tracks[obj]
        return t.visible(frame) and t.visible_px[frame] == t.shape_px

    def first_visible(self, obj: int) -> int | None:
        spans = self.of("visible", obj)
        return spans[0].start if spans else None

    def last_visible(self, obj: int) -> int | None:
        spans = self.of("visible", obj)
        return spans[-1].end if spans else None

    def initial_name(self, obj: int) -> str | None:
        first = self.first_visible(obj)
        return None if first is None else self.name(obj, first)

    def region(self, obj: int, frame: int) -> str:
        x1, y1, x2, y2 = self.box(obj, frame)  # type: ignore[misc]
        return region_of((x1 + x2) / 2, (y1 + y2) / 2, self.plan.width, self.plan.height)

    def names_in_scene(self) -> set[str]:
        return {name for o in self.plan.objects for name in o.names()}

    def absent_names(self) -> list[str]:
        """Names from the preset's vocabulary that no object in this scene ever has."""
        present = self.names_in_scene()
        return [object_name(c, s) for s in self.preset.shapes for c in self.preset.colours
                if object_name(c, s) not in present]

    def seen(self) -> list[int]:
        """Objects that are visible at some point."""
        return [i for i in self.ids if self.first_visible(i) is not None]

    # --- events ---------------------------------------------------------------------------------

    def of(self, kind: str, subject: int | None = None, other: int | None = None) -> list[Event]:
        out = []
        for e in self.events:
            if e.kind != kind:
                continue
            if kind == "touch":
                pair = {e.subject, e.other}
                if (subject is not None and subject not in pair) or (other is not None and other not in pair):
                    continue
            elif (subject is not None and e.subject != subject) or (other is not None and e.other != other):
                continue
            out.append(e)
        return out

    def partners(self, obj: int) -> set[int]:
        return {e.other if e.subject == obj else e.subject for e in self.of("touch", obj)}  # type: ignore[misc]

    def span_ok(self, start: int, end: int) -> bool:
        """A span usable as temporal ground truth: at least 1 s, under 70% of the video."""
        length = (end - start) / self.fps
        return length >= 1.0 and length < MAX_SPAN_SHARE * self.plan.duration

    def first_stop(self, obj: int) -> Event | None:
        """The first still span, if the object was moving before it (so that it really *stops*)."""
        stills = self.of("still", obj)
        if not stills or stills[0].start == self.first_visible(obj):
            return None
        return stills[0]

    def moving(self, obj: int, frame: int) -> bool | None:
        """True if moving into and out of `frame`, False if still on both sides, None if it changes."""
        full = self.truth.tracks[obj].full_box
        if frame < 1 or frame + 1 >= self.n or None in (full[frame - 1], full[frame], full[frame + 1]):
            return None
        before, after = full[frame - 1] != full[frame], full[frame] != full[frame + 1]
        return before if before == after else None

    def time(self, frame: int) -> float:
        return self.plan.time_of(frame)


def with_options(rng: np.random.Generator, question: str, correct: str, wrong: list[str]) -> tuple[str, str]:
    """(question with lettered options, correct letter): `correct` and 3 of `wrong`, shuffled."""
    picks = [wrong[i] for i in rng.permutation(len(wrong))[: len(OPTION_LETTERS) - 1]]
    if len(picks) < len(OPTION_LETTERS) - 1:
        raise ValueError("not enough wrong options")
    options = picks + [correct]
    order = rng.permutation(len(options))
    options = [options[i] for i in order]
    letter = OPTION_LETTERS[options.index(correct)]
    lines = "\n".join(f"{OPTION_LETTERS[i]}. {text}" for i, text in enumerate(options))
    return f"{question}\nOptions:\n{lines}", letter
