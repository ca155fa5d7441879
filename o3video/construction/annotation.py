"""An annotation as the pipeline keeps it, and its reading from a VLM's JSON reply.

Reply schema (prompts.py asks for it): `question`, `answer`, `key_frames` (1-5; each identified by
`time` as labelled, or by `frame_index` for dense sources, with 1-3 `objects` of `name` and `box`,
dense objects also `object_id`), and `reasoning_process` citing objects as
`<obj>name</obj><box>[x1,y1,x2,y2]</box>at<t>T</t>s`. Boxes are read in the reply's box convention
(normalised corners unless configured otherwise) and kept as normalised corners; a key frame must be
one of the frames the annotator was shown. `{"skip": reason}` is the annotator declining.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from o3video.construction.annotator_frames import OfferedFrame
from o3video.construction.filters import Rejection
from o3video.geometry import BoxFormat, GeometryError, from_pixels, to_pixels
from o3video.grammar import map_boxes

_BOX_SLACK = 0.02  # normalised boxes may overshoot the frame this much (rounding); they are clipped


class AnnotationError(ValueError):
    """A reply that is valid JSON but not a usable annotation."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.rejection = Rejection(code, detail)


@dataclass
class KeyObject:
    name: str
    box: list[float]  # normalised [x1, y1, x2, y2]
    object_id: str | None = None  # dense sources: the track it was copied from


@dataclass
class KeyFrame:
    time: float  # seconds, as labelled to the annotator
    idx: int  # frame index in the video
    path: str  # image file, relative to the build's output directory
    objects: list[KeyObject] = field(default_factory=list)


@dataclass
class Annotation:
    question: str
    answer: str
    reasoning: str  # boxes normalised
    key_frames: list[KeyFrame]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Annotation":
        frames = [KeyFrame(**{**f, "objects": [KeyObject(**o) for o in f["objects"]]}) for f in data["key_frames"]]
        return cls(question=data["question"], answer=data["answer"], reasoning=data["reasoning"], key_frames=frames)

    def frame_at(self, time: float, tolerance: float) -> KeyFrame | None:
        """The key frame nearest `time`, if within `tolerance` seconds."""
        best = min(self.key_frames, key=lambda f: abs(f.time - time), default=None)
        return best if best is not None and abs(best.time - time) <= tolerance else None


