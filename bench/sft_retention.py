"""Benchmark: does the demo's SFT keep what perception pre-training taught? A curve of the localisation probe along SFT.

`o3video perception-base` teaches a tiny model to answer "Where is the <colour> <shape>?" with the object's box, in the
project's visual-QA form (`o3video/lab/perception/pretrain.py`). The demo then runs SFT on the synthetic world's six task types
(`o3video/configs/tiny_sft.yaml`, the demo's own config and data, built by `o3video.lab.demo.run.Demo`). This benchmark
runs that SFT from a base and, every `--probe-every` steps, asks the model being trained the perception probe: the
same held-out frames (1-3 objects) `pretrain_perception` scores, greedy, mean IoU with the named object, asked as the
image and as 8 labelled frames of it (the form the video stage teaches). It prints and
writes (`--json`) the curve against SFT steps and process CPU minutes, with the base's own score at step 0 and the
mean-box answer's as the floor.

Variants are config overrides, so anything the training config can say can be measured:

    python bench/sft_retention.py --base ~/.cache/o3video/bases/<key> --out /tmp/ret/default
    python bench/sft_retention.py --base ... --out /tmp/ret/frozen freeze_vision=true
    python bench/sft_retention.py --base ... --out /tmp/ret/lr3e-4 trainer.learning_rate=3e-4
    python bench/sft_retention.py --base ... --out /tmp/ret/replay --replay 360     # perception questions mixed in
    python bench/sft_retention.py plot curves.png /tmp/ret/default /tmp/ret/replay   # the runs' curves in one picture

At the end the SFT model is also scored on the demo's held-out synthetic V-STaR split (`--vstar`, the demo's own
evaluation), so the probe can be set beside what the demo measures. One seed per call (`--seed`); a claim that one
variant keeps more needs several. Each call costs one demo SFT plus one greedy pass over the held-out frames per
probe. Results: docs/experiments/sft-retention.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transformers import TrainerCallback  # noqa: E402

from bench.pictures import Panel, line_panels  # noqa: E402
from o3video.geometry import BoxConvention  # noqa: E402
from o3video.lab.perception.scenes import World, eval_set, mean_box  # noqa: E402
from o3video.lab.perception.scoring import evaluate, score  # noqa: E402


class ProbeCallback(TrainerCallback):
    """Every `every` optimizer steps (and at the last), the perception probe on the model being trained."""

    def __init__(self, world: World, convention: BoxConvention, every: int, out: Path, per_count: int = 32) -> None:
        self.world, self.convention, self.every, self.out = world, convention, every, out
        self.scenes = eval_set(world, [1, 2, 3], per_count)
        self.rows: list[dict[str, Any]] = []
        self.started = time.process_time()

    def probe(self, step: int, model: Any, processor: Any) -> dict[str, Any]:
        cpu = time.process_time() - self.started
        size = (self.world.width, self.world.height)
        result = evaluate(model, processor, self.scenes, self.convention, size)
        video = evaluate(model, processor, self.scenes, self.convention, size, frames=8)
        row = {"step": step, "cpu_min": round(cpu / 60, 2), "iou": result["iou"], "iou_by_n": result["iou_by_n"],
               "parse": result["parse"], "example": result["example"], "iou_as_video": video["iou"]}
        self.rows.append(row)
        print(f"step {step:4d}  {row['cpu_min']:5.1f} CPU min  probe IoU {row['iou']:.3f}  by objects "
              f"{row['iou_by_n']}  as 8 frames {video['iou']:.3f}  parse {row['parse']:.2f}  "
              f"e.g. {row['example'][:90]!r}", flush=True)
        self.out.write_text(json.dumps(self.rows, indent=1))
        return row

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):  # noqa: ANN001
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            self.probe(state.global_step, model, processing_class)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from o3video.lab.demo.run import Demo
    from o3video.lab.demo.settings import DemoSettings
    from o3video.lab.perception.scenes import world_of
    from o3video.models import box_convention_of, load_model
    from o3video.train import train_sft

    if not (Path(args.base) / "config.json").is_file():
        raise SystemExit(f"--base {args.base}: not a model folder (no config.json)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = DemoSettings(out=out, seed=args.seed, threads=args.threads, base=str(args.base),
                            perception_replay=args.replay, replay_video=args.replay_video,
                            replay_where=args.replay_where, sft_overrides=list(args.overrides))
    demo = Demo(settings)
    if not (demo.practice / "vstar_practice.json").is_file():
        demo.make_data()
    if args.replay:
        demo.make_replay()  # the demo's own replay, which its SFT config then mixes in
    base = demo.make_model(Path(args.base)) if not (demo.models / "base" / "config.json").is_file() else demo.models / "base"
    model, processor = load_model(base, dtype="float32")
    world, convention = world_of(processor), box_convention_of(model)
    callback = ProbeCallback(world, convention, args.probe_every, out / "probe.json", args.probe_per_count)
    floor = score([mean_box(world, [1, 2, 3])] * len(callback.scenes), callback.scenes)["iou"]
    print(f"base {args.base}; SFT overrides {args.overrides or 'none'}; mean-box floor IoU {floor:.3f}", flush=True)
    callback.probe(0, model, processor)
    config = demo.train_config("sft", base)
    config.threads = args.threads
    sft = train_sft(config, model=model, processor=processor, callbacks=[callback])
    result: dict[str, Any] = {"base": str(args.base), "overrides": args.overrides, "replay": args.replay,
                              "replay_video": args.replay_video, "replay_where": args.replay_where,
                              "seed": args.seed,
                              "mean_box_iou": floor, "curve": callback.rows}
    if args.vstar:
        summary = demo.evaluate("SFT", sft, "sft")
        result["vstar"] = {k: v for k, v in vars(summary).items()
                           if isinstance(v, (int, float, str, dict)) and k not in ("per_record", "results")}
        print("V-STaR (held-out synthetic):", json.dumps(result["vstar"]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="a pre-trained base (o3video perception-base's cache folder)")
    p.add_argument("--out", required=True, help="run folder (world, models, probe.json)")
    p.add_argument("--probe-every", type=int, default=60)
    p.add_argument("--probe-per-count", type=int, default=32, help="held-out frames per object count (1, 2, 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--vstar", action=argparse.BooleanOptionalAction, default=True,
                   help="score the SFT model on the demo's held-out V-STaR split at the end")
    p.add_argument("--replay", type=int, default=0,
                   help="mix this many perception questions (single objects, visual QA) into the SFT data")
    p.add_argument("--replay-video", type=float, default=0.5,
                   help="the share of the replay asked of still videos (spatio-temporal QA; default 0.5, the demo's)")
    p.add_argument("--replay-where", type=float, default=0.5,
                   help="the share of those still videos asked as V-STaR's chain-1 where prompt (default 0.5, the demo's)")
    p.add_argument("--json", help="write the curve and the V-STaR scores here")
    p.add_argument("overrides", nargs="*", help="SFT config overrides (key=value), e.g. freeze_vision=true")
    return p.parse_args(argv)


def plot(path: str | Path, runs: list[str | Path]) -> Path:
    """One picture of several runs' curves (each run folder's probe.json): probe IoU, all frames and single
    objects, against SFT steps."""
    panels = [Panel("probe IoU, 1-3 objects", "SFT step", ylabel="mean IoU with the named object"),
              Panel("probe IoU, single objects", "SFT step", legend=True)]
    for run_dir in runs:
        rows = json.loads((Path(run_dir) / "probe.json").read_text())
        steps = [row["step"] for row in rows]
        panels[0].lines.append((Path(run_dir).name, steps, [row["iou"] for row in rows]))
        panels[1].lines.append((Path(run_dir).name, steps, [row["iou_by_n"]["1"] for row in rows]))
    return line_panels(path, panels, sharey=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["plot"]:  # bench/sft_retention.py plot OUT.png RUN_DIR [RUN_DIR ...]
        if len(argv) < 3:
            raise SystemExit("usage: sft_retention.py plot OUT.png RUN_DIR [RUN_DIR ...]")
        print(plot(argv[1], argv[2:]))
        return 0
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
