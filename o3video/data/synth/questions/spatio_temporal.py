"""Spatio-temporal free-form QA: the answer needs *when* and *where*; the reasoning cites every
object it relies on as a grounded mention (name, exact box, exact frame time).

Each `_<template>` builds one question for one subject, or returns None; it may raise
`Unmentionable` when the evidence would be a barely visible object, and that candidate is skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from o3video.data.synth.questions.base import Moment, Question, SceneFacts, Unmentionable
from o3video.data.synth.questions.sighting import phrases, sightings, who
from o3video.data.synth.vocab import colour_answer, count_answer, region_answer, state_answer
from o3video.tasks import Task

ST = Task.SPATIO_TEMPORAL


def _touch_partner(facts: SceneFacts, a: int) -> Question | None:
    partners = facts.partners(a)
    if len(partners) != 1:
        return None
    (b,) = partners
    touch = max(facts.of("touch", a, b), key=lambda e: e.frames)
    name_a, name_b = facts.stable_name(a, touch.start, touch.end), facts.stable_name(b, touch.start, touch.end)
    if touch.frames < 2 or name_a is None or name_b is None:
        return None
    later = touch.start + touch.frames // 2
    parts: list = []
    before = touch.start - max(1, facts.fps // 2)
    if facts.mentionable(a, before) and facts.mentionable(b, before):
        parts += ["The ", facts.mention(a, before), " is apart from the ", facts.mention(b, before), ". "]
    parts += [
        "The ", facts.mention(a, touch.start), " meets the ", facts.mention(b, touch.start),
        ", and the ", facts.mention(a, later), " is still against the ", facts.mention(b, later),
        f". So the {name_a} touches the {name_b}.",
    ]
    return Question(ST, "touch_partner", f"Which object does the {name_a} touch?", name_b, parts)


def _colour_turn(facts: SceneFacts, obj: int) -> Question | None:
    changes = facts.of("colour_change", obj)
    if not changes:
        return None
    change = changes[0]
    f = change.start
    old = facts.name(obj, f - 1)
    shape = facts.plan.objects[obj].shape
    parts = [
        "The ", facts.mention(obj, f - 1), f" is {old.split()[0]} here. In the next frame the same {shape} is "
        "the ", facts.mention(obj, f), f", so it turns {change.value}.",
    ]
    return Question(ST, "colour_turn", f"What colour does the {old} turn?", colour_answer(str(change.value)), parts)


def _first_stop_place(facts: SceneFacts, obj: int) -> Question | None:
    still = facts.first_stop(obj)
    if still is None or still.frames < facts.fps:
        return None
    name = facts.stable_name(obj, still.start, still.end)
    if name is None:
        return None
    region = facts.region(obj, still.start)
    parts = [
        "The ", facts.mention(obj, still.start), " stops moving, and the ", facts.mention(obj, still.end),
        f" has not moved since. Its box is in the {region} of the frame.",
    ]
    return Question(ST, "first_stop_place", f"Where does the {name} stop for the first time?",
                    region_answer(region), parts)


def _cover_partner(facts: SceneFacts, a: int) -> Question | None:
    covers = facts.of("covered", a)
    if not covers or len({e.other for e in covers}) != 1:
        return None
    event = max(covers, key=lambda e: e.frames)
    c = int(event.other)  # type: ignore[arg-type]
    name_a, name_c = facts.stable_name(a, event.start, event.end), facts.stable_name(c, event.start, event.end)
    if name_a is None or name_c is None:
        return None
    mid = event.start + event.frames // 2
    parts = ["The ", facts.mention(a, event.start), " is partly hidden: the ", facts.mention(c, event.start),
             " is in front of it. "]
    if mid > event.start:
        parts += ["Later the ", facts.mention(a, mid), " is still partly behind the ", facts.mention(c, mid), ". "]
    parts.append(f"So the {name_c} passes in front of the {name_a}.")
    return Question(ST, "cover_partner", f"Which object passes in front of the {name_a}?", name_c, parts)


def _count_at_stop(facts: SceneFacts, obj: int) -> Question | None:
    still = facts.first_stop(obj)
    if still is None or still.frames < facts.fps:
        return None
    f = still.start
    others = [o for o in facts.ids if o != obj and facts.visible(o, f)]
    parts: list = ["When the ", facts.mention(obj, f), " stops for the first time, "]
    if others:
        parts.append("the other visible objects are " if len(others) > 1 else "the other visible object is ")
        for i, o in enumerate(others):
            parts += ["the ", facts.mention(o, f)]
            parts.append(", " if i < len(others) - 2 else (" and " if i == len(others) - 2 else ". "))
    else:
        parts.append("no other object is visible. ")
    answer = count_answer(len(others) + 1)
    parts.append(f"That makes {answer}.")
    question = f"How many objects can be seen when the {facts.name(obj, f)} stops for the first time?"
    return Question(ST, "count_at_stop", question, answer, parts)


def _state_when_enters(facts: SceneFacts, b: int) -> list[Question]:
    enter = facts.first_visible(b)
    if enter is None or enter == 0:
        return []
    shown = next((f for f in range(enter, min(facts.n, enter + facts.fps + 1)) if facts.mentionable(b, f)), None)
    if shown is None:
        return []
    name_b = facts.name(b, enter)
    out = []
    for a in facts.ids:
        moving = facts.moving(a, enter)
        if a == b or moving is None or not (facts.mentionable(a, enter) and facts.mentionable(a, enter + 1)):
            continue
        change = "has moved" if moving else "is in the same place"
        parts = [
            "The ", facts.mention(b, shown), " has come into view. When it first appeared, the ",
            facts.mention(a, enter), " was there, and a moment later the ", facts.mention(a, enter + 1),
            f" {change}, so {state_answer(moving)}.",
        ]
        question = f"What is the {facts.name(a, enter)} doing when the {name_b} comes into view?"
        out.append(Question(ST, "state_when_enters", question, state_answer(moving), parts))
    return out


def _sighting_places(facts: SceneFacts, obj: int) -> list[Question]:
    """The *where* of the kind `visible`: the region in which an object named by its colour or shape is first, or
    last, clearly seen."""
    sighting = next((s for s in sightings(facts) if s.obj == obj), None)
    if sighting is None:
        return []
    out = []
    for phrase in {p.text: p for p in phrases(facts, sighting)}.values():  # "object" names the only one twice
        ends = (("first", sighting.first, sighting.start), ("last", sighting.last, sighting.end))
        for which, mention, moment in ends:
            region = facts.region(obj, mention.frame)
            parts = [f"{who(phrase, sighting)} It is {which} seen at ", Moment(moment), "; the ", mention,
                     f" is in the {region} of the frame."]
            out.append(Question(ST, f"{which}_seen_place", f"Where is the {phrase.text} {which} seen?",
                                region_answer(region), parts))
    return out


# Each question template with the question kind it belongs to (`WorldPreset.asks`), in the order they are listed.
PER_OBJECT: tuple[tuple[str, Callable[[SceneFacts, int], Question | list[Question] | None]], ...] = (
    ("touch", _touch_partner), ("colour", _colour_turn), ("stop", _first_stop_place), ("occlusion", _cover_partner),
    ("stop", _count_at_stop), ("enter", _state_when_enters), ("visible", _sighting_places),
)


def generate(facts: SceneFacts) -> list[Question]:
    out: list[Question] = []
    for kind, make in PER_OBJECT:
        if not facts.asks(kind):
            continue
        for obj in facts.ids:
            try:
                made = make(facts, obj)
            except Unmentionable:
                continue
            if isinstance(made, Question):
                out.append(made)
            elif made:
                out.extend(made)
    return out
