"""Benchmark: does the demo's SFT keep improving with more steps on its world? A learning curve of the held-out
V-STaR metrics against training CPU minutes, the model beside its blind twin.

It continues from a finished (or partly finished) demo run folder: the same data (the run's STGR, V-STaR practice and
perception-replay records), the same base (`models/base`), the same recipe (`tiny_sft.yaml` plus the run's own
changes) and seed, with only `trainer.max_steps` raised and every `--every`-th checkpoint kept. Each kept
checkpoint is scored on the run's held-out V-STaR split as the demo scores it (`o3video.lab.demo.evaluate`, exact
judge), the blind twin's on blank frames. The two chains train at once, one process and `--threads` each.

CPU minutes are each chain's own process CPU time at each checkpoint (other load on the machine does not count);
a resumed chain adds the time recorded at its last checkpoint. Everything is written under `--out` and resumed:
checkpoints (the trainer's own), `cpu.json` per chain, one results file per evaluation, `curve.json`, `curve.png`.

    python bench/sft_length.py --run runs/ladder-one/seed-2 --steps 1440 --every 180 --out runs/sft-length/seed-2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from dataclasses import replace
from pathlib import Path

from transformers import TrainerCallback

from o3video.io import atomic_write_json
from o3video.lab.demo.report import save_figure
from o3video.lab.demo.run import Demo
from o3video.lab.demo.settings import DemoSettings
from o3video.train.checkpoints import checkpoint_step, checkpoints, complete

METRICS = ("what", "when_1", "where_1", "when_2", "where_2", "mAM", "mLGM")


class CpuAtSave(TrainerCallback):
    """Writes the process CPU time (plus what earlier processes of the chain spent) at every save."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen = json.loads(path.read_text()) if path.is_file() else {}
        self.offset = max(self.seen.values(), default=0.0)
        self.started = time.process_time()

    def on_save(self, args, state, control, **kwargs):
        self.seen[str(state.global_step)] = round(self.offset + time.process_time() - self.started, 1)
        atomic_write_json(self.path, self.seen)


def settings_of(run: Path) -> DemoSettings:
    raw = json.loads((run / "settings.json").read_text())
    fields = DemoSettings.__dataclass_fields__
    settings = DemoSettings(**{k: v for k, v in raw.items() if k in fields})
    return replace(settings, out=Path(run), sft_config=Path(settings.sft_config), rl_config=Path(settings.rl_config))


def chain(run: Path, out: Path, steps: int, every: int, threads: int, blind: bool, train: bool = True) -> None:
    """Train one chain (seeing or blind) to `steps`, keeping every checkpoint, then score each kept checkpoint
    (only score the checkpoints there are when `train` is false)."""
    from o3video.lab.demo.evaluate import evaluate
    from o3video.models import load_model
    from o3video.train import train_sft
    from o3video.train.common import set_threads
    from o3video.train.train_config import load_config

    set_threads(threads)
    demo = Demo(settings_of(run))
    name = "blind" if blind else "seeing"
    folder = out / name
    if train:  # the recipe is read only to train: scoring needs the checkpoints alone
        values = {"model": str(run / "models" / "base"), "output_dir": str(folder),
                  "data.train": [str(f) for f in demo.sft_files()], "data.root": None,
                  "data.num_frames": demo.s.num_frames, "data.cache_dir": str(demo.cache), "data.blank_frames": blind,
                  "threads": threads, "seed": demo.s.seed, **demo.s.sft_settings,
                  "trainer.max_steps": steps, "trainer.save_steps": every, "trainer.save_total_limit": None}
        config = load_config(demo.s.sft_config, list(demo.s.sft_overrides), stage="sft", values=values)
        train_sft(config, callbacks=[CpuAtSave(out / f"cpu_{name}.json")])
    for checkpoint in filter(complete, checkpoints(folder)):
        step = checkpoint_step(checkpoint)
        results = out / "eval" / f"{name}-{step}.jsonl"
        if (out / "eval" / f"{name}-{step}.summary.json").is_file():
            continue
        model, processor = load_model(checkpoint)
        summary = evaluate(f"{name} step {step}", model, processor, anno=demo.world / "vstar_test.json",
                 videos=demo.world / "videos", out=results, num_frames=demo.s.num_frames,
                 max_new_tokens=demo.s.eval_max_new_tokens, cache_dir=demo.cache, blank_frames=blind)
        atomic_write_json(out / "eval" / f"{name}-{step}.summary.json",
                          {k: getattr(summary, k) for k in METRICS})


def curve(out: Path) -> dict:
    """Every scored checkpoint of both chains: step, CPU minutes and the metrics in percent, by chain."""
    table = {}
    for name in ("seeing", "blind"):
        cpu_path = out / f"cpu_{name}.json"
        cpu = json.loads(cpu_path.read_text()) if cpu_path.is_file() else {}
        rows = []
        for path in sorted((out / "eval").glob(f"{name}-*.summary.json"),
                           key=lambda p: int(p.name.split("-")[1].split(".")[0])):
            step = int(path.name.split("-")[1].split(".")[0])
            scores = json.loads(path.read_text())  # fractions, as the demo's summaries keep them
            seconds = cpu.get(str(step))  # None when the chain's CPU clock was not recorded
            rows.append({"step": step, "cpu_min": None if seconds is None else round(seconds / 60, 1),
                         **{k: round(100 * v, 1) for k, v in scores.items()}})
        table[name] = rows
    atomic_write_json(out / "curve.json", table)
    return table


def plot(table: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ("what", "when_1", "where_1", "mLGM")
    fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.2))
    for ax, metric in zip(axes, shown):
        for name, style in (("seeing", "-o"), ("blind", "--s")):
            rows = table.get(name, [])
            ax.plot([r["cpu_min"] for r in rows], [r[metric] for r in rows], style, label=name)
        ax.set_title(metric)
        ax.set_xlabel("training CPU minutes")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("percent, held-out V-STaR")
    axes[0].legend()
    save_figure(fig, out / "curve.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a demo run folder (data and models/base)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=1440)
    parser.add_argument("--every", type=int, default=180)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per chain")
    parser.add_argument("--score-only", action="store_true", help="score the checkpoints there are; train no further")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "settings.json", {k: str(v) for k, v in vars(args).items()})
    context = multiprocessing.get_context("spawn")
    chains = [context.Process(target=chain, args=(args.run, args.out, args.steps, args.every, args.threads, blind,
                                                              not args.score_only))
              for blind in (False, True)]
    for process in chains:
        process.start()
    for process in chains:
        process.join()
    table = curve(args.out)
    plot(table, args.out)
    for name, rows in table.items():
        for r in rows:
            print(name, r["step"], r["cpu_min"], *(f"{m} {r[m]:.1f}" for m in METRICS))


if __name__ == "__main__":
    main()
