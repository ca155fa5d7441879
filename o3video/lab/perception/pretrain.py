"""The perception pre-training of the demo's tiny base: the stages, run resumably on the model's own frame
size, scored on held-out scenes at every evaluation, saved with `save_pretrained` and its learning curve."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import torch

from o3video.geometry import BoxConvention
from o3video.lab.perception.learner import Learner, Recipe
from o3video.lab.perception.scenes import World, eval_set, mean_box, world_of
from o3video.lab.perception.scoring import evaluate, evaluate_asked, evaluate_what, evaluate_when, score
from o3video.lab.perception.world_scenes import world_eval_set
from o3video.models import box_convention_of

STATE_FILE = "perception_state.pt"


CURVE_FILE = "perception.json"


@dataclass(frozen=True)
class Stage:
    name: str
    recipe: Recipe
    steps: int


def stages_of(convention: BoxConvention, steps: dict[str, int]) -> list[Stage]:
    """The seven stages in order, each with its recipe and its number of steps (`steps[name]`, 0: skipped)."""
    single = Recipe(minutes=math.inf, convention=convention)
    binding = replace(single, objects=(1, 3), attention_supervision=1.0)
    video = replace(binding, video=0.5)
    where = replace(video, where=0.5)
    worlds = replace(where, world=0.5, events=0.5)
    recipes = {"single": single, "binding": binding, "video": video, "where": where, "world": worlds,
                "what": replace(worlds, world=0.75, what=0.5), "when": replace(worlds, world=0.75, when=0.5)}
    return [Stage(name, recipe, steps[name]) for name, recipe in recipes.items()]


class Schedule:
    """Where a run of `stages` stands: which stage a step belongs to, and which stages it has reached."""

    def __init__(self, stages: list[Stage]) -> None:
        self.stages = stages
        self.ends = list(accumulate(s.steps for s in stages))
        self.total = self.ends[-1]

    def stage_at(self, step: int) -> Stage:
        """The stage that step number `step` (1-based) belongs to."""
        return self.stages[next((i for i, end in enumerate(self.ends) if step <= end), len(self.stages) - 1)]

    def reached(self, stage: str, steps_done: int, *, own: bool = False) -> bool:
        """Whether a run `steps_done` steps in has reached the start of `stage` and trains something from there: any
        stage from it on (what it trains is kept by the later stages, so it is scored to the end), or, with `own`,
        that stage itself (what only that stage asks, e.g. the *what* questions, is scored only in a run that trains
        it)."""
        index = [s.name for s in self.stages].index(stage)
        start = self.ends[index - 1] if index else 0
        trains = self.stages[index].steps > 0 if own else self.total > start
        return trains and steps_done >= start


class HeldOut:
    """The held-out scenes of a run and the scores of its model on them at one point of the curve."""

    def __init__(self, model: Any, processor: Any, world: World, schedule: Schedule, per_count: int) -> None:
        self.model, self.processor, self.schedule = model, processor, schedule
        self.size = (world.width, world.height)
        self.convention = schedule.stages[0].recipe.convention
        self.scenes = eval_set(world, [1, 2, 3], per_count)
        steps = {s.name: s.steps for s in schedule.stages}
        if steps["world"] + steps["what"] + steps["when"] > 0:
            self.world_scenes = world_eval_set(world, 3 * per_count)
            self.event_scenes = world_eval_set(world, 3 * per_count, events=1.0)
        if steps["what"] > 0:
            self.what_scenes = world_eval_set(world, 3 * per_count, what=1.0)
        if steps["when"] > 0:
            self.when_scenes = world_eval_set(world, 3 * per_count, when=1.0)

    def scores(self, steps_done: int) -> dict[str, Any]:
        """The model's scores in every layout the run has reached (`Schedule.reached`)."""
        m, p, c, size, reached = self.model, self.processor, self.convention, self.size, self.schedule.reached
        row = {"model": evaluate(m, p, self.scenes, c, size)}
        if reached("video", steps_done, own=True):  # only in a run that trains it (it costs 8 images each)
            row["model_as_video"] = evaluate(m, p, self.scenes, c, size, frames=8)
        if reached("where", steps_done):
            row["model_as_where"] = evaluate(m, p, self.scenes, c, size, where=True)
            row["model_as_where_clause"] = evaluate(m, p, self.scenes, c, size, where=True, clause=True)
            row["model_as_moving"] = evaluate(m, p, self.scenes, c, size, where=True, motion=True)
        if reached("world", steps_done):
            row["model_as_world"] = evaluate_asked(m, p, self.world_scenes, c, size)
            row["model_as_world_events"] = evaluate_asked(m, p, self.event_scenes, c, size)
        if reached("what", steps_done, own=True):
            row["model_as_what"] = evaluate_what(m, p, self.what_scenes, c)
            row["model_as_what_blank"] = evaluate_what(m, p, self.what_scenes, c, blank=True)
        if reached("when", steps_done, own=True):
            row["model_as_when"] = evaluate_when(m, p, self.when_scenes, c)
            row["model_as_when_blank"] = evaluate_when(m, p, self.when_scenes, c, blank=True)
        return row


