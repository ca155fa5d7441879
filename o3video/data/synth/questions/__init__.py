"""Question generators, one module per task family. `candidates` gathers every question a scene
supports, per task."""

from __future__ import annotations

import numpy as np

from o3video.data.synth.questions import general, spatio_temporal, temporal, visual
from o3video.data.synth.questions.base import Mention, Moment, Part, Question, SceneFacts
from o3video.data.synth.questions.vstar_questions import VStarItem, vstar_items
from o3video.tasks import Task


def candidates(facts: SceneFacts, rng: np.random.Generator, *, grounded_general_mcq: bool = False) -> dict[Task, list[Question]]:
    return {
        Task.SPATIO_TEMPORAL: spatio_temporal.generate(facts),
        Task.TEMPORAL: temporal.temporal_questions(facts),
        Task.TEMPORAL_MCQ: temporal.temporal_mcq_questions(facts, rng),
        Task.VISUAL: visual.visual_questions(facts, rng),
        Task.GENERAL_MCQ: general.mcq_questions(facts, rng, grounded=grounded_general_mcq),
        Task.GENERAL_FREE: general.free_form_questions(facts),
    }


__all__ = ["Mention", "Moment", "Part", "Question", "SceneFacts", "VStarItem", "candidates", "vstar_items"]
