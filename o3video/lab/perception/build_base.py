"""The demo's perception-pretrained tiny base: built once by a project command, cached where the demo finds it.

`o3video perception-base` (or `o3video demo --base perception`, which builds it when the cache lacks it):
1. renders the demo's synthetic world at seed 0 and trains the tiny model's tokenizer on its texts and on the
   perception questions, so the base reads every demo seed's prompts;
2. builds the tiny model (`--arch`, default Qwen3-VL: the architecture that learns to localise at toy scale);
3. pre-trains it to localise named objects (`o3video.lab.perception.pretrain.pretrain_perception`), resumably: single
   objects first, then the named one among 1-3 objects with attention supervision (binding), then the same with
   half the questions asked as videos of 1-8 labelled frames (so the boxes do not depend on the prompt's layout),
   then the same with half of them asked in V-STaR's chain-1 *where* layout (the benchmark's instruction between
   the frames and the answer, which the video stage's boxes do not survive), then (`--world-steps`) with half of
   them about new videos of the synthetic world itself, asked its own event questions, then (`--what-steps`, 0 by
   default) with three quarters of them about such videos, half of those the world's own *what* questions.

The result lands in `$O3VIDEO_CACHE/bases/<key>` (default `~/.cache/o3video`), the key covering the recipe and
the code that builds it; `base.json` there records the command, seed, time taken and learning curve.

`--from DIR` continues a saved base (`base.json` beside its weights, or any model folder) by the recipe's stages
with a fresh optimizer, so a build longer than one sitting can be made in parts: `base.json` then records every
part's command (`parts`) and the stages all parts trained together (`total`).

A source checkout may embed a base in `bases/perception` (the repository's, a few MB): `o3video demo --base
perception` takes it when its `total` is the asked recipe and the cache has no build of it (`embedded_base`).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from o3video.io import atomic_write_text
from o3video.lab.demo.blind_cache import cache_root, files_digest, put_in_place, recipe_key

console = Console(stderr=True)
INFO = "base.json"
# The code a base depends on: the pre-training, the tiny model and its tokenizer, the synthetic world.
_CODE = ("lab/perception", "lab/vstar_practice.py", "models/tiny.py", "models/tokenizer.py", "models/corpus.py",
         "data/synth")


@dataclass(frozen=True)
class BaseRecipe:
    arch: str = "qwen3_vl"
    size: str = "small"
    seed: int = 0
    steps: int = 4000  # single objects
    binding_steps: int = 4000  # then the named one among 1-3, with attention supervision
    video_steps: int = 400  # then half of the questions asked in the video form
    where_steps: int = 400  # then half of them asked in V-STaR's chain-1 *where* layout
    world_steps: int = 400  # then half of them about new videos of the synthetic world, asked its event questions
    what_steps: int = 0  # then three quarters about such videos, half of those asked its *what* questions
    when_steps: int = 0  # then the same, half of those asked its chain-1 *when* questions instead
    source: str = ""  # a saved base to continue (`--from`); "" builds a new tiny model

    def command(self) -> str:
        start = f" --from {self.source}" if self.source else ""
        return (f"o3video perception-base --arch {self.arch} --size {self.size} --seed {self.seed}{start} "
                f"--steps {self.steps} --binding-steps {self.binding_steps} --video-steps {self.video_steps}"
                f" --where-steps {self.where_steps} --world-steps {self.world_steps} --what-steps {self.what_steps}"
                f" --when-steps {self.when_steps}")


STAGES = ("steps", "binding_steps", "video_steps", "where_steps", "world_steps", "what_steps", "when_steps")
TOTAL = ("arch", "size", "seed", *STAGES)  # what a base's parts trained together (`base.json`'s `total`)
EMBEDDED = Path(__file__).resolve().parents[3] / "bases" / "perception"


def total_of(info: dict[str, Any]) -> dict[str, Any]:
    """What a base's parts trained together: arch, size, seed and the steps of each stage (`base.json`'s `total`;
    a base built in one part has its recipe)."""
    if "total" in info:
        return dict(info["total"])
    recipe = info.get("recipe") or {}
    return {key: recipe.get(key) for key in TOTAL}


def total_of_recipe(recipe: BaseRecipe) -> dict[str, Any]:
    """The `total` of a base built by `recipe` in one part (its source left out)."""
    return {key: getattr(recipe, key) for key in TOTAL}


def embedded_base(recipe: BaseRecipe, root: Path | None = None) -> Path | None:
    """The base embedded in a source checkout (`root`, default `bases/perception`) when all its parts together are
    `recipe`."""
    root = EMBEDDED if root is None else root
    if recipe.source or not (root / INFO).is_file():
        return None
    return root if total_of(json.loads((root / INFO).read_text(encoding="utf-8"))) == total_of_recipe(recipe) else None


def _code_digest() -> str:
    import o3video

    root = Path(o3video.__file__).parent
    files = [f for part in _CODE for f in ((root / part).rglob("*.py") if (root / part).is_dir() else [root / part])]
    return files_digest(files, root)


def base_key(recipe: BaseRecipe) -> str:
    from importlib.metadata import version

    key = {"recipe": asdict(recipe), "code": _code_digest(), "transformers": version("transformers"),
           "torch": version("torch")}
    if recipe.source:  # a continued base is in the key by its bytes
        source = Path(recipe.source)
        key["source"] = files_digest([p for p in source.iterdir() if p.is_file()], source)
    return recipe_key(key)


def cached_base(recipe: BaseRecipe) -> Path | None:
    folder = cache_root() / "bases" / base_key(recipe)
    return folder if (folder / INFO).is_file() else None


def ready_base(recipe: BaseRecipe) -> Path | None:
    """A base of `recipe` at hand without building: the cache's build of it, else the one embedded in this source
    checkout when its parts add up to `recipe`."""
    return cached_base(recipe) or embedded_base(recipe)


def perception_base(recipe: BaseRecipe) -> Path:
    """The base the demo starts from for `recipe`: one at hand (`ready_base`), else a new build
    (`build_perception_base`)."""
    return ready_base(recipe) or build_perception_base(recipe)


def _corpus(work: Path) -> list[str]:
    """The easy world's texts at seed 0 (the demo's default sizes), and the perception questions."""
    from o3video.data.synth.vocab import COLOURS, SHAPES, object_name
    from o3video.lab.demo.settings import DemoSettings
    from o3video.lab.demo.world import make_world, world_corpus

    world, practice = work / "world_seed0" / "world", work / "world_seed0" / "practice"
    s = DemoSettings(seed=0)
    if not (practice / "vstar_practice.json").is_file():
        make_world(world, practice, sft=s.sft_records, rl=s.rl_records, test=s.test_records,
                   practice_videos=s.practice_videos, seed=0, preset="easy")  # the world the base was built on
    questions = [f"Where is the {object_name(c, s)}?" for c in COLOURS for s in SHAPES]
    return [*world_corpus(world, practice), *questions]


def build_perception_base(recipe: BaseRecipe) -> Path:
    """The cached base of `recipe`, built first when missing (resumable: a killed build continues)."""
    from o3video.lab.perception.pretrain import CURVE_FILE, pretrain_perception
    from o3video.models import build_tiny_model

    found = cached_base(recipe)
    if found is not None:
        return found
    key = base_key(recipe)
    folder = cache_root() / "bases" / key
    work = folder.with_name(f".{key}.building")
    started = time.perf_counter()
    spent_file = work / "seconds.txt"
    spent = float(spent_file.read_text()) if spent_file.is_file() else 0.0
    init = Path(recipe.source) if recipe.source else work / "init"
    if not (init / "config.json").is_file():
        build_tiny_model(init, _corpus(work), size=recipe.size, seed=recipe.seed, arch=recipe.arch)

    def progress(row: dict[str, Any]) -> None:
        m = row["model"]
        bind = "-" if m["bind"] is None else f"{m['bind']:.2f} of {m['hits']} hits"
        video = f", as 8 frames IoU {row['model_as_video']['iou']:.3f}" if "model_as_video" in row else ""
        video += f", in V-STaR's where layout IoU {row['model_as_where']['iou']:.3f}" if "model_as_where" in row else ""
        video += f", world videos vIoU {row['model_as_world']['viou']:.3f}" if "model_as_world" in row else ""
        video += f", what accuracy {row['model_as_what']['accuracy']:.3f}" if "model_as_what" in row else ""
        video += f", when tIoU {row['model_as_when']['tiou']:.3f}" if "model_as_when" in row else ""
        console.print(f"perception ({row['stage']}): step {row['steps']:5d}, {row['cpu_min']:5.1f} CPU min, "
                      f"loss {row['loss']}, IoU {m['iou']:.3f} by objects {m['iou_by_n']}, binding {bind}{video}, "
                      f"e.g. {m['example']!r}")
        atomic_write_text(spent_file, f"{spent + time.perf_counter() - started:.1f}")

    trained = pretrain_perception(init, work / "trained", steps=recipe.steps, binding_steps=recipe.binding_steps,
                                  video_steps=recipe.video_steps, where_steps=recipe.where_steps,
                                  world_steps=recipe.world_steps, what_steps=recipe.what_steps,
                                  when_steps=recipe.when_steps, seed=recipe.seed,
                                  progress=progress)
    curve = json.loads((trained / CURVE_FILE).read_text())
    info = {"command": recipe.command(), "recipe": asdict(recipe), "key": key,
            "built": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(spent + time.perf_counter() - started, 1),
            "final": curve["curve"][-1], "mean_box": curve["mean_box"]}
    if recipe.source:
        info.update(_continued(recipe, info))
    atomic_write_text(trained / INFO, json.dumps(info, indent=1))
    put_in_place(trained, folder, INFO)
    shutil.rmtree(work, ignore_errors=True)
    return folder


def _continued(recipe: BaseRecipe, info: dict[str, Any]) -> dict[str, Any]:
    """A continued base's record of its parts: their commands and times, and the stages they trained together."""
    source_info_path = Path(recipe.source) / INFO
    before = json.loads(source_info_path.read_text(encoding="utf-8")) if source_info_path.is_file() else {}
    first = {key: before.get(key) for key in ("command", "built", "seconds")}
    first.update({"how": before["how"]} if "how" in before else {})  # a hand-written note of how it was made
    parts = before.get("parts") or ([first] if before else [])
    total = total_of(before) if before else {**total_of_recipe(recipe), **{key: 0 for key in STAGES}}
    total.update({key: (total.get(key) or 0) + getattr(recipe, key) for key in STAGES})
    seconds = sum(part["seconds"] for part in parts if isinstance(part.get("seconds"), (int, float)))
    return {"parts": [*parts, {key: info[key] for key in ("command", "built", "seconds")}], "total": total,
            "seconds": round(seconds + info["seconds"], 1)}


__all__ = ["EMBEDDED", "STAGES", "BaseRecipe", "base_key", "build_perception_base", "cached_base", "embedded_base",
           "perception_base", "ready_base", "total_of", "total_of_recipe"]
