"""A VLM stand-in that answers from the synthetic world's exact ground truth, with injected errors.

As annotator it reads the frames it was shown from the prompt (their labels), picks key frames in
the item's span where the event's objects are clearly visible, gives their exact boxes, and writes a
grounded reasoning and a QA pair. For a planned share of items it then injects one error:

* `shifted_box` — a box moved off its object (by more than its own size), in key_frames and reasoning;
* `oversized_box` — a box grown to cover over 80% of the frame, in key_frames and reasoning;
* `wrong_name` — an object given a name no object in the scene has, in key_frames and reasoning;
* `time_outside_key_frames` — a reasoning claim cites a time that is not a key frame's;
* `hallucinated_object` — an object that does not exist, with a box on empty background, in
  key_frames and reasoning;
* `broken_json` — the reply cut off (as by the token limit) or with a missing comma; for half of these
  items a second request (a retry) gets the clean reply.

As verifier it answers "Is this a {object}?" by finding the object whose visible box best overlaps
the crop's box (IoU >= 0.5) at that frame and comparing names; a sentence is consistent when every
crop it cites is. `verifier_error_rate` flips a share of verdicts, to see clean samples dropped.

What was injected is appended to a ledger (JSON lines) that the build's report scores against.
Requests say which item (and which crop) they are about in the `X-O3Video-Context` header.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from o3video.construction.consistency import same_name
from o3video.construction.validation import ERROR_KINDS
from o3video.construction.vlm import CONTEXT_HEADER
from o3video.data.synth.questions.base import SceneFacts
from o3video.geometry import box_iou
from o3video.grammar import Claim, render_claim
from o3video.lab.offline.synthetic_sources import SyntheticWorld
from o3video.mixes import largest_remainder

MATCH_IOU = 0.5
_MAX_KEY_FRAMES = 3


def parse_error_rates(text: str | None) -> dict[str, float]:
    """`kind=rate,...` (or `all=rate`) → {kind: rate}; rates in [0, 1] summing to at most 1."""
    rates = {kind: 0.0 for kind in ERROR_KINDS}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        kind, _, value = part.partition("=")
        kind = kind.strip()
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"error rate {part!r}: expected kind=rate") from None
        if kind == "all":
            rates = {k: rate for k in ERROR_KINDS}
        elif kind in rates:
            rates[kind] = rate
        else:
            raise ValueError(f"unknown error kind {kind!r}; expected one of {', '.join(ERROR_KINDS)} or all")
    if any(r < 0 for r in rates.values()) or sum(rates.values()) > 1 + 1e-9:
        given = ",".join(f"{kind}={rate:g}" for kind, rate in rates.items() if rate)
        raise ValueError(f"error rates must be >= 0 and sum to at most 1, got {given}")
    return rates


def plan_injections(item_ids: list[str], rates: dict[str, float], seed: int = 0) -> dict[str, str]:
    """Which error each item gets ("clean" for none): exact counts (largest remainder of n x rate),
    assigned to a seeded permutation of the sorted ids."""
    ids = sorted(item_ids)
    shares = {**{k: rates.get(k, 0.0) for k in ERROR_KINDS}, "clean": max(0.0, 1.0 - sum(rates.values()))}
    counts = largest_remainder(len(ids), shares)
    order = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(23,))).permutation(len(ids))
    kinds = [kind for kind, count in counts.items() for _ in range(count)]
    return {ids[int(i)]: kind for i, kind in zip(order, kinds)}


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from `parts`."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _rng(seed: int, *parts: object) -> np.random.Generator:
    return np.random.default_rng(int(_unit(seed, *parts) * 2**63))


@dataclass
class _Object:
    obj: int | None  # None: hallucinated
    name: str
    box: list[float]  # normalised
    object_id: str | None = None


@dataclass
class _Frame:
    frame: int
    time: float
    objects: list[_Object]


@dataclass
class TruthAnswer:
    """An annotation as the ground truth gives it; sentences mix text and (frame, object) references."""

    question: str
    answer: str
    frames: list[_Frame]
    sentences: list[list[Any]]
    time_overrides: dict[tuple[int, int], float] = field(default_factory=dict)

    def claim(self, k: int, j: int) -> str:
        obj = self.frames[k].objects[j]
        time = self.time_overrides.get((k, j), self.frames[k].time)
        return render_claim(Claim(obj.name, (tuple(obj.box),), time), decimals=4, time_decimals=2)

    def reasoning(self) -> str:
        return " ".join("".join(self.claim(*p) if isinstance(p, tuple) else p for p in s) for s in self.sentences)

    def reply(self, dense: bool) -> dict[str, Any]:
        frames = []
        for f in self.frames:
            objects = [{"name": o.name, "box": [round(v, 4) for v in o.box], **({"object_id": o.object_id} if dense and o.object_id else {})}
                       for o in f.objects]
            frames.append({"frame_index": f.frame, "objects": objects} if dense else {"time": round(f.time, 2), "objects": objects})
        return {"question": self.question, "answer": self.answer, "key_frames": frames, "reasoning_process": self.reasoning()}


def _norm(box: tuple[int, int, int, int] | list[int], facts: SceneFacts) -> list[float]:
    w, h = facts.plan.width, facts.plan.height
    return [round(box[0] / w, 4), round(box[1] / h, 4), round(box[2] / w, 4), round(box[3] / h, 4)]


def _spread(frames: list[Any]) -> list[Any]:
    if len(frames) <= _MAX_KEY_FRAMES:
        return frames
    return [frames[0], frames[len(frames) // 2], frames[-1]]


def _object_sentences(answer_frames: list[_Frame], facts: SceneFacts) -> list[list[Any]]:
    return [["The ", (k, j), f" is in the {facts.region(o.obj, f.frame)} of the frame."]  # type: ignore[arg-type]
            for k, f in enumerate(answer_frames) for j, o in enumerate(f.objects)]


def _first_region(obj: int, frames: list[_Frame], facts: SceneFacts) -> str:
    frame = next(f.frame for f in frames if any(o.obj == obj for o in f.objects))
    return facts.region(obj, frame)


def temporal_truth(facts: SceneFacts, event: dict[str, Any], offered: list[tuple[int, float]]) -> TruthAnswer | None:
    """The ground-truth annotation of a temporal item from the frames offered (frame, time)."""
    start, end = event["frames"]
    objects = event["objects"]
    candidates = [(f, t) for f, t in offered if start <= f <= end and any(facts.mentionable(o, f) for o in objects)]
    if not candidates:
        return None
    frames = [_Frame(f, t, [_Object(o, facts.name(o, f), _norm(facts.box(o, f), facts)) for o in objects if facts.mentionable(o, f)])  # type: ignore[arg-type]
              for f, t in _spread(candidates)]
    names = [facts.name(o, start) for o in objects]
    template = event["template"]
    shown = [o for o in objects if any(x.obj == o for f in frames for x in f.objects)]
    if template == "touch_span" and len(names) >= 2:
        question, answer, conclusion = f"Which object does the {names[0]} touch?", f"the {names[1]}", f"So the {names[0]} touches the {names[1]}."
    elif template == "cover_span" and len(names) >= 2:
        question, answer, conclusion = f"Which object passes in front of the {names[1]}?", f"the {names[0]}", f"So the {names[0]} passes in front of the {names[1]}."
    else:
        region = _first_region(shown[0], frames, facts)
        subject = facts.name(shown[0], start)
        verb = "stand still for the first time" if template == "first_stop_span" else "appear in this part of the video"
        question, answer, conclusion = f"Where does the {subject} {verb}?", f"in the {region}", f"So the answer is: in the {region}."
    return TruthAnswer(question, answer, frames, _object_sentences(frames, facts) + [[conclusion]])


def dense_truth(facts: SceneFacts, offered: list[tuple[int, float]]) -> TruthAnswer | None:
    """The ground-truth annotation of a dense item: where one object goes, over up to three key frames."""
    for obj in facts.ids:
        seen = [(f, t) for f, t in offered if facts.mentionable(obj, f)]
        if len(seen) >= 2:
            break
    else:
        return None
    frames = []
    for f, t in _spread(seen):
        others = [o for o in facts.ids if o != obj and facts.mentionable(o, f)][:1]
        frames.append(_Frame(f, t, [_Object(o, facts.name(o, f), _norm(facts.box(o, f), facts), str(o)) for o in [obj, *others]]))  # type: ignore[arg-type]
    first, last = facts.region(obj, frames[0].frame), facts.region(obj, frames[-1].frame)
    answer = f"from the {first} to the {last}" if first != last else f"it stays in the {first}"
    question = f"Where does the {facts.name(obj, frames[0].frame)} go?"
    return TruthAnswer(question, answer, frames, _object_sentences(frames, facts) + [[f"So the answer is: {answer}."]])


def inject(kind: str, truth: TruthAnswer, facts: SceneFacts, offered: list[tuple[int, float]], rng: np.random.Generator) -> dict[str, Any]:
    """Change `truth` in place to carry one error of `kind`; returns what was injected."""
    k = int(rng.integers(len(truth.frames)))
    frame = truth.frames[k]
    target = frame.objects[0]
    if kind == "shifted_box":
        x1, y1, x2, y2 = target.box
        w, h, gap = x2 - x1, y2 - y1, 0.03
        moves = [(w + gap, 0), (-(w + gap), 0), (0, h + gap), (0, -(h + gap))]
        fits = [(dx, dy) for dx, dy in moves if 0 <= x1 + dx and x2 + dx <= 1 and 0 <= y1 + dy and y2 + dy <= 1]
        dx, dy = fits[int(rng.integers(len(fits)))] if fits else moves[0]
        target.box = [round(min(max(v, 0.0), 1.0), 4) for v in (x1 + dx, y1 + dy, x2 + dx, y2 + dy)]
        return {"time": frame.time, "name": target.name, "box": target.box}
    if kind == "oversized_box":
        m = rng.uniform(0.0, 0.04, size=4)
        target.box = [round(float(m[0]), 4), round(float(m[1]), 4), round(1 - float(m[2]), 4), round(1 - float(m[3]), 4)]
        return {"time": frame.time, "name": target.name, "box": target.box}
    if kind == "wrong_name":
        absent = facts.absent_names()
        true_name = target.name
        target.name = absent[int(rng.integers(len(absent)))]
        return {"time": frame.time, "name": target.name, "true_name": true_name}
    if kind == "time_outside_key_frames":
        key_times = [f.time for f in truth.frames]
        free = [t for _, t in offered if all(abs(t - kt) > 0.2 for kt in key_times)]
        time = free[int(rng.integers(len(free)))] if free else round(max(key_times) + 0.5, 2)
        truth.time_overrides[(k, 0)] = time
        return {"time": time}
    if kind == "hallucinated_object":
        absent = facts.absent_names()
        name = absent[int(rng.integers(len(absent)))]
        side = 0.22 * min(facts.plan.width, facts.plan.height)
        x = float(rng.uniform(0, facts.plan.width - side))
        y = float(rng.uniform(0, facts.plan.height - side))
        box = _norm([x, y, x + side, y + side], facts)  # type: ignore[list-item]
        frame.objects.append(_Object(None, name, box))
        truth.sentences.insert(-1, ["There is also ", (k, len(frame.objects) - 1), " here."])
        return {"time": frame.time, "name": name, "box": box}
    if kind == "broken_json":
        return {"recoverable": bool(rng.random() < 0.5), "variant": "truncated" if rng.random() < 0.5 else "missing_comma"}
    raise ValueError(f"unknown error kind {kind!r}")


_TEMPORAL_LABEL_RE = re.compile(r"Image (\d+) at ([\d.]+)s:")
_DENSE_LABEL_RE = re.compile(r"Frame index (\d+) at ([\d.]+)s:")
_OBJECT_QUESTION_RE = re.compile(r"Is this an? (.+?)\? Answer yes or no", re.DOTALL)


def _contents(message: dict[str, Any]) -> tuple[str, int]:
    """(text, number of images) of one chat message."""
    content = message.get("content")
    if isinstance(content, str):
        return content, 0
    texts = [p.get("text", "") for p in content or [] if p.get("type") == "text"]
    images = [p for p in content or [] if p.get("type") == "image_url" and str(p["image_url"]["url"]).startswith("data:image/")]
    return "".join(texts), len(images)


class TruthAnnotator:
    """Answers chat requests from the synthetic world's ground truth (module docstring)."""

    def __init__(
        self,
        world: SyntheticWorld,
        injections: dict[str, str] | None = None,
        *,
        seed: int = 0,
        ledger: str | Path | None = None,
        verifier_error_rate: float = 0.0,
        fence_share: float = 0.5,
    ) -> None:
        self.world = world
        self.injections = injections or {}
        self.seed = seed
        self.ledger = Path(ledger) if ledger else None
        self.verifier_error_rate = verifier_error_rate
        self.fence_share = fence_share
        self._lock = threading.Lock()
        self._logged: set[str] = set()
        if self.ledger is not None and self.ledger.exists():
            from o3video.construction.validation import read_ledger

            self._logged = set(read_ledger(self.ledger))

    # ------------------------------------------------------------------ dispatch

    def respond(self, body: dict[str, Any], headers: Mapping[str, str]) -> tuple[str, str]:
        """(reply text, finish reason) for an OpenAI chat-completions request body."""
        raw = headers.get(CONTEXT_HEADER)
        if not raw:
            raise ValueError(f"the ground-truth annotator needs the {CONTEXT_HEADER} header (build with send_context)")
        context = json.loads(raw)
        messages = [m for m in body.get("messages", []) if m.get("role") != "system"]
        first_text, first_images = _contents(messages[0])
        retry = any(m.get("role") == "assistant" for m in messages)
        purpose = context.get("purpose")
        if purpose == "annotate":
            return self.annotate(context["item"], first_text, first_images, retry)
        if purpose == "verify_object":
            match = _OBJECT_QUESTION_RE.search(first_text)
            if match is None or first_images != 1:
                raise ValueError("an object check needs one image and 'Is this a {object}?'")
            return self._yes_no(self.object_ok(context["item"], context["time"], context["box"], match.group(1)), context), "stop"
        if purpose == "verify_sentence":
            claims = context["claims"]
            if first_images != len(claims):
                raise ValueError(f"a sentence check citing {len(claims)} regions came with {first_images} images")
            ok = all(self.object_ok(context["item"], c["time"], c["box"], c["name"]) for c in claims)
            return self._yes_no(ok, context), "stop"
        raise ValueError(f"unknown request purpose {purpose!r}")

    def _yes_no(self, ok: bool, context: dict[str, Any]) -> str:
        if _unit(self.seed, "flip", json.dumps(context, sort_keys=True)) < self.verifier_error_rate:
            ok = not ok
        return "Yes." if ok else "No."

    # ------------------------------------------------------------------ verifier

    def object_ok(self, item_id: str, time: float, box: list[float], name: str) -> bool:
        scene, _ = self.world.describe(item_id)
        facts = self.world.facts(scene)
        frame = int(round(time * facts.fps))
        if not 0 <= frame < facts.n:
            return False
        w, h = facts.plan.width, facts.plan.height
        pixels = [box[0] * w, box[1] * h, box[2] * w, box[3] * h]
        best = max(((box_iou(pixels, facts.box(o, frame)), o) for o in facts.ids if facts.box(o, frame) is not None), default=(0.0, -1))
        return best[0] >= MATCH_IOU and same_name(facts.name(best[1], frame), name)

    # ------------------------------------------------------------------ annotator

    def annotate(self, item_id: str, prompt: str, images: int, retry: bool) -> tuple[str, str]:
        scene, event = self.world.describe(item_id)
        facts = self.world.facts(scene)
        dense = event is None
        labels = (_DENSE_LABEL_RE if dense else _TEMPORAL_LABEL_RE).findall(prompt)
        if not labels or len(labels) != images:
            raise ValueError(f"the prompt labels {len(labels)} frames but carries {images} images")
        offered = [(int(a) if dense else int(round(float(t) * facts.fps)), float(t)) for a, t in labels]
        truth = dense_truth(facts, offered) if dense else temporal_truth(facts, event, offered)  # type: ignore[arg-type]
        if truth is None:
            return json.dumps({"skip": "the objects of this event are not clearly visible in the frames shown"}), "stop"
        kind = self.injections.get(item_id, "clean")
        detail: dict[str, Any] = {}
        if kind != "clean":
            detail = inject(kind, truth, facts, offered, _rng(self.seed, item_id))
        self._log(item_id, kind, detail)
        text = json.dumps(truth.reply(dense))
        if kind == "broken_json" and not (retry and detail["recoverable"]):
            if detail["variant"] == "truncated":
                return text[: int(len(text) * 0.6)], "length"
            return text.replace('", "answer"', '" "answer"', 1), "stop"
        if _unit(self.seed, item_id, "fence") < self.fence_share:
            text = f"```json\n{text}\n```"
        if _unit(self.seed, item_id, "prose") < 0.3:
            text = "Here is the annotation.\n" + text
        return text, "stop"

    def _log(self, item_id: str, kind: str, detail: dict[str, Any]) -> None:
        if self.ledger is None:
            return
        with self._lock:
            if item_id in self._logged:
                return
            self._logged.add(item_id)
            self.ledger.parent.mkdir(parents=True, exist_ok=True)
            with open(self.ledger, "a", encoding="utf-8") as f:
                f.write(json.dumps({"item": item_id, "kind": kind, "detail": detail}) + "\n")


__all__ = ["ERROR_KINDS", "TruthAnnotator", "TruthAnswer", "dense_truth", "inject", "parse_error_rates", "plan_injections", "temporal_truth"]
