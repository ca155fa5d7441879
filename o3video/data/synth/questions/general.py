"""General video QA about the whole video: free-form and MCQ versions of the same facts, with answers
from the closed vocabulary so that an exact-match judge works.

Reasoning is plain text by default (the format reward asks no grounding of general QA). With
`grounded=True` the MCQ version's reasoning opens with grounded evidence (the objects the answer rests
on, with their boxes and times) where the objects are clearly visible, as Open-o3 Video's model cites
evidence on general MCQ benchmarks; a model trained on it gives test-time scaling and the faithfulness
probe evidence to read. The free-form version stays plain either way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from o3video.data.synth.questions.base import Mention, Part, Question, SceneFacts, with_options
from o3video.data.synth.questions.sighting import answer_word, it_is, phrases, sightings, who
from o3video.data.synth.vocab import SHAPES, colour_answer, count_answer, is_colour_answer, number_word, shape_answer
from o3video.tasks import Task


@dataclass(frozen=True)
class Fact:
    template: str
    question: str
    answer: str
    wrong: tuple[str, ...]  # plausible wrong answers, for the MCQ version
    why: str  # plain-text reasoning
    phrase: str = ""  # the free-form answer (at least two words); defaults to `answer`
    evidence: tuple[Part, ...] = ()  # grounded parts the MCQ reasoning opens with (empty: none citable)

    @property
    def free_answer(self) -> str:
        return self.phrase or self.answer


def _shown(facts: SceneFacts, obj: int, frames: range | list[int]) -> Mention | None:
    """A grounded mention of `obj` at the first of `frames` where it is clearly visible."""
    frame = next((f for f in frames if 0 <= f < facts.n and facts.mentionable(obj, f)), None)
    return None if frame is None else facts.mention(obj, frame)


def _cite(*parts: Part | None) -> tuple[Part, ...]:
    """The evidence sentence, or nothing if any object it needs is not clearly visible."""
    return () if any(p is None for p in parts) else tuple(parts)  # type: ignore[return-value]


def _names(facts: SceneFacts) -> dict[int, str]:
    return {o: facts.initial_name(o) for o in facts.seen()}  # type: ignore[misc]


def _count(facts: SceneFacts) -> list[Fact]:
    names = _names(facts)
    n = len(names)
    wrong = tuple(number_word(k) for k in range(max(1, n - 2), n + 4) if k != n)
    listing = ", ".join(f"the {v}" for v in names.values())
    shown = [_shown(facts, o, range(facts.first_visible(o), facts.n)) for o in names]  # type: ignore[arg-type]
    parts: list[Part | None] = ["I see "]
    for i, m in enumerate(shown):
        parts += [", " if i else "", "the ", m]
    return [Fact("count_objects", "How many objects appear in the video?", number_word(n), wrong,
                 f"The objects are {listing}. That is {count_answer(n)}.", count_answer(n), _cite(*parts, ". "))]


def _changes_colour(facts: SceneFacts) -> list[Fact]:
    changes = facts.of("colour_change")
    names = _names(facts)
    if len({e.subject for e in changes}) != 1:
        return []
    obj = changes[0].subject
    answer = names[obj]
    wrong = tuple(v for o, v in names.items() if o != obj) + tuple(facts.absent_names())
    change = changes[0]
    evidence = _cite("The ", _shown(facts, obj, range(change.start - 1, change.start - 1 - facts.fps, -1)), " becomes the ",
                     _shown(facts, obj, range(change.start, change.start + facts.fps)), ". ")
    return [Fact("which_changes_colour", "Which object changes colour?", answer, wrong,
                 f"The {answer} turns {change.value}; no other object changes colour.", evidence=evidence)]


def _turns_into(facts: SceneFacts) -> list[Fact]:
    out = []
    for e in facts.of("colour_change"):
        old = facts.name(e.subject, e.start - 1)
        wrong = tuple(c for c in facts.preset.colours if c not in (e.value, old.split()[0]))
        evidence = _cite("The ", _shown(facts, e.subject, range(e.start - 1, e.start - 1 - facts.fps, -1)), " becomes the ",
                         _shown(facts, e.subject, range(e.start, e.start + facts.fps)), ". ")  # type: ignore[arg-type]
        out.append(Fact("turns_into", f"What colour does the {old} turn into?", str(e.value), wrong,
                        f"The {old} changes colour and becomes {e.value}.", colour_answer(str(e.value)), evidence))
    return out


def _touch_partner(facts: SceneFacts) -> list[Fact]:
    names = _names(facts)
    out = []
    for a in facts.seen():
        partners = facts.partners(a)
        if len(partners) != 1:
            continue
        (b,) = partners
        touch = facts.of("touch", a, b)[0]
        na, nb = facts.stable_name(a, touch.start, touch.end), facts.stable_name(b, touch.start, touch.end)
        if na is None or nb is None or na != names[a] or nb != names[b]:
            continue
        wrong = tuple(v for o, v in names.items() if o not in (a, b)) + tuple(facts.absent_names())
        frame = next((f for f in range(touch.start, touch.end + 1)
                      if facts.mentionable(a, f) and facts.mentionable(b, f)), None)
        evidence = () if frame is None else ("The ", facts.mention(a, frame), " touches the ", facts.mention(b, frame), ". ")
        out.append(Fact("touch_partner", f"Which object does the {na} touch?", nb, wrong,
                        f"The {na} comes into contact with the {nb} and with no other object.", evidence=evidence))
    return out


def _enters_last(facts: SceneFacts) -> list[Fact]:
    names = _names(facts)
    firsts = {o: facts.first_visible(o) for o in names}
    latest = max(firsts.values())
    last = [o for o, f in firsts.items() if f == latest]
    if latest == 0 or len(last) != 1:
        return []
    obj = last[0]
    wrong = tuple(v for o, v in names.items() if o != obj) + tuple(facts.absent_names())
    evidence = _cite("The ", _shown(facts, obj, range(latest, min(facts.n, latest + 2 * facts.fps))), " comes into view. ")
    return [Fact("enters_last", "Which object comes into view last?", names[obj], wrong,
                 f"All other objects are in view before the {names[obj]} appears.", evidence=evidence)]


def _leaves(facts: SceneFacts) -> list[Fact]:
    names = _names(facts)
    gone = [o for o in names if facts.last_visible(o) < facts.n - 1]  # type: ignore[operator]
    if len(gone) != 1:
        return []
    obj = gone[0]
    final = facts.name(obj, facts.last_visible(obj))  # type: ignore[arg-type]
    if final != names[obj]:
        return []
    wrong = tuple(v for o, v in names.items() if o != obj) + tuple(facts.absent_names())
    last = facts.last_visible(obj)
    evidence = _cite("The ", _shown(facts, obj, range(last, max(-1, last - 2 * facts.fps), -1)), " is last seen here. ")  # type: ignore[operator]
    return [Fact("leaves", "Which object is no longer visible at the end of the video?", names[obj], wrong,
                 f"The {names[obj]} disappears before the end; the others are still visible.", evidence=evidence)]


def _largest(facts: SceneFacts) -> list[Fact]:
    names = _names(facts)
    if len(names) < 2:
        return []
    area = {o: facts.truth.tracks[o].shape_px for o in names}
    order = sorted(area, key=area.get, reverse=True)  # type: ignore[arg-type]
    if area[order[0]] < 1.3 * area[order[1]]:
        return []
    wrong = tuple(v for o, v in names.items() if o != order[0]) + tuple(facts.absent_names())
    big = order[0]
    frame = next((f for f in range(facts.n) if facts.fully_shown(big, f) and facts.mentionable(big, f)), None)
    evidence = () if frame is None else ("The ", facts.mention(big, frame), " is the biggest shape. ")
    return [Fact("largest", "Which object is the largest?", names[big], wrong,
                 f"The {names[big]} covers clearly more of the frame than any other object.", evidence=evidence)]


def _shape_of_colour(facts: SceneFacts) -> list[Fact]:
    out = []
    by_colour: dict[str, set[str]] = {}
    for o in facts.plan.objects:
        for _, colour in o.colours:
            by_colour.setdefault(colour, set()).add(o.shape)
    for colour, shapes in sorted(by_colour.items()):
        if len(shapes) == 1:
            (shape,) = shapes
            wrong = tuple(s for s in SHAPES if s != shape)
            evidence = next((("The ", facts.mention(o.id, f), f" is {colour}. ") for o in facts.plan.objects
                             for f in range(facts.n) if facts.name(o.id, f).split()[0] == colour
                             and facts.mentionable(o.id, f)), ())
            out.append(Fact("shape_of_colour", f"What shape is the {colour} object?", shape, wrong,
                            f"The only {colour} object in the video is the {colour} {shape}.", shape_answer(shape), evidence))
    return out


def _attribute(facts: SceneFacts) -> list[Fact]:
    """The *what* of the kind `visible`: the colour or the shape of an object named by the other (or the only
    one)."""
    out = []
    for sighting in sightings(facts):
        for phrase in phrases(facts, sighting):
            answer = answer_word(sighting, phrase.asked)
            colour = phrase.asked == "colour"
            wrong = tuple(v for v in (facts.preset.colours if colour else facts.preset.shapes) if v != answer)
            out.append(Fact(f"what_{phrase.asked}", phrase.what_question(), answer, wrong,
                            f"{who(phrase, sighting)} {it_is(sighting, phrase.asked)}",
                            is_colour_answer(answer) if colour else shape_answer(answer),
                            ("The ", sighting.first, f" is the {phrase.text}. ")))
    return out


# Each family with the question kind it belongs to (`WorldPreset.asks`), in the order their questions are listed.
FAMILIES: tuple[tuple[str, Callable[[SceneFacts], list[Fact]]], ...] = (
    ("count", _count), ("colour", _changes_colour), ("colour", _turns_into), ("touch", _touch_partner),
    ("enter", _enters_last), ("enter", _leaves), ("size", _largest), ("name", _shape_of_colour),
    ("visible", _attribute),
)


def facts_about_video(facts: SceneFacts) -> list[Fact]:
    return [fact for kind, family in FAMILIES if facts.asks(kind) for fact in family(facts)]


def free_form_questions(facts: SceneFacts) -> list[Question]:
    return [Question(Task.GENERAL_FREE, f.template, f.question, f.free_answer, [f.why]) for f in facts_about_video(facts)]


def mcq_questions(facts: SceneFacts, rng: np.random.Generator, *, grounded: bool = False) -> list[Question]:
    out = []
    for f in facts_about_video(facts):
        wrong = [w for w in dict.fromkeys(f.wrong) if w != f.answer]
        if len(wrong) < 3:
            continue
        text, letter = with_options(rng, f.question, f.answer, wrong)
        why = f"{f.why} The answer is option {letter}."
        out.append(Question(Task.GENERAL_MCQ, f.template, text, letter, [*f.evidence, why] if grounded else [why]))
    return out


__all__ = ["Fact", "facts_about_video", "free_form_questions", "mcq_questions"]
