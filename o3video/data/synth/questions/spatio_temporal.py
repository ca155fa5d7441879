"""Spatio-temporal free-form QA: the answer needs *when* and *where*; the reasoning cites every
object it relies on as a grounded mention (name, exact box, exact frame time)."""

from __future__ import annotations

from o3video.data.synth.questions.base import Question, SceneFacts
from o3video.data.synth.vocab import number_word
from o3video.tasks import Task

ST = Task.SPATIO_TEMPORAL


def touch_partner(facts: SceneFacts) -> list[Question]:
    out = []
    for a in facts.ids:
        partners = facts.partners(a)
        if len(partners) != 1:
            continue
        (b,) = partners
        touch = max(facts.of("touch", a, b), key=lambda e: e.frames)
        if touch.frames < 2:
            continue
        name_a, name_b = facts.stable_name(a, touch.start, touch.end), facts.stable_name(b, touch.start, touch.end)
        if name_a is None or name_b is None:
            continue
        later = touch.start + touch.frames // 2
        parts: list = []
        before = touch.start - max(1, facts.fps // 2)
        if facts.visible(a, before) and facts.visible(b, before) and facts.stable_name(a, before, touch.end):
            parts += ["The ", facts.mention(a, before), " is apart from the ", facts.mention(b, before), ". "]
        parts += [
            "The ", facts.mention(a, touch.start), " meets the ", facts.mention(b, touch.start),
            ", and the ", facts.mention(a, later), " is still against the ", facts.mention(b, later),
            f". So the {name_a} touches the {name_b}.",
        ]
        out.append(Question(ST, "touch_partner", f"Which object does the {name_a} touch?", name_b, parts))
    return out


def colour_turn(facts: SceneFacts) -> list[Question]:
    out = []
    for change in facts.of("colour_change"):
        obj, f = change.subject, change.start
        old, new = facts.name(obj, f - 1), facts.name(obj, f)
        shape = facts.plan.objects[obj].shape
        parts = [
            "The ", facts.mention(obj, f - 1), f" is {old.split()[0]} here. In the next frame the same {shape} is the ",
            facts.mention(obj, f), f", so it turns {change.value}.",
        ]
        out.append(Question(ST, "colour_turn", f"What colour does the {old} turn?", str(change.value), parts))
    return out


def first_stop_place(facts: SceneFacts) -> list[Question]:
    out = []
    for obj in facts.ids:
        still = facts.first_stop(obj)
        if still is None or still.frames < facts.fps:
            continue
        name = facts.stable_name(obj, still.start, still.end)
        if name is None:
            continue
        region = facts.region(obj, still.start)
        parts = [
            "The ", facts.mention(obj, still.start), " stops moving, and the ", facts.mention(obj, still.end),
            f" has not moved since. Its box is in the {region} of the frame.",
        ]
        out.append(Question(ST, "first_stop_place", f"Where does the {name} stop for the first time?", region, parts))
    return out


def cover_partner(facts: SceneFacts) -> list[Question]:
    out = []
    for a in facts.ids:
        covers = facts.of("covered", a)
        if not covers or len({e.other for e in covers}) != 1:
            continue
        event = max(covers, key=lambda e: e.frames)
        c = int(event.other)  # type: ignore[arg-type]
        name_a, name_c = facts.stable_name(a, event.start, event.end), facts.stable_name(c, event.start, event.end)
        if name_a is None or name_c is None or not facts.visible(c, event.start):
            continue
        mid = event.start + event.frames // 2
        parts = [
            "The ", facts.mention(a, event.start), " is partly hidden: the ", facts.mention(c, event.start),
            " is in front of it. Later the ", facts.mention(a, mid), " is still partly behind the ",
            facts.mention(c, mid), f". So the {name_c} passes in front of the {name_a}.",
        ]
        out.append(Question(ST, "cover_partner", f"Which object passes in front of the {name_a}?", name_c, parts))
    return out


def count_at_stop(facts: SceneFacts) -> list[Question]:
    out = []
    for obj in facts.ids:
        still = facts.first_stop(obj)
        if still is None or still.frames < facts.fps:
            continue
        f = still.start
        name = facts.name(obj, f)
        others = [o for o in facts.ids if o != obj and facts.visible(o, f)]
        parts: list = ["When the ", facts.mention(obj, f), " stops for the first time, "]
        if others:
            parts.append("the other visible objects are ")
            for i, o in enumerate(others):
                parts += ["the ", facts.mention(o, f)]
                parts.append(", " if i < len(others) - 2 else (" and " if i == len(others) - 2 else ". "))
        else:
            parts.append("no other object is visible. ")
        count = number_word(len(others) + 1)
        parts.append(f"That makes {count}.")
        question = f"How many objects can be seen when the {name} stops for the first time?"
        out.append(Question(ST, "count_at_stop", question, count, parts))
    return out


def state_when_enters(facts: SceneFacts) -> list[Question]:
    out = []
    for b in facts.ids:
        enter = facts.first_visible(b)
        if enter is None or enter == 0:
            continue
        name_b = facts.name(b, enter)
        for a in facts.ids:
            moving = facts.moving(a, enter)
            if a == b or moving is None or not (facts.visible(a, enter) and facts.visible(a, enter + 1)):
                continue
            name_a = facts.name(a, enter)
            state = "moving" if moving else "standing still"
            change = "has moved" if moving else "is in the same place"
            parts = [
                "The ", facts.mention(b, enter), " comes into view. At that moment the ", facts.mention(a, enter),
                " is there, and a moment later the ", facts.mention(a, enter + 1), f" {change}, so it is {state}.",
            ]
            question = f"What is the {name_a} doing when the {name_b} comes into view?"
            out.append(Question(ST, "state_when_enters", question, state, parts))
    return out


GENERATORS = (touch_partner, colour_turn, first_stop_place, cover_partner, count_at_stop, state_when_enters)


def generate(facts: SceneFacts) -> list[Question]:
    return [q for gen in GENERATORS for q in gen(facts)]