@dataclass(frozen=True)
class AnnotationRules:
    max_key_frames: int = 5
    max_objects: int = 3
    time_tolerance_s: float = 0.1  # a key frame's stated time vs the label of the frame shown
    reply_box_format: str = BoxFormat.XYXY_NORM.value


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AnnotationError("missing_field", f"the reply has no non-empty string {key!r}")
    return value.strip()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().rstrip("s").strip()
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def normalise_box(raw: Any, fmt: str, where: str) -> list[float]:
    """A reply box in `fmt` as normalised corners, clipped to the frame; AnnotationError if unusable."""
    if not isinstance(raw, (list, tuple)) or len(raw) != 4 or any(_number(v) is None for v in raw):
        raise AnnotationError("bad_box", f"{where}: expected 4 numbers, got {raw!r}")
    values = [float(_number(v)) for v in raw]  # type: ignore[arg-type]
    try:
        box = from_pixels(to_pixels(values, fmt, (1.0, 1.0)), BoxFormat.XYXY_NORM, (1.0, 1.0))
    except (GeometryError, ValueError) as err:
        raise AnnotationError("bad_box", f"{where}: {err}") from None
    if min(box) < -_BOX_SLACK or max(box) > 1 + _BOX_SLACK:
        raise AnnotationError("box_outside_frame", f"{where}: {raw!r} is outside the frame")
    x1, y1, x2, y2 = (min(max(v, 0.0), 1.0) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise AnnotationError("bad_box", f"{where}: reversed or empty box {raw!r}")
    return [round(v, 4) for v in (x1, y1, x2, y2)]


def _match_offered(entry: dict[str, Any], offered: list[OfferedFrame], dense: bool, rules: AnnotationRules, where: str) -> OfferedFrame:
    if dense and "frame_index" in entry:
        index = _number(entry.get("frame_index"))
        frame = next((f for f in offered if index is not None and f.index == int(index) and index == int(index)), None)
        if frame is None:
            shown = ", ".join(str(f.index) for f in offered)
            raise AnnotationError("key_frame_not_shown", f"{where}: frame_index {entry.get('frame_index')!r} is not one of the frames shown ({shown})")
        return frame
    time = _number(entry.get("time"))
    if time is None:
        raise AnnotationError("bad_key_frame", f"{where}: needs {'frame_index' if dense else 'time'}, got {entry!r}")
    frame = min(offered, key=lambda f: abs(f.time - time))
    if abs(frame.time - time) > rules.time_tolerance_s:
        raise AnnotationError("key_frame_not_shown", f"{where}: time {time:g}s is not the time of a frame shown")
    return frame


def annotation_from_reply(
    data: dict[str, Any],
    offered: list[OfferedFrame],
    *,
    dense: bool,
    frame_path: Any,
    rules: AnnotationRules = AnnotationRules(),
) -> Annotation:
    """Check a parsed reply against the schema and the frames shown; `frame_path(frame)` names the
    key-frame file. Raises AnnotationError with a counted code for anything unusable."""
    if "skip" in data and "question" not in data:
        raise AnnotationError("annotator_declined", str(data.get("skip"))[:200])
    question, answer = _text(data, "question"), _text(data, "answer")
    reasoning = _text(data, "reasoning_process") if "reasoning_process" in data else _text(data, "reasoning")
    entries = data.get("key_frames")
    if not isinstance(entries, list) or not entries:
        raise AnnotationError("bad_key_frame_count", "the reply has no key_frames list")
    if len(entries) > rules.max_key_frames:
        raise AnnotationError("bad_key_frame_count", f"{len(entries)} key frames (at most {rules.max_key_frames})")
    frames: dict[int, KeyFrame] = {}
    for i, entry in enumerate(entries):
        where = f"key_frames[{i}]"
        if not isinstance(entry, dict):
            raise AnnotationError("bad_key_frame", f"{where}: expected an object")
        shown = _match_offered(entry, offered, dense, rules, where)
        objects = entry.get("objects")
        if not isinstance(objects, list) or not objects or len(objects) > rules.max_objects:
            count = len(objects) if isinstance(objects, list) else 0
            raise AnnotationError("bad_object_count", f"{where}: {count} objects (need 1 to {rules.max_objects})")
        frame = frames.setdefault(shown.index, KeyFrame(time=shown.time, idx=shown.index, path=frame_path(shown)))
        for j, obj in enumerate(objects):
            at = f"{where}.objects[{j}]"
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"].strip():
                raise AnnotationError("bad_object", f"{at}: needs a non-empty 'name'")
            box = normalise_box(obj.get("box"), rules.reply_box_format, at)
            object_id = obj.get("object_id")
            frame.objects.append(KeyObject(" ".join(obj["name"].split()), box, None if object_id is None else str(object_id)))
        if len(frame.objects) > rules.max_objects:
            raise AnnotationError("bad_object_count", f"{where}: more than {rules.max_objects} objects on one frame")
    if rules.reply_box_format != BoxFormat.XYXY_NORM.value:
        reasoning = map_boxes(reasoning, lambda b: from_pixels(to_pixels(b, rules.reply_box_format, (1, 1)), BoxFormat.XYXY_NORM, (1, 1)),
                              decimals=4)
    key_frames = sorted(frames.values(), key=lambda f: f.time)
    return Annotation(question=question, answer=answer, reasoning=reasoning, key_frames=key_frames)


__all__ = ["Annotation", "AnnotationError", "AnnotationRules", "KeyFrame", "KeyObject", "annotation_from_reply", "normalise_box"]
