"""Sightings: the one span in which an object is in view, and the phrases that name it, for the question kind
`visible` (the ladder's rungs `one` and `two`).

A phrase names the object by what sets it apart in its scene: "object" when it is the only one, else its
colour ("red object") or its shape ("circle") when no other object shares it. Each phrase comes with the
attribute it leaves to be asked ("What shape is the red object?"), so answering needs binding: finding the
object the phrase names, then reading its other attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

from o3video.data.synth.questions.base import Mention, SceneFacts
from o3video.data.synth.vocab import shape_answer


@dataclass(frozen=True)
class Sighting:
    obj: int
    name: str  # colour and shape: "red circle"
    colour: str
    shape: str
    start: int  # its one visible span, frames, inclusive
    end: int
    first: Mention  # clearly visible near each end of the span: the evidence a reasoning cites
    last: Mention


@dataclass(frozen=True)
class Phrase:
    text: str  # "object", "red object", "circle"
    asked: str  # the attribute the phrase leaves to be asked: "colour" or "shape"

    def what_question(self) -> str:
        return f"What {self.asked} is the {self.text}?"

    def when_question(self) -> str:
        return f"When can the {self.text} be seen?"


def _clear(facts: SceneFacts, obj: int, frames: range) -> Mention | None:
    frame = next((f for f in frames if facts.mentionable(obj, f)), None)
    return None if frame is None else facts.mention(obj, frame)


def sightings(facts: SceneFacts) -> list[Sighting]:
    """Objects in view for exactly one span, usable as temporal ground truth (`SceneFacts.span_ok`), of one colour
    throughout and clearly visible at some frame of it."""
    out = []
    for obj in facts.ids:
        spans = facts.of("visible", obj)
        if len(spans) != 1 or not facts.span_ok(spans[0].start, spans[0].end):
            continue
        start, end = spans[0].start, spans[0].end
        name = facts.stable_name(obj, start, end)
        first = _clear(facts, obj, range(start, end + 1))
        last = _clear(facts, obj, range(end, start - 1, -1))
        if name is None or first is None or last is None:
            continue
        colour, shape = facts.truth.tracks[obj].colour[start], facts.plan.objects[obj].shape
        out.append(Sighting(obj, name, str(colour), shape, start, end, first, last))
    return out


def phrases(facts: SceneFacts, sighting: Sighting) -> list[Phrase]:
    """The phrases that name the object alone in its scene, each with the attribute left to ask."""
    if len(facts.ids) == 1:
        return [Phrase("object", "colour"), Phrase("object", "shape")]
    colours = [c for o in facts.plan.objects for _, c in o.colours]
    shapes = [o.shape for o in facts.plan.objects]
    out = []
    if colours.count(sighting.colour) == 1:
        out.append(Phrase(f"{sighting.colour} object", "shape"))
    if shapes.count(sighting.shape) == 1:
        out.append(Phrase(sighting.shape, "colour"))
    return out


def answer_word(sighting: Sighting, attribute: str) -> str:
    """The asked attribute's value, a word of the closed vocabulary: "red", "circle"."""
    return sighting.colour if attribute == "colour" else sighting.shape


def it_is(sighting: Sighting, attribute: str) -> str:
    """The sentence giving the asked attribute: "It is red.", "It is a circle."."""
    value = answer_word(sighting, attribute)
    return f"It is {value}." if attribute == "colour" else f"It is {shape_answer(value)}."


def who(phrase: Phrase, sighting: Sighting) -> str:
    """The sentence binding the phrase to the object: "The red object is the red circle."."""
    return f"The {phrase.text} is the {sighting.name}."


__all__ = ["Phrase", "Sighting", "answer_word", "it_is", "phrases", "sightings", "who"]