def pretrain_perception(model_dir: str | Path, out: str | Path, *, steps: int = 3500, binding_steps: int = 0,
                        video_steps: int = 0, where_steps: int = 0, world_steps: int = 0, what_steps: int = 0,
                        when_steps: int = 0, seed: int = 0, eval_every: int = 250,
                        eval_per_count: int = 32, progress: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Train the model saved in `model_dir` in up to seven stages at a constant learning rate, and save it to `out`
    (`save_pretrained`, with `perception.json`: the stages' recipes, seed and the learning curve against CPU
    minutes):
    1. `steps` optimizer steps localising named single objects on frames of its own input size;
    2. `binding_steps` finding the named one among 1-3 objects, with attention supervision (`attention_loss`);
    3. `video_steps` the same, half of the questions asked in the video form (`Recipe.video`), so the boxes come
       from the image and not from where the image sits in the prompt;
    4. `where_steps` the same, half of the questions asked in V-STaR's chain-1 *where* layout (`Recipe.where`);
    5. `world_steps` the same, half of the questions about new videos of the synthetic world itself, in that
       layout (`Recipe.world`, `world_scene`), half of those the world's own questions about the video's events
       (`Recipe.events`);
    6. `what_steps` the same with three quarters of the questions about new world videos, half of those the
       world's own *what* questions (`Recipe.what`), answered as V-STaR's *what* prompt asks;
    7. `when_steps` the same with half of those its own chain-1 *when* questions instead (`Recipe.when`), the
       attention supervision on the asked object in the frames inside the answer's span.
    Every `eval_every` steps and at each stage's end it is scored on held-out scenes in the layouts it has reached
    (`HeldOut`), seeing and, for *what* and *when*, on blank frames. A stage of 0 steps is skipped, so `steps=0` and
    one later stage continue a saved base by that stage alone. Resumable: the state at each evaluation is kept in
    `out/perception_state.pt` until the run finishes, and a resumed run continues the same data stream."""
    from o3video.io import atomic_path, atomic_write_json
    from o3video.models import frame_settings, load_model

    out = Path(out)
    if (out / CURVE_FILE).is_file() and json.loads((out / CURVE_FILE).read_text()).get("finished"):
        return out
    counts = {"single": steps, "binding": binding_steps, "video": video_steps, "where": where_steps,
              "world": world_steps, "what": what_steps, "when": when_steps}
    supervised = sum(counts.values()) - steps > 0
    model, processor = load_model(model_dir, dtype="float32", attn_implementation="eager" if supervised else None)
    world = world_of(processor)
    schedule = Schedule(stages_of(box_convention_of(model), counts))
    learner = Learner(model, processor, world, schedule.stages[0].recipe, seed=seed + 1)
    held_out = HeldOut(model, processor, world, schedule, eval_per_count)
    curve: list[dict[str, Any]] = []
    state_path = out / STATE_FILE
    if state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        learner.load_state(state["learner"])
        curve = state["curve"]
    else:
        torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    recipes = {s.name: asdict(s.recipe) | {"minutes": None, "steps": s.steps} for s in schedule.stages}
    info = {"source": str(model_dir), "seed": seed, "steps": schedule.total, "recipe": recipes,
            "frame": [world.width, world.height], "frame_settings": frame_settings(processor),
            "mean_box": score([mean_box(world, [1, 2, 3])] * len(held_out.scenes), held_out.scenes), "curve": curve,
            "finished": False}

    def checkpoint() -> None:
        row = {"steps": learner.steps, "stage": schedule.stage_at(max(1, learner.steps)).name,
               "cpu_min": round(learner.cpu / 60, 2),
               "loss": round(float(np.mean(learner.losses[-20:])), 3) if learner.losses else None,
               **held_out.scores(learner.steps)}
        curve.append(row)
        if progress is not None:
            progress(row)
        with atomic_path(state_path) as tmp:
            torch.save({"learner": learner.state(), "curve": curve}, tmp)
        atomic_write_json(out / CURVE_FILE, info)

    if not curve:
        checkpoint()
    train_stages(learner, schedule, eval_every, checkpoint)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    info["finished"] = True
    atomic_write_json(out / CURVE_FILE, info)
    state_path.unlink(missing_ok=True)
    return out


def train_stages(learner: Learner, schedule: Schedule, eval_every: int, checkpoint: Callable[[], None]) -> None:
    """Step `learner` through the stages to the schedule's end, each step with its stage's recipe, calling
    `checkpoint` every `eval_every` steps and at each stage's end."""
    from o3video.progress import ProgressBar

    with ProgressBar(schedule.total, initial=learner.steps, desc="perception", unit="step") as bar:
        while learner.steps < schedule.total:
            learner.recipe = schedule.stage_at(learner.steps + 1).recipe
            bar.set_postfix(loss=f"{learner.step():.3f}", refresh=False)
            bar.update()
            if learner.steps % eval_every == 0 or learner.steps in schedule.ends:
                checkpoint()
