"""`o3video ablate`: the paper's ablation arms on the demo's world, each over N seeds, then the tables.

Every arm and seed is a run folder `OUT/arms/ARM/seed-K`. The SFT+GSPO arm is the demo itself (`run_demo`:
its blind twin, its cache, its MCQ votes and faithfulness probe); its run also holds the base and SFT
evaluations, which are the base and SFT-only rows. Every other arm links the seed's world, frame cache and base
model from that run (and its SFT model, for the arms whose RL starts from it: the SFT of all SFT+RL arms is one
model per seed) and trains only what differs, with the demo's own stages, so a killed arm resumes from its last
checkpoint or evaluated record. A finished arm writes `arm.json` and is re-read, never retrained.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from rich.console import Console

from o3video.io import atomic_write_json, atomic_write_text, finite
from o3video.lab.ablate.arms import QUICK_ARMS, REFERENCE, Arm, arms_of
from o3video.lab.ablate.paper import TABLES
from o3video.lab.ablate.results import ARM_DONE, collect, run_folder
from o3video.lab.demo.run import Demo, run_demo
from o3video.lab.demo.seeds import seed_settings
from o3video.lab.demo.settings import DemoSettings
from o3video.progress import ProgressBar
from o3video.train.checkpoints import finished_step

console = Console(stderr=True)
ALL_TABLES = tuple(t.number for t in TABLES)


@dataclass
class AblateSettings:
    """What to run: the tables, the seeds, and the demo settings (sizes, world, recipes) every arm shares."""

    out: Path = Path("runs/ablate")
    tables: tuple[int, ...] = ALL_TABLES
    seeds: int = 3
    quick: bool = False  # two arms (QUICK_ARMS) at the demo's quick sizes
    demo: DemoSettings = field(default_factory=DemoSettings)

    def arms(self) -> tuple[Arm, ...]:
        return arms_of(self.tables, QUICK_ARMS if self.quick else None)


def arm_settings(settings: AblateSettings, arm: Arm, k: int) -> DemoSettings:
    """The demo settings of `arm`'s k-th seed: the shared ones with the arm's recipe changes. Arms other than the
    reference train their chains one after the other, so each gets all the threads."""
    demo = settings.demo
    own = {} if arm.name == REFERENCE else {"threads": demo.threads}
    one = replace(demo, out=Path(settings.out) / "arms" / arm.name,
                  sft_settings={**demo.sft_settings, **own, **arm.sft_settings},
                  rl_settings={**demo.rl_settings, **own, **arm.rl_settings})
    return seed_settings(one, k)


def link_shared(folder: Path, reference: Path, arm: Arm) -> None:
    """Link the seed's world, frame cache and base model (and SFT models, for an arm starting from them) from the
    reference run into `folder` (relative links: the output folder can move)."""
    shared = ["data", "cache", "models/base"]
    if arm.shared_sft:
        shared += ["models/sft"] + (["models/blind_sft"] if arm.blind else [])
    for name in shared:
        link = folder / name
        if not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.relpath(reference / name, link.parent), link)


def _trained(demo: Demo, stage: str, start: Path, blind: bool, name: str) -> Path:
    target = demo.model_dir(stage, blind)
    if finished_step(target) is None:
        demo.timed(name, demo.train, stage, start, blind)
    return target


def run_chain(demo: Demo, arm: Arm, blind: bool) -> None:
    """Train the arm's stages (on blank frames for its blind twin) and evaluate the last model on V-STaR."""
    tag = "blind " if blind else ""
    model = demo.models / "base"
    if "sft" in arm.stages:
        model = _trained(demo, "sft", model, blind, f"{tag}SFT")
    elif arm.shared_sft:
        model = demo.model_dir("sft", blind)
    if "rl" in arm.stages:
        model = _trained(demo, "rl", model, blind, f"{tag}RL ({arm.label})")
    key = ("blind_" if blind else "") + arm.eval_key
    demo.timed(f"evaluate {tag}{arm.label}", demo.evaluate, f"{tag}{arm.label}", model, key, blind)


def train_arm(settings: DemoSettings, arm: Arm, reference: Path) -> None:
    """One seed of an arm other than the reference, in its own run folder beside the reference's."""
    from o3video.lab.ablate.text_only import text_only_files
    from o3video.train.common import set_threads

    demo = Demo(settings)
    demo.out.mkdir(parents=True, exist_ok=True)
    link_shared(demo.out, reference, arm)
    if arm.text_only:
        files = [str(p) for p in text_only_files(demo.sft_files())]
        demo.s = replace(demo.s, sft_settings={**demo.s.sft_settings, "data.train": files})
    atomic_write_text(demo.out / "settings.json", json.dumps(asdict(demo.s), indent=2, default=str))
    set_threads(settings.threads)
    for blind in (False, True) if arm.blind else (False,):
        run_chain(demo, arm, blind)


