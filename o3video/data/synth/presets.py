"""Difficulty presets of the synthetic world.

`easy` is sized so that a ~1-10 M-parameter model can learn it in minutes on a CPU: two or three
objects with unique shapes and colours on a plain background, 112x84 frames, 6-8 s at 4 fps.
Frame sides are multiples of 28 (Qwen2.5-VL's patch merge), 4:3, and within the paper's
128*28*28-pixel budget, so the model sees every frame at its original size: boxes need no resizing.
`medium` and `hard` add objects, shared shapes/colours (distractors), overlap (occlusion), textured
backgrounds, longer videos and larger frames, for real models. Every knob is a field, so a caller
can start from a preset and `dataclasses.replace` what it needs.

Below `easy`, the ladder (`LADDER`) has rungs a tiny model can climb one at a time, each with `easy`'s
frame size, rate and length and a subset of what `easy` asks: `one`, a single object in view for one
span of the video (it slides in or out through an edge, or appears and disappears in place), asked
its colour or shape, when it can be seen and where it is; `two`, two or three such objects, each with
a span of its own, the question naming one by its colour or its shape (binding). A preset's `asks`
lists the kinds of question it asks (`QUESTION_KINDS`); `script` the interactions the planner stages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from o3video.data.synth.vocab import COLOURS, SHAPES

# The kinds of question a preset may ask; visual QA (box an object in a frame) is asked on every preset.
QUESTION_KINDS: dict[str, str] = {
    "touch": "which object touches which, and when",
    "stop": "where and when an object stands still for the first time, and how many objects are in view then",
    "occlusion": "which object passes in front of which, and when",
    "colour": "which object changes colour, into what, and when the new colour is seen",
    "enter": "which object comes into view last or leaves, and what another does when one comes into view",
    "count": "how many objects the video shows",
    "name": "when an object of one name (colour and shape) is in view, and the shape of a colour",
    "size": "which object is the largest",
    "visible": "an object named by its colour or its shape (or the only object): its other attribute, when it "
               "can be seen and where it is",
}
EVENT_KINDS = ("touch", "stop", "occlusion", "colour", "enter", "count", "name", "size")  # what `easy` asks
SCRIPTS = ("touch", "cover")  # the interactions the planner can stage


@dataclass(frozen=True)
class WorldPreset:
    name: str
    width: int  # frame size in pixels; both even (H.264 4:2:0 needs even sizes)
    height: int
    fps: int  # whole frames per second, so every whole second is a frame
    duration_s: tuple[float, float]  # video length range
    num_objects: tuple[int, int]
    size_fraction: tuple[float, float]  # object side / min(W, H)
    speed_fraction: tuple[float, float]  # moving speed, in frame widths per second
    hold_s: tuple[float, float]  # how long an object stands still between moves
    shapes: tuple[str, ...] = SHAPES
    colours: tuple[str, ...] = tuple(COLOURS)
    unique_attributes: bool = True  # no two objects share a shape or a colour
    allow_overlap: bool = False  # objects may pass over each other (occlusion)
    colour_change_prob: float = 0.5
    colour_return_prob: float = 0.9  # a changed object takes its first colour back, at a random later time
    enter_prob: float = 0.3  # an object slides in from an edge after the start
    leave_prob: float = 0.3  # an object slides out through an edge before the end
    background: str = "plain"  # plain | gradient | texture
    questions_per_video: int = 6
    crf: int = 10  # H.264 quality; small so that colours survive compression
    asks: tuple[str, ...] = EVENT_KINDS  # the kinds of question asked (QUESTION_KINDS)
    script: tuple[str, ...] = SCRIPTS  # the interactions staged: touch (needs two objects), cover (with overlap)
    # Each object in view for one span of this share of the video, centred anywhere in it and cut at its ends (None:
    # in view from the start to the end, unless it enters or leaves as `enter_prob` / `leave_prob` say).
    view_share: tuple[float, float] | None = None
    pop_prob: float = 0.5  # with `view_share`: chance that an end of the span is a pop in place, not an edge crossing

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2:
            raise ValueError(f"preset {self.name}: frame size {self.width}x{self.height} must be even")
        if self.fps < 1 or self.duration_s[0] < 2 or self.duration_s[0] > self.duration_s[1]:
            raise ValueError(f"preset {self.name}: need fps >= 1 and 2 <= min duration <= max duration")
        fewest = 2 if "touch" in self.script else 1  # a staged touch needs two objects
        if self.num_objects[0] < fewest or self.num_objects[0] > self.num_objects[1]:
            raise ValueError(f"preset {self.name}: need {fewest} <= min objects <= max objects")
        if self.unique_attributes and self.num_objects[1] > min(len(self.shapes), len(self.colours)):
            raise ValueError(f"preset {self.name}: unique shapes/colours need more shapes and colours")
        if self.background not in ("plain", "gradient", "texture"):
            raise ValueError(f"preset {self.name}: unknown background {self.background!r}")
        for field_name, values, known in (("asks", self.asks, QUESTION_KINDS), ("script", self.script, SCRIPTS)):
            unknown = [v for v in values if v not in known]
            if unknown:
                raise ValueError(f"preset {self.name}: unknown {field_name} {unknown}; "
                                 f"expected some of {', '.join(known)}")
        if self.view_share is not None and not 0 < self.view_share[0] <= self.view_share[1] < 1:
            raise ValueError(f"preset {self.name}: view_share must satisfy 0 < min <= max < 1")

    def to_dict(self) -> dict:
        """The fields as JSON-ready values. The ladder's fields are left out while they hold their defaults, so a
        dataset made before they existed (its `synth_config.json`) still resumes."""
        data = asdict(self)
        for f in fields(self):
            if f.name in LADDER_FIELDS and data[f.name] == f.default:
                del data[f.name]
        return data


LADDER_FIELDS = ("asks", "script", "view_share", "pop_prob")


PRESETS: dict[str, WorldPreset] = {
    "easy": WorldPreset(
        name="easy",
        width=112,
        height=84,
        fps=4,
        duration_s=(6.0, 8.0),
        num_objects=(2, 3),
        size_fraction=(0.22, 0.3),
        speed_fraction=(0.25, 0.45),
        hold_s=(1.0, 2.0),
        colours=("red", "green", "blue", "yellow", "purple", "white"),
        questions_per_video=6,
    ),
    "medium": WorldPreset(
        name="medium",
        width=224,
        height=168,
        fps=8,
        duration_s=(12.0, 24.0),
        num_objects=(3, 5),
        size_fraction=(0.12, 0.24),
        speed_fraction=(0.15, 0.35),
        hold_s=(1.0, 3.0),
        unique_attributes=False,
        allow_overlap=True,
        colour_change_prob=0.4,
        background="gradient",
        questions_per_video=8,
    ),
    "hard": WorldPreset(
        name="hard",
        width=336,
        height=252,
        fps=10,
        duration_s=(20.0, 90.0),
        num_objects=(5, 8),
        size_fraction=(0.08, 0.2),
        speed_fraction=(0.08, 0.25),
        hold_s=(1.0, 6.0),
        unique_attributes=False,
        allow_overlap=True,
        colour_change_prob=0.4,
        enter_prob=0.4,
        leave_prob=0.4,
        background="texture",
        questions_per_video=10,
    ),
}


# The ladder's lower rungs: easy's frames, speeds, sizes and colours; one object, then two or three, each in view for
# part of the video.
PRESETS["one"] = replace(PRESETS["easy"], name="one", num_objects=(1, 1), colour_change_prob=0.0, questions_per_video=4,
                         asks=("visible",), script=(), view_share=(0.15, 0.5))
PRESETS["two"] = replace(PRESETS["one"], name="two", num_objects=(2, 3), questions_per_video=6)

# The rungs, lowest first. `one` and `two` ask `visible`; `easy` asks its relational kinds (among them `name`, the
# same *when* of a named object) and, to keep its records as they were, not `visible` itself.
LADDER = ("one", "two", "easy")


def get_preset(name: str) -> WorldPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown synth preset {name!r}; expected one of {', '.join(PRESETS)}") from None


def preset_from_dict(data: dict) -> WorldPreset:
    """Inverse of `WorldPreset.to_dict` (JSON turns tuples into lists)."""
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return WorldPreset(**fields)


__all__ = ["EVENT_KINDS", "LADDER", "PRESETS", "QUESTION_KINDS", "WorldPreset", "get_preset", "preset_from_dict"]
