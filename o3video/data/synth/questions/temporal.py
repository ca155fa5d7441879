"""Temporal QA and temporal MCQ: the ground truth is a span `[S, E]`; the reasoning cites times
inside the span (interval supervision)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from o3video.data.synth.questions.base import Moment, Question, SceneFacts, with_options
from o3video.data.synth.questions.sighting import phrases, sightings
from o3video.tasks import Task


@dataclass(frozen=True)
class SpanFact:
    """Something that happens over one span of frames, phrased as a question and a statement."""

    template: str
    question: str
    statement: str
    start: int
    end: int
    reasoning: tuple  # parts, with Moments inside the span


def _touch_facts(facts: SceneFacts) -> list[SpanFact]:
    out = []
    for i, a in enumerate(facts.ids):
        for b in facts.ids[i + 1 :]:
            touches = facts.of("touch", a, b)
            if len(touches) != 1 or not facts.span_ok(touches[0].start, touches[0].end):
                continue
            e = touches[0]
            na, nb = facts.stable_name(a, e.start, e.end), facts.stable_name(b, e.start, e.end)
            if na is None or nb is None:
                continue
            parts = (f"The {na} reaches the {nb} at ", Moment(e.start), " and they stay in contact until ",
                     Moment(e.end), ", when they separate or the video ends.")
            out.append(SpanFact("touch_span", f"When does the {na} touch the {nb}?",
                                f"the {na} touches the {nb}", e.start, e.end, parts))
    return out


def _stop_facts(facts: SceneFacts) -> list[SpanFact]:
    out = []
    for obj in facts.ids:
        e = facts.first_stop(obj)
        if e is None or not facts.span_ok(e.start, e.end):
            continue
        name = facts.stable_name(obj, e.start, e.end)
        if name is None:
            continue
        parts = (f"The {name} moves, stops at ", Moment(e.start), " and stays in the same place until ",
                 Moment(e.end), ".")
        out.append(SpanFact("first_stop_span", f"When does the {name} stand still for the first time?",
                            f"the {name} stands still for the first time", e.start, e.end, parts))
    return out


def _name_facts(facts: SceneFacts) -> list[SpanFact]:
    """Spans over which one name (colour + shape) is in view, when that is a single, partial span."""
    out = []
    for obj in facts.ids:
        for name in facts.plan.objects[obj].names():
            frames = [f for f in range(facts.n) if facts.visible(obj, f) and facts.name(obj, f) == name]
            if not frames or frames[-1] - frames[0] + 1 != len(frames) or not facts.span_ok(frames[0], frames[-1]):
                continue
            parts = (f"The {name} is first seen at ", Moment(frames[0]), " and last seen at ", Moment(frames[-1]), ".")
            out.append(SpanFact("name_span", f"When can the {name} be seen?", f"the {name} is in view",
                                frames[0], frames[-1], parts))
    return out


def _cover_facts(facts: SceneFacts) -> list[SpanFact]:
    out = []
    for a in facts.ids:
        for c in facts.ids:
            covers = facts.of("covered", a, c)
            if len(covers) != 1 or not facts.span_ok(covers[0].start, covers[0].end):
                continue
            e = covers[0]
            na, nc = facts.stable_name(a, e.start, e.end), facts.stable_name(c, e.start, e.end)
            if na is None or nc is None:
                continue
            parts = (f"The {nc} moves over the {na} at ", Moment(e.start), f" and the {na} is partly hidden until ",
                     Moment(e.end), ".")
            out.append(SpanFact("cover_span", f"When is the {na} partly hidden behind the {nc}?",
                                f"the {nc} passes in front of the {na}", e.start, e.end, parts))
    return out


def _sighting_facts(facts: SceneFacts) -> list[SpanFact]:
    """The *when* of the kind `visible`: the one span in which an object named by its colour or shape is in view."""
    out = []
    for sighting in sightings(facts):
        for phrase in {p.text: p for p in phrases(facts, sighting)}.values():  # "object" names the only one twice
            parts = (f"The {phrase.text} is the {sighting.name}. It is first seen at ", Moment(sighting.start),
                     " and last seen at ", Moment(sighting.end), ".")
            out.append(SpanFact("sighting_span", phrase.when_question(), f"the {sighting.name} is in view",
                                sighting.start, sighting.end, parts))
    return out


# Each family with the question kind it belongs to (`WorldPreset.asks`), in the order their questions are listed.
FAMILIES: tuple[tuple[str, Callable[[SceneFacts], list[SpanFact]]], ...] = (
    ("touch", _touch_facts), ("stop", _stop_facts), ("name", _name_facts), ("occlusion", _cover_facts),
    ("visible", _sighting_facts),
)


def span_facts(facts: SceneFacts) -> list[SpanFact]:
    return [fact for kind, family in FAMILIES if facts.asks(kind) for fact in family(facts)]


def temporal_questions(facts: SceneFacts) -> list[Question]:
    return [
        Question(Task.TEMPORAL, s.template, s.question, reasoning=list(s.reasoning), span=(s.start, s.end))
        for s in span_facts(facts)
    ]


def _false_statements(facts: SceneFacts) -> list[str]:
    """Statements that are false for the whole video, from pairs that never interact and names
    that never appear."""
    seen = facts.seen()
    names = {o: facts.initial_name(o) for o in seen}
    touch, cover = facts.asks("touch"), facts.asks("occlusion") and facts.preset.allow_overlap
    out = []
    for i, a in enumerate(seen):
        for b in seen[i + 1 :]:
            if touch and not facts.of("touch", a, b):
                out.append(f"the {names[a]} touches the {names[b]}")
        for c in seen:
            if c != a and not facts.of("covered", a, c) and cover:
                out.append(f"the {names[c]} passes in front of the {names[a]}")
    absent = facts.absent_names()
    out += [f"the {name} is in view" for name in absent]
    if touch and seen and absent:
        out += [f"the {names[seen[k % len(seen)]]} touches the {name}" for k, name in enumerate(absent)]
    return out


def temporal_mcq_questions(facts: SceneFacts, rng: np.random.Generator) -> list[Question]:
    wrong = _false_statements(facts)
    out, asked = [], set()
    for s in span_facts(facts):
        candidates = [w for w in wrong if w != s.statement]
        if len(candidates) < 3 or s.statement in asked:  # one question per statement (two phrases may name one object)
            continue
        asked.add(s.statement)
        text, letter = with_options(rng, "Which of these happens in the video, and when?", s.statement, candidates)
        parts = [f"Option {letter} happens: {s.statement}. "] + list(s.reasoning) + [" The other options never happen."]
        out.append(Question(Task.TEMPORAL_MCQ, s.template, text, reasoning=parts, span=(s.start, s.end), option=letter))
    return out
