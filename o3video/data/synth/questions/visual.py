"""Visual QA on single frames: box one object; ground truth in the image's own pixels."""

from __future__ import annotations

import numpy as np

from o3video.data.synth.questions.base import Question, SceneFacts
from o3video.tasks import Task


def _descriptors(facts: SceneFacts, frame: int, shown: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(template, phrase) pairs that pick out each shown object uniquely in this frame."""
    out: dict[int, list[tuple[str, str]]] = {o: [] for o in shown}
    colours = [facts.truth.tracks[o].colour[frame] for o in shown]
    shapes = [facts.plan.objects[o].shape for o in shown]
    areas = [facts.truth.tracks[o].visible_px[frame] for o in shown]
    for i, o in enumerate(shown):
        out[o].append(("locate_name", facts.name(o, frame)))
        if colours.count(colours[i]) == 1:
            out[o].append(("locate_colour", f"{colours[i]} object"))
        if shapes.count(shapes[i]) == 1:
            out[o].append(("locate_shape", shapes[i]))
    if len(shown) >= 2:
        order = np.argsort(areas)[::-1]
        if areas[order[0]] >= 1.3 * areas[order[1]]:
            out[shown[order[0]]].append(("locate_largest", "largest object"))
        if areas[order[-1]] * 1.3 <= areas[order[-2]]:
            out[shown[order[-1]]].append(("locate_smallest", "smallest object"))
    return out


_PHRASES = ("Where is the {} in the image?", "Locate the {}.", "Find the {} and give its box.")


def visual_questions(facts: SceneFacts, rng: np.random.Generator, frames_per_scene: int = 3) -> list[Question]:
    """Questions on a few frames spread over the video; only objects entirely shown (inside the
    frame, covered by nothing) are asked about, so the box to give is never a matter of opinion."""
    candidates = [f for f in range(facts.n) if any(facts.fully_shown(o, f) for o in facts.ids)]
    if not candidates:
        return []
    picks = sorted({candidates[int(i)] for i in np.linspace(0, len(candidates) - 1, frames_per_scene)})
    out = []
    for f in picks:
        shown = facts.truth.visible_ids(f)
        for obj, options in _descriptors(facts, f, shown).items():
            if not facts.fully_shown(obj, f):
                continue
            target = facts.mention(obj, f)
            others = [facts.mention(o, f) for o in shown if o != obj and facts.mentionable(o, f)]
            for template, phrase in options:
                parts: list = [f"I look for the {phrase}. "]
                if others:
                    parts.append("Besides it, the image shows ")
                    for i, m in enumerate(others):
                        parts += ["the ", m, ", " if i < len(others) - 1 else ". "]
                parts += [f"The {phrase} is the ", target, "."]
                question = _PHRASES[int(rng.integers(len(_PHRASES)))].format(phrase)
                out.append(Question(Task.VISUAL, template, question, reasoning=parts, image_frame=f, target=target))
    return out
