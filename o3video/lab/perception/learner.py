"""One perception model trained step by step on its own CPU clock: the recipe of a stage, its data stream, and
the attention supervision that pulls one head per layer onto the named object's image tokens."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from o3video.geometry import BoxConvention
from o3video.lab.perception.questions import example
from o3video.lab.perception.scenes import (
    CONTEXT,
    Scene,
    World,
    add_clause,
    add_motion,
    ask_where,
    frame_times,
    make_scene,
)
from o3video.lab.perception.world_scenes import world_scene


@dataclass
class Recipe:
    lr: float = 2e-3
    batch: int = 16
    warmup: int = 30
    schedule: str = "constant"  # constant, or cosine (to 10% of lr over the budget)
    minutes: float = 15.0  # CPU minutes of training
    objects: tuple[int, int] = (1, 1)
    single_minutes: float = 0.0  # curriculum: single objects for the first minutes
    vision_lr_mult: float = 1.0
    convention: BoxConvention = BoxConvention.RELATIVE_1000
    # The shares below vary how a question is asked; why each exists, and what it measured, is in
    # docs/experiments/ (the perception base's stages).
    # weight of the attention supervision (`attention_loss`); needs a model loaded with eager attention
    attention_supervision: float = 0.0
    # share asked in the video form: 1-8 labelled frames of the image, 0.25-2 s apart (`Scene.frames`)
    video: float = 0.0
    # share preceded by 1-4 of the `CONTEXT` sentences (either form), so the text before the answer varies in length
    context: float = 0.0
    # share asked in V-STaR's chain-1 *where* layout (`ask_where`), answered with the reasoning citing each box
    where: float = 0.0
    # share ending with one of the `CLAUSES` (`add_clause`), so the wording around the name varies
    clause: float = 0.0
    # share of the where-layout questions whose objects move and may change colour (`add_motion`)
    motion: float = 0.0
    # share about a new video of the synthetic world itself, in the where layout (`world_scene`)
    world: float = 0.0
    # share of those asked the world's own question about one of the video's events, with its clause
    events: float = 0.0
    # share of the world scenes asked the world's own *what* question, in V-STaR's *what* prompt
    what: float = 0.0
    # share of the other world scenes asked the world's own chain-1 *when* question; the attention supervision then
    # covers the asked object only in the frames inside the answer's span
    when: float = 0.0


class Learner:
    """One model and its optimizer, trained step by step on its own CPU clock (process time, so other load on
    the machine does not count). `extra_loss` is the hook for auxiliary losses (bench/perception.py)."""

    def __init__(self, model: Any, processor: Any, world: World, recipe: Recipe, *, blank: bool = False,
                 seed: int = 1, extra_params: list[torch.nn.Parameter] | None = None) -> None:
        from o3video.train.sft_data import sft_collator

        self.model, self.processor, self.world, self.recipe, self.blank = model, processor, world, recipe, blank
        self.size = (world.width, world.height)
        self.collate = sft_collator(processor)
        self.rng = random.Random(seed)
        self.cpu = 0.0
        self.steps = 0
        self.losses: list[float] = []
        visual = [p for n, p in model.named_parameters() if ".visual." in f".{n}"]
        other = [p for n, p in model.named_parameters() if ".visual." not in f".{n}"]
        groups = [{"params": other, "mult": 1.0}, {"params": visual, "mult": recipe.vision_lr_mult}]
        if extra_params:
            groups.append({"params": extra_params, "mult": 1.0})
        self.opt = torch.optim.AdamW(groups, lr=recipe.lr, betas=(0.9, 0.98), weight_decay=0.0)
        model.train()

    def lr(self) -> float:
        r = self.recipe
        frac = min(1.0, self.cpu / (r.minutes * 60))
        decay = 1.0 if r.schedule == "constant" else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))
        return r.lr * min(1.0, (self.steps + 1) / r.warmup) * decay

    def batch(self) -> list[Scene]:
        lo, hi = self.recipe.objects
        if self.cpu < self.recipe.single_minutes * 60:
            lo = hi = 1
        scenes = [make_scene(self.rng, self.world, self.rng.randint(lo, hi), blank=self.blank)
                  for _ in range(self.recipe.batch)]
        if self.recipe.world > 0:
            scenes = [world_scene(self.rng, self.world, events=self.recipe.events, what=self.recipe.what,
                                  when=self.recipe.when, blank=self.blank)
                      if self.rng.random() < self.recipe.world else scene for scene in scenes]
        for scene in scenes:
            if scene.span is not None:  # a world scene, already asked
                continue
            clause = self.recipe.clause > 0 and self.rng.random() < self.recipe.clause
            if self.recipe.where > 0 and self.rng.random() < self.recipe.where:
                ask_where(scene, self.rng)
                if self.recipe.motion > 0 and self.rng.random() < self.recipe.motion:
                    add_motion(scene, self.rng)
            if clause:  # after the motion: "while it is <colour>" says the colour it has over the asked span
                add_clause(scene, self.rng)
            if scene.span is not None:
                continue
            if self.recipe.video > 0 and self.rng.random() < self.recipe.video:
                scene.frames = self.rng.randint(1, 8)
                scene.duration = round(scene.frames * self.rng.uniform(0.25, 2.0), 1)
            if self.recipe.context > 0 and self.rng.random() < self.recipe.context:
                scene.context = " ".join(self.rng.sample(CONTEXT, self.rng.randint(1, 4)))
        return scenes

    def extra_loss(self, scenes: list[Scene], inputs: dict[str, Any], outputs: Any) -> torch.Tensor | None:
        """Losses beside the answer's: the recipe's attention supervision (subclasses add their own)."""
        if self.recipe.attention_supervision <= 0:
            return None
        if outputs.attentions is None or outputs.attentions[0] is None:
            raise ValueError("attention supervision needs the model loaded with attn_implementation='eager'")
        return self.recipe.attention_supervision * attention_loss(self.model, scenes, inputs, outputs.attentions)

    def forward_kwargs(self) -> dict[str, Any]:
        return {"output_attentions": True} if self.recipe.attention_supervision > 0 else {}

    def step(self) -> float:
        started = time.process_time()
        scenes = self.batch()
        inputs = self.collate([example(s, self.recipe.convention, self.size) for s in scenes])
        for group in self.opt.param_groups:
            group["lr"] = self.lr() * group["mult"]
        outputs = self.model(**inputs, **self.forward_kwargs())
        extra = self.extra_loss(scenes, inputs, outputs)
        loss = outputs.loss if extra is None else outputs.loss + extra
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in self.opt.param_groups for p in g["params"]], 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.steps += 1
        self.losses.append(outputs.loss.item())
        self.cpu += time.process_time() - started
        return self.losses[-1]

    def state(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly: weights, optimizer, data stream, clock."""
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "rng": self.rng.getstate(),
                "torch_rng": torch.get_rng_state(), "cpu": self.cpu, "steps": self.steps, "losses": self.losses}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.cpu, self.steps, self.losses = state["cpu"], state["steps"], list(state["losses"])