def run_arm(settings: AblateSettings, arm: Arm, k: int) -> None:
    """Run (or finish) one seed of `arm` and mark it done; a finished one is left as it is."""
    folder = run_folder(settings.out, arm.name, k)
    if not arm.stages or (folder / ARM_DONE).is_file():  # no stages: an evaluation of the reference's run
        return
    one = arm_settings(settings, arm, k)
    if arm.name == REFERENCE:
        run_demo(one)
    else:
        train_arm(one, arm, run_folder(settings.out, REFERENCE, k))
    timings = json.loads((folder / "timings.json").read_text()) if (folder / "timings.json").is_file() else {}
    atomic_write_json(folder / ARM_DONE, {"arm": arm.name, "seed": one.seed, "timings": timings,
                                          "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
                                          "seconds": round(sum(timings.values()), 1)})


def todo(settings: AblateSettings) -> list[tuple[Arm, int]]:
    """The arm runs still to do, seed by seed (every arm of seed 0 first), the reference first in each seed."""
    return [(arm, k) for k in range(settings.seeds) for arm in settings.arms()
            if arm.stages and not (run_folder(settings.out, arm.name, k) / ARM_DONE).is_file()]


def run_ablation(settings: AblateSettings) -> Path:
    """Run (or finish) every arm of the chosen tables over the seeds, then write the report; returns ablate.md."""
    import logging

    from o3video.lab.ablate.estimate import estimate

    logging.getLogger("transformers").setLevel(logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    left = todo(settings)
    runs = [(arm, k) for k in range(settings.seeds) for arm in settings.arms() if arm.stages]
    folders = [run_folder(settings.out, REFERENCE, k) for k in range(settings.seeds)] + [Path("runs/demo")]
    seconds, source = estimate(settings.demo, [arm for arm, _ in left], folders)
    console.print(f"ablate: {len(runs)} arm runs ({len(settings.arms())} arms × {settings.seeds} seeds), "
                  f"{len(left)} to do; estimated CPU time {seconds / 60:.1f} min (from {source})", soft_wrap=True)
    for arm, k in left:
        done = len(runs) - len(todo(settings))
        with ProgressBar(total=len(runs), desc="ablate", unit="arm runs", initial=done) as bar:
            bar.write(f"next: {arm.label}, seed {k} ({run_folder(settings.out, arm.name, k)})")
        run_arm(settings, arm, k)
    return write_report(settings)


def _run_settings(folder: Path) -> dict | None:
    """The settings a run folder was trained with (its settings.json), None before it started."""
    path = folder / "settings.json"
    return json.loads(path.read_text()) if path.is_file() else None


def write_report(settings: AblateSettings) -> Path:
    """ablate.md (a section per table), a plot per table and ablate.json, all read from the runs' summaries."""
    from o3video.lab.ablate.plot import plot_table
    from o3video.lab.ablate.tables import table_markdown

    out = Path(settings.out)
    tables = [t for t in TABLES if t.number in settings.tables]
    rows = collect(out, sorted({row.key for t in tables for row in t.rows}), settings.seeds)
    seeds = f"{settings.seeds} seed{'' if settings.seeds == 1 else 's'}"
    parts = [f"# o3video ablate: the paper's ablations on the demo's world ({settings.demo.world}), {seeds}", "",
             ("Each cell is mean ± sd across seeds (percent); each claim's effect is the per-seed difference better − "
              "worse, and counts only when larger than twice its sd. The paper's numbers are Qwen2.5-VL-7B on the real "
              "benchmarks; ours are the tiny model on the synthetic world. "
              f"Votes use N = {settings.demo.tts_samples}."),
             ""]
    for table in tables:
        picture = plot_table(table, rows, out / f"table-{table.number}.png")
        parts += [table_markdown(table, rows), "", f"![Table {table.number}]({picture.name})", ""]
    atomic_write_json(out / "ablate.json", finite({
        "settings": json.loads(json.dumps(asdict(settings), default=str)),
        "arms": {arm.name: asdict(arm) for arm in settings.arms()},
        "runs": {key: [None if m is None else asdict(m) for m in seeds] for key, seeds in rows.items()},
        "run_settings": {arm.name: [_run_settings(run_folder(out, arm.name, k)) for k in range(settings.seeds)]
                         for arm in settings.arms() if arm.stages},
    }))
    return atomic_write_text(out / "ablate.md", "\n".join(parts))


__all__ = ["AblateSettings", "arm_settings", "link_shared", "run_ablation", "run_arm", "run_chain", "todo",
           "train_arm", "write_report"]
