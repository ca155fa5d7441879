"""Benchmark: does a tiny VLM learn to *see*? A learning curve against CPU minutes on "Where is the <colour> <shape>?".

Each example is one image of 1–3 of the synthetic world's shapes (o3video/data/synth: its shape masks, its colours, its
object names) on a plain grey background; the question names one of them, asked as the project's visual QA, and the
answer is the grounded completion naming it with its box (0–1000 of the image by default, `--convention pixels` for pixels;
`o3video/lab/perception/pretrain.py`, which the demo's perception base is built with). The prompt comes
from the project's builder (`build_messages`, visual QA), the batches from the project's SFT collator (TRL's, loss on
the assistant's tokens only), the model from the project's tiny-model builder (`build_tiny_model`, loaded with
`load_model`), answers from the project's `generate` (greedy) and `parse_answer_box`, scores from `box_iou`.

Three things are measured in the same run, every `--eval-every` CPU minutes of training, on one fixed held-out set
with the same number of images for each object count:

* the model;
* a BLIND model: the same initial weights and recipe, trained on blank frames (same questions, same answers), for
  `--blind-minutes` (default: as long as the model). It can learn the answer format and the distribution of boxes,
  nothing that needs pixels;
* the MEAN-BOX answer: the mean target box of 4,000 training examples, given for every question.

Printed per evaluation: CPU minutes of training (process CPU time, so other load on the machine does not count), steps,
training loss, and for each of model / blind: mean IoU, share IoU >= 0.5, parse rate, mean IoU by object count, and
`bind`: among answers on images of 2+ objects whose box hits some object (IoU >= 0.3), the share that hit the named
one, with the number of such hits in brackets (chance 1/n: an answer that finds an object but ignores the question).
The header also gives the IoU of pointing at a uniformly random object of the image ("finds an object, ignores the
question": about 1/n).

    python bench/perception.py --minutes 8 --eval-every 1                      # tiny Qwen3-VL, 1-3 objects
    python bench/perception.py --objects 1 1 --minutes 8 --save runs/perc/single.pt   # single objects only
    python bench/perception.py --init runs/perc/single.pt --minutes 8 --attn-sup 1  # then binding, with help
    python bench/perception.py --arch qwen2_5_vl --convention pixels --width 112 --height 84
    python bench/perception.py --base ~/.cache/o3video/bases/<key> --objects 1 3 --schedule constant --minutes 40

Options for making binding (the named object among several) learnable: `--single-minutes` (curriculum: single objects
first), `--schedule constant` (no LR decay), `--vision-lr-mult`, `--dense W` (auxiliary per-patch colour and shape
classification on the vision tower's patch features), `--attn-sup W` (auxiliary loss pulling one attention head per
text layer, at the answer's positions, onto the named object's image tokens), `--reverse P` (a share P of the
questions asked the other way round, "What is at <box>?", answered with the same completion: the name must be read off
the image at a given place), `--unique` (no two objects of a frame share a colour or a shape, the easy preset's rule;
the held-out set follows it too), `--video P` (a share P asked in the video form, 1-8 labelled frames of the image 0.25-2 s apart, so
the prompt's layout varies; the curve then also scores the held-out frames asked as 8 frames), `--context P` (a
share P preceded by 1-4 sentences, so the text between the image and the answer varies too), `--colours K`,
`--sizes LO,HI`.

*When*, the time read-out: `--world 1 --when P` (a share P of new world videos asked the world's own chain-1 *when*
question; the curve then scores tIoU on `--when-eval` held-out world videos, model and blind, by event kind, against
the whole video and the best single span per event kind), `--presence P` (a share P asking when one object is seen in
8 labelled frames, blank where it is not: only "which frames show something" and the labels are needed; the curve
then scores those instead), `--rivals N` (N other objects in those frames, each in a run of its own: the named one
has to be recognised). `--attn-sup` pulls attention onto the asked object in the frames inside the span only.
Auxiliary heads live outside the model, which stays transformers' own class and saves as such.

Run with one thread (OMP_NUM_THREADS=1); a JSON of the curve goes to `--json` if given, and
`python bench/perception.py plot OUT.png CURVE.json...` draws several such curves in one picture,
`python bench/perception.py when OUT.png CURVE.json...` the *when* curves of `--when`/`--presence` runs;
`python bench/perception.py stages OUT.png MODEL/perception.json` draws a `pretrain_perception` run's curve in every
layout it scored; `python bench/perception.py layouts MODEL [WORLD]` scores a saved model on the held-out frames in prompt layouts it
was and was not trained on, and on a synthetic world's test videos (does its localisation depend on where the image
sits in the prompt?).

Results (localisation, binding, prompt layouts, the stages, *when*): docs/experiments/, one file per experiment
(localisation.md, binding.md, prompt-layouts.md, where-stage.md, world-stage.md, what-stage.md, when-readout.md,
when-from-base.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from bench.pictures import Panel, line_panels  # noqa: E402
from o3video.data.synth.vocab import COLOURS, SHAPES, object_name  # noqa: E402
from o3video.geometry import (  # noqa: E402
    BoxConvention,  # noqa: E402
    box_iou,
    pixels_to_convention,
)
from o3video.grammar import parse, render_box  # noqa: E402
from o3video.io import atomic_write_json, finite  # noqa: E402
from o3video.lab.perception.learner import Learner, Recipe, object_shares  # noqa: E402
from o3video.lab.perception.questions import answer_text, example, unresized_frame_kwargs  # noqa: E402
from o3video.lab.perception.scenes import BLANK_GREY, Scene, World, eval_set, frame_times, make_scene, mean_box  # noqa: E402
from o3video.lab.perception.scoring import answer_box, evaluate, evaluate_when, score  # noqa: E402
from o3video.lab.perception.world_scenes import world_eval_set  # noqa: E402
from o3video.tasks import Task  # noqa: E402
from o3video.video.prompt import answer_instruction, build_messages  # noqa: E402
from o3video.video.sampling import Frame  # noqa: E402


# -------------------------------------------------------------------------------------------------------- training
class AuxLearner(Learner):
    """The project's perception learner (attention supervision is the recipe's own) with what else this benchmark
    measures: per-patch colour and shape classification of the vision tower's features (`dense`) and reverse
    questions (`reverse`). Questions in the video form are the recipe's own (`Recipe.video`)."""

    def __init__(self, model, processor, world: World, recipe: Recipe, *, dense: float = 0.0, reverse: float = 0.0,
                 presence: float = 0.0, rivals: int = 0, blank: bool = False, seed: int = 1):
        self.dense, self.reverse, self.presence, self.rivals = dense, reverse, presence, rivals
        self.aux: dict[str, torch.nn.Module] = {}
        vision = model.model.visual
        if dense > 0:
            if model.config.model_type != "qwen3_vl":
                raise SystemExit("--dense needs --arch qwen3_vl (its vision tower keeps patches in merge-window order)")
            hidden = vision.config.hidden_size
            self.aux["colour"] = torch.nn.Linear(hidden, len(COLOURS) + 1)
            self.aux["shape"] = torch.nn.Linear(hidden, len(SHAPES) + 1)
            self._patches: list[torch.Tensor] = []
            vision.register_forward_hook(lambda _m, _i, out: self._patches.append(out.last_hidden_state))
        extra = [p for m in self.aux.values() for p in m.parameters()]
        super().__init__(model, processor, world, recipe, blank=blank, seed=seed, extra_params=extra or None)

    def batch(self) -> list[Scene]:
        """The project's batch, with a `reverse` share of the questions asked the other way round: "What is at
        <box>?" (the named object's box, in the model's convention), answered with the same grounded completion,
        so the name has to be read off the image at a given place."""
        scenes = super().batch()
        if self.presence > 0:
            scenes = [presence_scene(self.rng, self.world, rivals=self.rivals, blank=self.blank)
                      if self.rng.random() < self.presence else scene for scene in scenes]
        for scene in scenes:
            if isinstance(scene, PresenceScene):  # asked already
                continue
            if self.reverse > 0 and self.rng.random() < self.reverse:
                scene.ask_box = render_box(pixels_to_convention(scene.box, self.recipe.convention, self.size))
        return scenes

    def forward_kwargs(self) -> dict:
        self._patches = []
        return super().forward_kwargs()

    def extra_loss(self, scenes, inputs, outputs):
        loss = super().extra_loss(scenes, inputs, outputs)  # the recipe's attention supervision, if any
        if self.dense > 0:
            term = self.dense * self.dense_loss(scenes, inputs["image_grid_thw"])
            loss = term if loss is None else loss + term
        return loss

    # ---- auxiliary losses
    def _cells(self, scene: Scene, owner: np.ndarray, cell: int) -> np.ndarray:
        """(rows, cols): the object dominating each block of one of the scene's images (its `owner` map), covering
        a quarter of it or more; -1: background."""
        shares = object_shares(owner, scene.n, cell)
        return np.where(shares.max(0) >= 0.25, shares.argmax(0), -1)

    def dense_loss(self, scenes: list[Scene], grid_thw: torch.Tensor) -> torch.Tensor:
        """Per-patch colour and shape classification (background a class of its own) on the vision tower's last
        patch features, in the processor's patch order (2×2 merge windows, row-major)."""
        patch = self.model.config.vision_config.patch_size
        merge = self.model.config.vision_config.spatial_merge_size
        colour_ids = {c: i + 1 for i, c in enumerate(COLOURS)}
        shape_ids = {s: i + 1 for i, s in enumerate(SHAPES)}
        colour_labels, shape_labels = [], []
        # a video-form scene shows K images, each at its time (a moving scene's objects change place and colour)
        per_image = [(scene, owner, time) for scene in scenes
                     for (_, owner), time in zip(scene.clip(), frame_times(scene) if scene.frames else [0.0])]
        for (scene, owner, time), (t, gh, gw) in zip(per_image, grid_thw.tolist(), strict=True):
            cells = self._cells(scene, owner, patch)[:gh, :gw]
            cells = cells.reshape(gh // merge, merge, gw // merge, merge).transpose(0, 2, 1, 3).reshape(-1)
            cells = np.tile(cells, t)
            colour_labels += [0 if i < 0 else colour_ids[scene.colour_at(i, time)] for i in cells]
            shape_labels += [0 if i < 0 else shape_ids[scene.objects[i][1]] for i in cells]
        features = self._patches[-1]
        ce = torch.nn.functional.cross_entropy
        return ce(self.aux["colour"](features), torch.tensor(colour_labels)) + ce(
            self.aux["shape"](features), torch.tensor(shape_labels))


@dataclass
class PresenceScene(Scene):
    """Objects each shown in a run of 8 labelled frames (`runs[i]`: first, last), blank where none is, asked V-STaR's
    chain-1 *when* question "When can the <object> be seen?" of the named one (`--presence`). Its span runs from the
    first to the last frame showing it. Alone, a model that tells a blank frame from one with an object can copy the
    answer off the frames' labels: the time read-out of a *when* answer without the recognition the world's events
    need. With other objects in runs of their own (`--rivals`), it has to tell the named object from them too."""

    runs: list[tuple[int, int]] = field(default_factory=list)
    vstar: dict[str, Any] = field(default_factory=dict, repr=False)  # timestamps and event, as `evaluate_when` reads

    @property
    def shows(self) -> tuple[int, int]:
        """The run of frames showing the named object."""
        return self.runs[self.target]

    @property
    def answer_span(self) -> tuple[float, float]:
        return tuple(self.vstar["timestamps"])

    def seconds(self, run: tuple[int, int]) -> tuple[float, float]:
        """A run of frames as the span of time its first and last frames' labels give."""
        return self.times[run[0]], self.times[run[1]]

    def clip(self) -> list[tuple[Image.Image, np.ndarray]]:
        pixels = np.asarray(self.image)
        frames = []
        for k in range(self.frames):
            seen = [i for i, (first, last) in enumerate(self.runs) if first <= k <= last]
            on = np.isin(self.owner, seen)
            frame = np.where(on[..., None], pixels, np.uint8(self.background))
            frames.append((Image.fromarray(frame), np.where(on, self.owner, -1).astype(self.owner.dtype)))
        return frames


def presence_scene(rng: random.Random, world: World, *, rivals: int = 0, blank: bool = False) -> PresenceScene:
    """A `PresenceScene` of new objects, 8 frames over 4-10 s: the named one shown in 2-8 consecutive frames, each of
    `rivals` others in 1-8 of its own (they may overlap the named one's)."""
    from o3video.lab.vstar_practice import practice_records

    still = make_scene(rng, world, 1 + rivals, blank=blank)
    runs = []
    for index in range(still.n):
        first = rng.randrange(7 if index == still.target else 8)
        runs.append((first, rng.randrange(first + (index == still.target), 8)))
    scene = PresenceScene(**{f.name: getattr(still, f.name) for f in fields(Scene)}, runs=runs)
    scene.frames, scene.duration, scene.span = 8, float(rng.randint(4, 10)), (0, 0)
    # times as the frames' labels write them (one decimal), so the span can be copied off them exactly
    scene.times = [round(t, 1) for t in frame_times(scene)]
    name = object_name(*scene.objects[scene.target][:2])
    scene.vstar = {"timestamps": list(scene.seconds(scene.shows)), "event": "presence", "fps": 1.0,
                   "frame_count": scene.duration}
    annotation = {"vid": "presence", "video_path": "presence.mp4", "width": world.width, "height": world.height,
                  "object": name, "question": "", "answer": "", "temporal_question": f"When can the {name} be seen?",
                  "spatial_question": "", "bboxes": [], **scene.vstar}
    scene.record = practice_records([annotation], kinds=("when_1",),
                                    frame_kwargs=unresized_frame_kwargs(world.width, world.height))[0]
    return scene


def presence_matches(scenes: list[PresenceScene], spans: list[list[float] | None]) -> dict[str, float]:
    """Whose run of frames the answers' spans (`evaluate_when`'s) match, as mean tIoU: the named object's
    (`named`, the score), the best-matching other object's (`rival`), and from the first to the last frame showing
    any object (`any`). A model that reads which frames show something but not what answers `any`. (A rival shown
    in one frame only spans no time, so no answer matches it.)"""
    from o3video.geometry import temporal_iou

    def tiou(scene: PresenceScene, span: list[float] | None, run: tuple[int, int]) -> float:
        return temporal_iou(span, scene.seconds(run)) if span else 0.0

    found: dict[str, list[float]] = {"named": [], "rival": [], "any": []}
    for scene, span in zip(scenes, spans, strict=True):
        others = [run for i, run in enumerate(scene.runs) if i != scene.target]
        hull = (min(first for first, _ in scene.runs), max(last for _, last in scene.runs))
        found["named"].append(tiou(scene, span, scene.shows))
        found["rival"].append(max((tiou(scene, span, run) for run in others), default=0.0))
        found["any"].append(tiou(scene, span, hull))
    return {key: round(float(np.mean(values)), 3) for key, values in found.items()}


def random_object_iou(scenes: list[Scene]) -> dict[str, float]:
    """Expected IoU of answering with a uniformly random object's exact box, by object count."""
    by_n: dict[int, list[float]] = {}
    for s in scenes:
        by_n.setdefault(s.n, []).append(float(np.mean([box_iou(b, s.box) for _, _, b in s.objects])))
    return {str(k): round(float(np.mean(v)), 3) for k, v in sorted(by_n.items())}


# ------------------------------------------------------------------------------------------------------------ main
def build(arch: str, size: str, seed: int, world: World, work: Path, *, attn: bool, base: str | None = None):
    """A new tiny model (saved under `work`), or the saved model `base` (e.g. a perception base), loaded."""
    from o3video.models import build_tiny_model, frame_settings, load_model

    path = Path(base) if base else work / f"tiny_{arch}_{size}_{seed}"
    if not (path / "config.json").exists():
        build_tiny_model(path, size=size, seed=seed, arch=arch, max_pixels=world.width * world.height)
    kwargs = {"attn_implementation": "eager"} if attn else {}
    model, processor = load_model(path, dtype="float32", max_pixels=world.width * world.height, **kwargs)
    factor = frame_settings(processor)["factor"]
    if world.width % factor or world.height % factor:
        raise SystemExit(f"--width and --height must be multiples of {factor} for {arch} (no resizing)")
    return model, processor


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    world = World(args.width, args.height, tuple(list(COLOURS)[: args.colours]), tuple(args.sizes), args.unique)
    size = (world.width, world.height)
    lo, hi = args.objects
    recipe = Recipe(lr=args.lr, batch=args.batch, schedule=args.schedule, minutes=args.minutes, objects=(lo, hi),
                    single_minutes=args.single_minutes, vision_lr_mult=args.vision_lr_mult, convention=args.convention,
                    attention_supervision=args.attn_sup, video=args.video, context=args.context, where=args.where,
                    clause=args.clause, motion=args.motion, world=args.world, events=args.events,
                    what=args.what, when=args.when)
    blind_recipe = Recipe(**{**recipe.__dict__, "minutes": args.blind_minutes if args.blind_minutes is not None
                             else args.minutes})
    work = Path(args.work or tempfile.mkdtemp(prefix="perception_"))
    model, processor = build(args.arch, args.size, args.seed, world, work, attn=args.attn_sup > 0, base=args.base)
    blind, blind_processor = build(args.arch, args.size, args.seed, world, work, attn=args.attn_sup > 0, base=args.base)
    if args.init:
        state = torch.load(args.init, map_location="cpu")
        model.load_state_dict(state["model"])
        if state.get("blind") is not None:
            blind.load_state_dict(state["blind"])
    aux = {"dense": args.dense, "reverse": args.reverse, "presence": args.presence, "rivals": args.rivals}
    learner = AuxLearner(model, processor, world, recipe, seed=args.seed + 1, **aux)
    blind_learner = AuxLearner(blind, blind_processor, world, blind_recipe, blank=True, seed=args.seed + 1, **aux)

    counts = list(range(1, max(3, hi) + 1))
    scenes = eval_set(world, counts, args.eval_per_count)
    when_scenes = world_eval_set(world, args.when_eval, when=1.0) if args.when > 0 else []
    if args.presence > 0:  # the held-out presence questions, scored as the world's when questions are
        rng = random.Random(12345)
        when_scenes = [presence_scene(rng, world, rivals=args.rivals) for _ in range(args.when_eval)]
    mb = mean_box(world, list(range(lo, hi + 1)))
    mean_box_score = score([mb] * len(scenes), scenes)
    header = {
        "arch": model.config.model_type, "size": None if args.base else args.size, "image": f"{world.width}x{world.height}", "convention": args.convention,
        "params": sum(p.numel() for p in model.parameters()), "eval_images": len(scenes),
        "image_tokens": int((learner.collate([example(scenes[0], args.convention, size)])["input_ids"]
                             == model.config.image_token_id).sum()),
        "example_answer": answer_text(scenes[0], args.convention, size), "recipe": {**recipe.__dict__, **aux},
        "unique": world.unique, "blind_minutes": blind_recipe.minutes, "init": args.init, "base": args.base,
        "seed": args.seed,
        "mean_box": [round(v, 1) for v in mb], "mean_box_iou": mean_box_score,
        "random_object_iou_by_n": random_object_iou(scenes), "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(header), flush=True)
    by_n = "  ".join(f"n={n}" for n in counts)
    print(f"{'min':>5} {'steps':>6} {'loss':>6} | model: IoU  >=.5 parse {by_n}  bind (hits) | blind: IoU {by_n} | "
          f"mean-box: IoU {by_n}", flush=True)

    curve = []

    def report() -> None:
        m = evaluate(model, processor, scenes, args.convention, size)
        v = evaluate(model, processor, scenes, args.convention, size, frames=8) if args.video > 0 else None
        b = evaluate(blind, blind_processor, scenes, args.convention, size, blank=True)
        row = {"min": round(learner.cpu / 60, 2), "steps": learner.steps, "blind_min": round(blind_learner.cpu / 60, 2),
               "blind_steps": blind_learner.steps,
               "loss": round(float(np.mean(learner.losses[-20:])), 3) if learner.losses else None,
               "model": m, "blind": b, "mean_box": mean_box_score, "model_as_video": v}
        if when_scenes:
            row["model_when"] = evaluate_when(model, processor, when_scenes, args.convention)
            row["blind_when"] = evaluate_when(blind, blind_processor, when_scenes, args.convention, blank=True)
            if args.presence > 0 and args.rivals > 0:
                for key in ("model_when", "blind_when"):
                    row[key]["matches"] = presence_matches(when_scenes, row[key]["spans"])
        curve.append(row)
        if args.json:  # the curve so far, so a run stopped early keeps its points
            atomic_write_json(args.json, finite({"header": header, "curve": curve, "finished": False}))
        fmt = lambda d: " ".join(f"{d['iou_by_n'].get(str(n), 0):.2f}" for n in counts)
        bind = "  -  " if m["bind"] is None else f"{m['bind']:.2f} ({m['hits']:3d})"
        print(f"{row['min']:5.1f} {row['steps']:6d} {row['loss'] if row['loss'] is not None else '':>6} | "
              f"{m['iou']:.3f} {m['iou50']:.2f} {m['parse']:.2f}  {fmt(m)}  {bind} | {b['iou']:.3f} {fmt(b)} | "
              f"{mean_box_score['iou']:.3f} {fmt(mean_box_score)}   e.g. {m['example']!r}", flush=True)
        if when_scenes:
            mw, bw = row["model_when"], row["blind_when"]
            kinds = lambda d: " ".join(f"{k} {t:.2f}" for k, (t, _) in d["by_event"].items())
            print(f"{'':20} when tIoU: model {mw['tiou']:.3f} ({kinds(mw)}) parse {mw['parse']:.2f} | blind "
                  f"{bw['tiou']:.3f} ({kinds(bw)}) | whole video {mw['whole']:.3f}, question prior {mw['prior']:.3f}, "
                  f"frame reader {mw['reader']:.3f}"
                  f"   e.g. {mw['example']!r}", flush=True)
            if "matches" in mw:
                match = lambda d: ", ".join(f"{k} {v:.3f}" for k, v in d["matches"].items())
                print(f"{'':20} answers match (tIoU) the run of: model {match(mw)} | blind {match(bw)}", flush=True)
        if v is not None:
            print(f"{'':20} as 8 frames: {v['iou']:.3f} {v['iou50']:.2f} {v['parse']:.2f}  {fmt(v)}  bind "
                  f"{v['bind']} ({v['hits']})   e.g. {v['example']!r}", flush=True)

    report()
    budget, blind_budget = recipe.minutes * 60, blind_recipe.minutes * 60
    next_eval = args.eval_every * 60
    while learner.cpu < budget:
        learner.step()
        while blind_learner.cpu < min(learner.cpu, blind_budget):  # keep the blind model's clock level with it
            blind_learner.step()
        if learner.cpu >= next_eval or learner.cpu >= budget:
            report()
            next_eval += args.eval_every * 60
    result = {"header": header, "curve": curve, "steps_per_cpu_min": round(learner.steps / (learner.cpu / 60), 1),
              "finished": True}
    if args.json:
        atomic_write_json(args.json, finite(result))
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": model.state_dict(), "blind": blind.state_dict(), "header": header}, args.save)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=("qwen3_vl", "qwen2_5_vl"), default="qwen3_vl")
    p.add_argument("--size", choices=("small", "base"), default="small")
    p.add_argument("--seed", type=int, default=0, help="model initialisation; training data uses seed + 1")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--convention", type=BoxConvention, choices=list(BoxConvention), default=BoxConvention.RELATIVE_1000)
    p.add_argument("--objects", type=int, nargs=2, default=None, metavar=("MIN", "MAX"),
                   help="objects per training image (default 1 3); a single number N means N N")
    p.add_argument("--colours", type=int, default=len(COLOURS), help="use the first K colours")
    p.add_argument("--sizes", type=float, nargs=2, default=(0.15, 0.40), metavar=("LO", "HI"),
                   help="object side as a fraction of min(width, height)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    p.add_argument("--minutes", type=float, default=8.0, help="CPU minutes of training for the model")
    p.add_argument("--blind-minutes", type=float, default=None, help="CPU minutes for the blind model (default: same)")
    p.add_argument("--eval-every", type=float, default=1.0, help="CPU minutes between evaluations")
    p.add_argument("--eval-per-count", type=int, default=64, help="held-out images per object count (1, 2, 3)")
    p.add_argument("--single-minutes", type=float, default=0.0, help="curriculum: single objects for the first M minutes")
    p.add_argument("--vision-lr-mult", type=float, default=1.0)
    p.add_argument("--dense", type=float, default=0.0, help="weight of per-patch colour/shape supervision")
    p.add_argument("--attn-sup", type=float, default=0.0, help="weight of attention supervision onto the named object")
    p.add_argument("--reverse", type=float, default=0.0,
                   help='share of training questions asked the other way round, "What is at <box>?"')
    p.add_argument("--video", type=float, default=0.0,
                   help="share of training questions asked in the video form (1-8 labelled frames of the image); "
                        "the curve then also scores the held-out frames asked as 8 frames")
    p.add_argument("--context", type=float, default=0.0,
                   help="share of training questions preceded by 1-4 sentences (o3video.lab.perception.pretrain.CONTEXT), so "
                        "the text between the image and the answer varies")
    p.add_argument("--where", type=float, default=0.0,
                   help="share of training questions asked in V-STaR's chain-1 where layout (o3video.lab.perception.pretrain."
                        "ask_where)")
    p.add_argument("--clause", type=float, default=0.0,
                   help="share of training questions ending with a clause (o3video.lab.perception.pretrain.CLAUSES)")
    p.add_argument("--motion", type=float, default=0.0,
                   help="share of the where-layout questions whose objects move and may change colour "
                        "(o3video.lab.perception.pretrain.add_motion)")
    p.add_argument("--world", type=float, default=0.0,
                   help="share of training questions about new videos of the synthetic world, in the where layout "
                        "(o3video.lab.perception.pretrain.world_scene)")
    p.add_argument("--events", type=float, default=0.0,
                   help="share of those asked the world's own questions about the video's events")
    p.add_argument("--what", type=float, default=0.0,
                   help="share of the world's videos asked its own V-STaR what question instead")
    p.add_argument("--when", type=float, default=0.0,
                   help="share of the other world videos asked its own V-STaR chain-1 when question; the curve then "
                        "also scores when (tIoU) on --when-eval held-out world videos, model and blind")
    p.add_argument("--when-eval", type=int, default=96, help="held-out world videos asked their when question")
    p.add_argument("--presence", type=float, default=0.0,
                   help="share of training questions asking when one object is seen in 8 labelled frames, blank where "
                        "it is not (PresenceScene); the curve then scores when on --when-eval such held-out questions "
                        "instead of the world's")
    p.add_argument("--rivals", type=int, default=0,
                   help="other objects in each presence question, each shown in a run of frames of its own, so the "
                        "named object has to be told from them")
    p.add_argument("--unique", action="store_true",
                   help="no two objects share a colour or a shape (the easy preset's rule)")
    p.add_argument("--init", help="start model and blind model from a --save file")
    p.add_argument("--base", help="start model and blind model from a saved model folder, e.g. the perception base "
                                  "of `o3video perception-base` (its architecture and size; --arch/--size unused)")
    p.add_argument("--save", help="write model and blind weights here at the end")
    p.add_argument("--json", help="write header and curve here")
    p.add_argument("--work", help="directory for the built tiny model (default: a temporary one)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = p.parse_args(argv)
    args.objects = tuple(args.objects) if args.objects else (1, 3)
    return args


def plot(path: str | Path, curves: list[str | Path]) -> Path:
    """One picture of several runs' curves (each a `--json` file, named by its stem): binding with the chance of
    pointing at a random object, and mean IoU with the named object on 2 and 3 objects, against CPU minutes."""
    bind = Panel("bind: hits on the named object", "CPU minutes", legend=True)
    iou = [Panel("IoU with the named object, 2 objects", "CPU minutes"), Panel("... 3 objects", "CPU minutes")]
    for file in curves:
        result = json.loads(Path(file).read_text())
        rows = [row for row in result["curve"] if row["model"]["bind"] is not None]
        minutes = [row["min"] for row in rows]
        bind.lines.append((Path(file).stem, minutes, [row["model"]["bind"] for row in rows]))
        for panel, n in zip(iou, ("2", "3")):
            panel.lines.append((Path(file).stem, minutes, [row["model"]["iou_by_n"][n] for row in rows]))
        counts = [int(n) for n in result["header"]["random_object_iou_by_n"] if int(n) > 1]
        bind.reference = ("chance", float(np.mean([1 / n for n in counts])))
    return line_panels(path, [bind, *iou])


def plot_when(path: str | Path, curves: list[str | Path]) -> Path:
    """Several `--when` runs' curves (`--json` files, named by their stems): *when* tIoU on the held-out world videos,
    seeing and blind, against CPU minutes, overall and by event kind, with the best single span per event kind
    fitted on those videos (an upper bound for an answer that reads only the question) for reference; for
    `--rivals` runs also whose run of frames the seeing model's answers match (`presence_matches`)."""
    results = [(Path(file).stem, json.loads(Path(file).read_text())) for file in curves]
    rows = [(stem, [row for row in result["curve"] if "model_when" in row]) for stem, result in results]
    rows = [(stem, found) for stem, found in rows if found]
    if not rows:
        raise SystemExit("no curve here scored when (run bench/perception.py with --when)")
    first = rows[0][1][0]["model_when"]
    overall = Panel(f"when tIoU, held-out questions (whole video {first['whole']:.2f})", "CPU minutes",
                    legend=True, reference=(f"question prior ({rows[0][0]})", first["prior"]))
    kinds = {kind: Panel(f"... {kind}", "CPU minutes") for _, found in rows for kind in found[0]["model_when"]["by_event"]}
    for stem, found in rows:
        minutes = [row["min"] for row in found]
        for key, who in (("model_when", "seeing"), ("blind_when", "blind")):
            overall.lines.append((f"{stem} {who}", minutes, [row[key]["tiou"] for row in found]))
            for kind in found[0][key]["by_event"]:
                kinds[kind].lines.append((f"{stem} {who}", minutes, [row[key]["by_event"][kind][0] for row in found]))
    panels = [overall, *kinds.values()] if len(kinds) > 1 else [overall]  # one kind (presence) is the overall
    matched = [(stem, found) for stem, found in rows if "matches" in found[0]["model_when"]]
    if matched:  # --rivals runs: is the seeing model's answer the named object's run, or any object's?
        panels.append(Panel("seeing: answers match the run of", "CPU minutes", legend=True))
        for stem, found in matched:
            for whose in ("named", "rival", "any"):
                panels[-1].lines.append((f"{stem} {whose}", [row["min"] for row in found],
                                         [row["model_when"]["matches"][whose] for row in found]))
    return line_panels(path, panels, sharey=True)


LAYOUTS = {"model": "one image", "model_as_video": "8 labelled frames", "model_as_where": "V-STaR where layout",
           "model_as_where_clause": "where layout, a clause in the question",
           "model_as_moving": "where layout, objects moving", "model_as_world": "the world's videos",
           "model_as_world_events": "the world's videos, its event questions"}


def plot_stages(path: str | Path, curve_file: str | Path) -> Path:
    """The learning curve of a `pretrain_perception` run (its `perception.json`): IoU with the named object, and
    binding, in every layout the run scored, against CPU minutes, with the mean box's IoU for reference; from the
    what stage on, the accuracy on the world's *what* questions, from the when stage on the tIoU on its *when*
    questions, each seeing and on blank frames."""
    info = json.loads(Path(curve_file).read_text())
    iou = Panel("IoU with the named object (1-3 objects)", "CPU minutes", legend=True,
                reference=("mean box", info["mean_box"]["iou"]))
    bind = Panel("bind: hits on the named object", "CPU minutes")
    for key, label in LAYOUTS.items():
        rows = [row for row in info["curve"] if key in row]
        if rows:
            iou.lines.append((label, [row["cpu_min"] for row in rows], [row[key]["iou"] for row in rows]))
        rows = [row for row in rows if row[key]["bind"] is not None]  # None: no answer hit an object
        if rows:
            bind.lines.append((label, [row["cpu_min"] for row in rows], [row[key]["bind"] for row in rows]))
    panels = [iou, bind]
    for kind, measure, reference, title in (("what", "accuracy", ("most frequent answer", "most_frequent"), "accuracy"),
                                            ("when", "tiou", ("question prior", "prior"), "tIoU")):
        rows = [row for row in info["curve"] if f"model_as_{kind}" in row]
        if not rows:
            continue
        value = rows[0][f"model_as_{kind}"].get(reference[1])  # absent from curves written before it was scored
        panel = Panel(f"{kind}: {title} on the world's videos", "CPU minutes", legend=True,
                      reference=None if value is None else (reference[0], value))
        for key, label in ((f"model_as_{kind}", "seeing"), (f"model_as_{kind}_blank", "blank frames")):
            panel.lines.append((label, [row["cpu_min"] for row in rows], [row[key][measure] for row in rows]))
        panels.append(panel)
    return line_panels(path, panels)


# ----------------------------------------------------------------------------------------------------- layouts
FILLER = "frame"  # a word the tiny tokenizers know; the layouts below add it to move the image in the prompt
CITED = "8 frames, spatio-temporal QA"  # the perception replay's still-video form: the box is cited in <think>


def layout_forms(convention: BoxConvention, size: tuple[int, int]) -> dict[str, Callable[[Scene], list[dict[str, Any]]]]:
    """The held-out frames asked in prompt layouts the base was trained on (the image; 8 labelled copies) and ones
    it was not (filler words before the image or after it; 12 frames 0.5 s apart; the image as one of 8 frames,
    the others blank; 8 frames asked as spatio-temporal QA, the perception replay's form), each as chat messages
    from the project's prompt builder."""
    convention = convention
    blank = Image.new("RGB", size, (BLANK_GREY,) * 3)

    def image(scene: Scene, before: int = 0, after: int = 0) -> list[dict[str, Any]]:
        messages = build_messages(scene.image, scene.question, Task.VISUAL, box_convention=convention)
        content = messages[1]["content"]
        if before:
            content.insert(0, {"type": "text", "text": " ".join([FILLER] * before) + "\n"})
        if after:
            content[-1]["text"] = " ".join([FILLER] * after) + "\n" + content[-1]["text"]
        return messages

    def video(scene: Scene, count: int, spacing: float, only: int | None = None,
              instruction: str | None = answer_instruction(Task.VISUAL)) -> list[dict[str, Any]]:
        frames = [Frame(round(k * spacing, 2), scene.image if only in (None, k) else blank, index=k)
                  for k in range(count)]
        return build_messages(frames, scene.question, Task.SPATIO_TEMPORAL, duration=count * spacing,
                              instruction=instruction, box_convention=convention)

    return {
        "the image (trained)": image,
        "4 words before the image": lambda s: image(s, before=4),
        "16 words after the image": lambda s: image(s, after=16),
        "8 frames 1 s apart (trained)": lambda s: video(s, 8, 1.0),
        "12 frames 0.5 s apart": lambda s: video(s, 12, 0.5),
        "1 of 8 frames, the rest blank": lambda s: video(s, 8, 1.0, only=s.target * 3 % 8),
        CITED: lambda s: video(s, 8, 1.0, instruction=None),
    }


def first_box(text: str, convention: BoxConvention, size: tuple[int, int]) -> list[float] | None:
    """The answer's box (visual QA), else the first box cited in the reasoning (spatio-temporal QA), else the first
    of V-STaR's JSON boxes by second (its *where* answer), in pixels."""
    from o3video.data.vstar import parse_spatial_answer

    box = answer_box(text, convention, size)
    if box is None:
        found = parse(text).boxes or list(parse_spatial_answer(text).values())
        box = answer_box(render_box(found[0]), convention, size) if found else None
    return box


def world_videos(model, processor, world: Path, convention: BoxConvention, frames: int = 8, wording: str = "plain") -> dict[str, Any]:
    """The synthetic world's V-STaR test videos (`world/vstar_test.json`), `frames` sampled as the demo samples
    them, asked where the record's object is: "Where is the <object>?" with the visual-QA answer line (`plain`) or
    as spatio-temporal QA (`cited`: the form of the perception replay's still videos, the box cited in the
    reasoning), or V-STaR's own chain-1 *where* question and instruction (`vstar`: ~60 words between the frames and
    the answer). Scored by `first_box`: IoU with the object's box at its best-matching ground-truth second (it
    moves), and the centre box's for reference."""
    from o3video.data.vstar import ground_truth_boxes, vstar_prompts
    from o3video.geometry import rescale_box
    from o3video.models import frame_settings, generate
    from o3video.video.sampling import sample_frames

    records = json.loads((world / "vstar_test.json").read_text())
    ious, centre = [], []
    for record in records:
        sampled = sample_frames(world / record["video_path"], frames, **frame_settings(processor))
        width, height = sampled.frames[0].image.size
        if wording == "vstar":
            where = next(prompt for prompt in vstar_prompts(record) if prompt.kind == "where_1")
            question, task, instruction = where.question, where.task, where.instruction
        else:
            question, task = f"Where is the {record['object']}?", Task.SPATIO_TEMPORAL
            instruction = None if wording == "cited" else answer_instruction(Task.VISUAL)
        messages = build_messages(sampled.frames, question, task, duration=sampled.duration, instruction=instruction,
                                  box_convention=convention)
        text = generate(model, processor, [messages], max_new_tokens=96)[0][0]
        box = first_box(text, convention, (width, height))
        truth = [rescale_box([b["xmin"], b["ymin"], b["xmax"], b["ymax"]], (record["width"], record["height"]),
                             (width, height)) for b in ground_truth_boxes(record)]
        ious.append(max(box_iou(box, t) for t in truth) if box is not None else 0.0)
        centre.append(max(box_iou([width / 4, height / 4, 3 * width / 4, 3 * height / 4], t) for t in truth))
    return {"records": len(records), "iou": round(float(np.mean(ious)), 4),
            "iou50": round(float(np.mean(np.array(ious) >= 0.5)), 4), "centre_box_iou": round(float(np.mean(centre)), 4)}


def layouts(model_dir: str, world: str | None = None, per_count: int = 16, threads: int = 1) -> dict[str, Any]:
    """Score a saved model (e.g. a perception base) on the held-out frames in every `layout_forms` layout, and on
    the world's test videos when `world` is given: does its localisation depend on where the image sits?"""
    from o3video.lab.perception.scenes import world_of
    from o3video.models import box_convention_of, generate, load_model

    torch.set_num_threads(threads)
    model, processor = load_model(model_dir, dtype="float32")
    model.eval()
    frame = world_of(processor)
    size, convention = (frame.width, frame.height), box_convention_of(model)
    scenes = eval_set(frame, [1, 2, 3], per_count)
    result: dict[str, Any] = {"model": str(model_dir), "frames": len(scenes)}
    for name, make in layout_forms(convention, size).items():
        texts = [c[0] for i in range(0, len(scenes), 16)
                 for c in generate(model, processor, [make(s) for s in scenes[i:i + 16]], max_new_tokens=64)]
        r = score([first_box(t, convention, size) for t in texts], scenes)
        result[name] = r
        print(f"{name:32s} IoU {r['iou']:.3f}  by objects {r['iou_by_n']}  bind {r['bind']} ({r['hits']} hits)",
              flush=True)
    for wording in ("plain", "cited", "vstar") if world is not None else ():
        result[f"world videos, {wording} wording"] = r = world_videos(model, processor, Path(world), convention,
                                                                      wording=wording)
        print(f"{'world test videos, ' + wording + ' wording':32s} IoU {r['iou']:.3f}  >=0.5 {r['iou50']:.2f}  "
              f"(centre box {r['centre_box_iou']:.3f}, {r['records']} videos)", flush=True)
    return result


WORLD_ROWS = ("drawn, plain", "drawn, its clause", "decoded, plain", "decoded, its clause")


def world_where(model_dir: str, worlds: list[str], threads: int = 1) -> dict[str, Any]:
    """Where does a base lose the synthetic world's chain-1 *where* questions? Every V-STaR test record of each world
    folder (`vstar_test.json`, with the scene plans in `truth/`) asked in V-STaR's *where* layout about the record's
    object and span, four ways: its 8 frames drawn in memory by the world's rasteriser or decoded from the video as
    the demo samples them, and the question "Where is the <object>?" or the record's own, with its clause ("... while
    it touches the red cross?"). Scored by vIoU over the asked seconds (`where_viou`); the last row is the demo's own
    score of V-STaR's prompt on the decoded frames (`spatial_scores`)."""
    from o3video.data.synth.scene_plan import ScenePlan
    from o3video.data.synth.truth import compute_truth
    from o3video.data.vstar import parse_spatial_boxes, rescale_spatial, span_seconds, vstar_prompts
    from o3video.eval.vstar_metrics import spatial_scores
    from o3video.lab.demo.settings import DemoSettings
    from o3video.lab.perception.scenes import world_of
    from o3video.lab.perception.scoring import evaluate_asked
    from o3video.lab.perception.world_scenes import asked_scene
    from o3video.models import box_convention_of, frame_settings, generate, load_model
    from o3video.video.sampling import sample_frames

    torch.set_num_threads(threads)
    model, processor = load_model(model_dir, dtype="float32")
    frame, convention = world_of(processor), box_convention_of(model)
    tokens = DemoSettings().eval_max_new_tokens  # as long an answer as the demo's evaluation allows
    asked: dict[str, list[Scene]] = {row: [] for row in WORLD_ROWS}
    official = []
    for world in map(Path, worlds):
        for record in json.loads((world / "vstar_test.json").read_text()):
            plan = ScenePlan.from_dict(json.loads((world / "truth" / f"{record['vid']}.json").read_text())["plan"])
            truth, seconds = compute_truth(plan), span_seconds(record)
            target = next(o.id for o in plan.objects if o.name_at(seconds[0] * plan.fps) == record["object"])
            sampled = sample_frames(world / record["video_path"], 8, **frame_settings(processor))
            times = [f.timestamp for f in sampled.frames]
            clause = record["spatial_question"].removeprefix(f"Where is the {record['object']}").removesuffix("?")
            for row in WORLD_ROWS:
                scene = asked_scene(plan, truth, frame, target, (seconds[0], seconds[-1]),
                                    clause.strip() if "clause" in row else "", times)
                scene.shown = [f.image for f in sampled.frames] if row.startswith("decoded") else None
                asked[row].append(scene)
            prompt = next(prompt for prompt in vstar_prompts(record) if prompt.kind == "where_1")
            messages = build_messages(sampled.frames, prompt.question, prompt.task, duration=sampled.duration,
                                      instruction=prompt.instruction, box_convention=convention)
            text = generate(model, processor, [messages], max_new_tokens=tokens)[0][0]
            boxes = rescale_spatial(parse_spatial_boxes(text), sampled.frames[0].image.size,
                                    (record["width"], record["height"]), convention)
            official.append(spatial_scores(record, boxes)[0])
    result: dict[str, Any] = {"model": str(model_dir), "records": len(official)}
    for row, scenes in asked.items():
        result[row] = scored = evaluate_asked(model, processor, scenes, convention, (frame.width, frame.height),
                                              where_tokens=tokens)
        print(f"{row:28s} vIoU {scored['viou']:.3f}  first box IoU {scored['iou']:.3f}  bind {scored['bind']} "
              f"({scored['hits']} hits)", flush=True)
    result["decoded, V-STaR's prompt as the demo scores it"] = {"viou": round(float(np.mean(official)), 4)}
    print(f"{'decoded, V-STaR prompt (demo)':28s} vIoU {np.mean(official):.3f}   {len(official)} records", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["plot"]:  # bench/perception.py plot OUT.png CURVE.json [CURVE.json ...]
        if len(argv) < 3:
            raise SystemExit("usage: perception.py plot OUT.png CURVE.json [CURVE.json ...]")
        print(plot(argv[1], argv[2:]))
        return 0
    if argv[:1] == ["when"]:  # bench/perception.py when OUT.png CURVE.json [CURVE.json ...]
        if len(argv) < 3:
            raise SystemExit("usage: perception.py when OUT.png CURVE.json [CURVE.json ...]")
        print(plot_when(argv[1], argv[2:]))
        return 0
    if argv[:1] == ["stages"]:  # bench/perception.py stages OUT.png MODEL/perception.json
        if len(argv) != 3:
            raise SystemExit("usage: perception.py stages OUT.png PERCEPTION.json")
        print(plot_stages(argv[1], argv[2]))
        return 0
    if argv[:1] == ["layouts"]:  # bench/perception.py layouts MODEL [WORLD] [--json OUT]
        p = argparse.ArgumentParser(prog="perception.py layouts", description=layouts.__doc__)
        p.add_argument("model")
        p.add_argument("world", nargs="?", help="a synthetic world folder (vstar_test.json and its videos)")
        p.add_argument("--per-count", type=int, default=16, help="held-out frames per object count (1, 2, 3)")
        p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
        p.add_argument("--json", help="write the scores here")
        args = p.parse_args(argv[1:])
        result = layouts(args.model, args.world, args.per_count, args.threads)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
        return 0
    if argv[:1] == ["world"]:  # bench/perception.py world MODEL WORLD [WORLD ...] [--json OUT]
        p = argparse.ArgumentParser(prog="perception.py world", description=world_where.__doc__)
        p.add_argument("model")
        p.add_argument("worlds", nargs="+", help="synthetic world folders (vstar_test.json, videos/, truth/)")
        p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
        p.add_argument("--json", help="write the scores here")
        args = p.parse_args(argv[1:])
        result = world_where(args.model, args.worlds, args.threads)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
        return 0
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