def object_shares(owner: np.ndarray, n: int, cell: int) -> np.ndarray:
    """(n, rows, cols): the share of each cell×cell block of an image (its `owner` map) that each object covers."""
    h, w = owner.shape
    rows, cols = h // cell, w // cell
    blocks = owner[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(rows, cols, cell * cell)
    return np.stack([(blocks == index).mean(-1) for index in range(n)])


def attended_tokens(scene: Scene, factor: int) -> np.ndarray:
    """Which of the scene's image tokens (every frame's, in order; one per `factor` x `factor` block) the attention
    supervision pulls onto: those on the named object, in every frame, or for a *when* question every frame inside
    its answer's span (`Scene.answer_span`)."""
    shares = [object_shares(owner, scene.n, factor)[scene.target].reshape(-1) for _, owner in scene.clip()]
    span = scene.answer_span
    shown = [True] * len(shares) if span is None else [span[0] <= t <= span[1] for t in frame_times(scene)]
    return np.concatenate([(share >= max(0.05, 0.5 * share.max())) & keep
                           for share, keep in zip(shares, shown, strict=True)])


def attention_loss(model: Any, scenes: list[Scene], inputs: dict[str, torch.Tensor],
                   attentions: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """-log(attention mass on the named object's image tokens, `attended_tokens`), averaged over the answer's
    positions, for head 0 of every text layer after the first (the first can carry the question to the answer
    positions).

    Why: from the answer's loss alone a tiny model learns to land on *an* object among several but not on the
    *named* one; this supervision teaches it (docs/experiments/)."""
    factor = model.config.vision_config.patch_size * model.config.vision_config.spatial_merge_size
    image_id = model.config.image_token_id
    losses = []
    for b, scene in enumerate(scenes):
        on_object = attended_tokens(scene, factor)
        image_positions = (inputs["input_ids"][b] == image_id).nonzero().squeeze(-1)
        if len(on_object) != len(image_positions):
            raise ValueError(f"attention supervision: {len(image_positions)} image tokens for {len(scene.clip())} "
                             f"frames, {len(on_object)} expected")
        target = image_positions[torch.from_numpy(on_object)]
        if len(target) == 0:
            continue
        answer = (inputs["labels"][b] != -100).nonzero().squeeze(-1) - 1  # positions predicting answer tokens
        for layer in attentions[1:]:
            mass = layer[b, 0][answer][:, target].sum(-1)
            losses.append(-torch.log(mass + 1e-6).mean())
    return torch.stack(losses).mean() if losses else torch.zeros(())
