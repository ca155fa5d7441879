"""V-STaR items: one question chain per event with an object, a span and that object's boxes.

Per item: *what* (question/answer), *when* (temporal_question, span), *where* (spatial_question for
chain 1, spatial_question_2 for chain 2), the object named by the boxes, and a grounded chain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from o3video.data.synth.questions.base import Moment, SceneFacts, Unmentionable
from o3video.data.synth.questions.sighting import answer_word, it_is, phrases, sightings
from o3video.data.synth.vocab import colour_answer, region_answer


@dataclass(frozen=True)
class VStarItem:
    kind: str
    obj: int
    object_name: str
    question: str
    answer: str
    temporal_question: str
    spatial_question: str
    spatial_question_2: str
    span: tuple[int, int]  # frames, inclusive
    chain: tuple  # reasoning parts


def _chain(facts: SceneFacts, obj: int, start: int, end: int, lead: str, close: str) -> tuple:
    return (lead, " It starts at ", Moment(start), ", where the ", facts.mention(obj, start),
            " is, and lasts until ", Moment(end), ", with the ", facts.mention(obj, end), ". ", close)


def _try_chain(facts: SceneFacts, obj: int, start: int, end: int, lead: str, close: str) -> tuple | None:
    try:
        return _chain(facts, obj, start, end, lead, close)
    except Unmentionable:
        return None


def _touch(facts: SceneFacts) -> list[VStarItem]:
    out = []
    for a in facts.ids:
        partners = facts.partners(a)
        if len(partners) != 1:
            continue
        (b,) = partners
        touches = facts.of("touch", a, b)
        e = touches[0]
        if len(touches) != 1 or not facts.span_ok(e.start, e.end):
            continue
        na, nb = facts.stable_name(a, e.start, e.end), facts.stable_name(b, e.start, e.end)
        if na is None or nb is None:
            continue
        chain = _try_chain(facts, a, e.start, e.end, f"I look for the moment the {na} touches another object.",
                       f"The object it touches is the {nb}.")
        if chain is None:
            continue
        out.append(VStarItem("touch", a, na, f"Which object does the {na} touch?", nb,
                             f"When does the {na} touch the {nb}?", f"Where is the {na} while it touches the {nb}?",
                             f"Where is the {na} when it touches the {nb}?", (e.start, e.end), chain))
    return out


def _stop(facts: SceneFacts) -> list[VStarItem]:
    out = []
    for obj in facts.ids:
        e = facts.first_stop(obj)
        if e is None or not facts.span_ok(e.start, e.end):
            continue
        name = facts.stable_name(obj, e.start, e.end)
        if name is None:
            continue
        region = facts.region(obj, e.start)
        chain = _try_chain(facts, obj, e.start, e.end, f"I look for the first time the {name} stands still.",
                       f"It is in the {region} of the frame.")
        if chain is None:
            continue
        out.append(VStarItem("stop", obj, name, f"Where does the {name} stop for the first time?", region_answer(region),
                             f"When does the {name} stand still for the first time?",
                             f"Where is the {name} while it stands still for the first time?",
                             f"Where is the {name} when it stands still for the first time?", (e.start, e.end), chain))
    return out


def _cover(facts: SceneFacts) -> list[VStarItem]:
    out = []
    for a in facts.ids:
        covers = facts.of("covered", a)
        if len(covers) != 1 or not facts.span_ok(covers[0].start, covers[0].end):
            continue
        e = covers[0]
        c = int(e.other)  # type: ignore[arg-type]
        na, nc = facts.stable_name(a, e.start, e.end), facts.stable_name(c, e.start, e.end)
        if na is None or nc is None:
            continue
        chain = _try_chain(facts, a, e.start, e.end, f"I look for the time the {na} is partly hidden.",
                       f"The object in front of it is the {nc}.")
        if chain is None:
            continue
        out.append(VStarItem("occlusion", a, na, f"Which object passes in front of the {na}?", nc,
                             f"When is the {na} partly hidden behind the {nc}?",
                             f"Where is the {na} while the {nc} is in front of it?",
                             f"Where is the {na} when the {nc} is in front of it?", (e.start, e.end), chain))
    return out


def _colour(facts: SceneFacts) -> list[VStarItem]:
    out = []
    for change in facts.of("colour_change"):
        obj = change.subject
        old, new = facts.name(obj, change.start - 1), facts.name(obj, change.start)
        frames = [f for f in range(facts.n) if facts.visible(obj, f) and facts.name(obj, f) == new]
        if frames[-1] - frames[0] + 1 != len(frames) or not facts.span_ok(frames[0], frames[-1]):
            continue
        chain = _try_chain(facts, obj, frames[0], frames[-1], f"I look for the time the {old} has changed colour.",
                       f"It has turned {change.value}.")
        if chain is None:
            continue
        out.append(VStarItem("colour", obj, new, f"What colour does the {old} turn?", colour_answer(str(change.value)),
                             f"When can the {new} be seen?", f"Where is the {new} while it is {change.value}?",
                             f"Where is the {new}?", (frames[0], frames[-1]), chain))
    return out


def _visible(facts: SceneFacts) -> list[VStarItem]:
    """The kind `visible`: an object named by its colour or shape (or the only one); *what* asks its other
    attribute, *when* the one span it is in view, *where* its boxes over that span."""
    out = []
    for s in sightings(facts):
        for phrase in phrases(facts, s):
            answer = answer_word(s, phrase.asked)
            chain = (f"I look for the {phrase.text}. It is in view from ", Moment(s.start), " to ", Moment(s.end),
                     ": the ", s.first, " and the ", s.last, f". {it_is(s, phrase.asked)}")
            out.append(VStarItem("visible", s.obj, s.name, phrase.what_question(), answer, phrase.when_question(),
                                 f"Where is the {phrase.text} while it can be seen?", f"Where is the {phrase.text}?",
                                 (s.start, s.end), chain))
    return out


# Each item family with the question kind it belongs to (`WorldPreset.asks`), in the order they are listed.
FAMILIES: tuple[tuple[str, Callable[[SceneFacts], list[VStarItem]]], ...] = (
    ("touch", _touch), ("stop", _stop), ("occlusion", _cover), ("colour", _colour), ("visible", _visible),
)


def vstar_items(facts: SceneFacts) -> list[VStarItem]:
    return [item for kind, family in FAMILIES if facts.asks(kind) for item in family(facts)]
