"""General video QA about the whole video (no grounding needed): free-form and MCQ versions of the
same facts, with answers from the closed vocabulary so that an exact-match judge works."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from o3video.data.synth.questions.base import Question, SceneFacts, with_options
from o3video.data.synth.vocab import SHAPES, colour_answer, count_answer, number_word, shape_answer
from o3video.tasks import Task


@dataclass(frozen=True)
class Fact:
    template: str
    question: str
    answer: str
    wrong: tuple[str, ...]  # plausible wrong answers, for the MCQ version
    why: str  # plain-text reasoning
    phrase: str = ""  # the free-form answer (at least two words); defaults to `answer`

    @property
    def free_answer(self) -> str:
        return self.phrase or self.answer


def _names(facts: SceneFacts) -> dict[int, str]:
    return {o: facts.initial_name(o) for o in facts.seen()}  # type: ignore[misc]


def _count(facts: SceneFacts) -> list[Fact]:
    names = _names(facts)
    n = len(names)
    wrong = tuple(number_word(k) for k in range(max(1, n - 2), n + 4) if k != n)
    listing = ", ".join(f"the {v}" for v in names.values())
    return [Fact("count_objects", "How many objects appear in the video?", number_word(n), wrong,
                 f"The objects are {listing}. That is {count_answer(n)}.", count_answer(n))]


def _changes_colour(facts: SceneFacts) -> list[Fact]:
    changes = facts.of("colour_change")
    names = _names(facts)
    if len({e.subject for e in changes}) != 1:
        return []
    obj = changes[0].subject
    answer = names[obj]
    wrong = tuple(v for o, v in names.items() if o != obj) + tuple(facts.absent_names())
    return [Fact("which_changes_colour", "Which object changes colour?", answer, wrong,
                 f"The {answer} turns {changes[0].value}; no other object changes colour.")]


def _turns_into(facts: SceneFacts) -> list[Fact]:
    out = []
    for e in facts.of("colour_change"):
        old = facts.name(e.subject, e.start - 1)
        wrong = tuple(c for c in facts.preset.colours if c not in (e.value, old.split()[0]))
        out.append(Fact("turns_into", f"What colour does the {old} turn into?", str(e.value), wrong,
                        f"The {old} changes colour once and becomes {e.value}.", colour_answer(str(e.value))))
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
        out.append(Fact("touch_partner", f"Which object does the {na} touch?", nb, wrong,
                        f"The {na} comes into contact with the {nb} and with no other object."))
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
    return [Fact("enters_last", "Which object comes into view last?", names[obj], wrong,
                 f"All other objects are in view before the {names[obj]} appears.")]


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
    return [Fact("leaves", "Which object is no longer visible at the end of the video?", names[obj], wrong,
                 f"The {names[obj]} disappears before the end; the others are still visible.")]


def _largest(facts: SceneFacts) -> list[Fact]:
    names = _names(facts)
    if len(names) < 2:
        return []
    area = {o: facts.truth.tracks[o].shape_px for o in names}
    order = sorted(area, key=area.get, reverse=True)  # type: ignore[arg-type]
    if area[order[0]] < 1.3 * area[order[1]]:
        return []
    wrong = tuple(v for o, v in names.items() if o != order[0]) + tuple(facts.absent_names())
    return [Fact("largest", "Which object is the largest?", names[order[0]], wrong,
                 f"The {names[order[0]]} covers clearly more of the frame than any other object.")]


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
            out.append(Fact("shape_of_colour", f"What shape is the {colour} object?", shape, wrong,
                            f"The only {colour} object in the video is the {colour} {shape}.", shape_answer(shape)))
    return out


def facts_about_video(facts: SceneFacts) -> list[Fact]:
    return (_count(facts) + _changes_colour(facts) + _turns_into(facts) + _touch_partner(facts)
            + _enters_last(facts) + _leaves(facts) + _largest(facts) + _shape_of_colour(facts))


def free_form_questions(facts: SceneFacts) -> list[Question]:
    return [Question(Task.GENERAL_FREE, f.template, f.question, f.free_answer, [f.why]) for f in facts_about_video(facts)]


def mcq_questions(facts: SceneFacts, rng: np.random.Generator) -> list[Question]:
    out = []
    for f in facts_about_video(facts):
        wrong = [w for w in dict.fromkeys(f.wrong) if w != f.answer]
        if len(wrong) < 3:
            continue
        text, letter = with_options(rng, f.question, f.answer, wrong)
        why = f"{f.why} The answer is option {letter}."
        out.append(Question(Task.GENERAL_MCQ, f.template, text, letter, [why]))
    return out


__all__ = ["Fact", "facts_about_video", "free_form_questions", "mcq_questions"]
