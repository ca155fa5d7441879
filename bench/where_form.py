"""Benchmark: can a base learn V-STaR's chain-1 *where* form, and where does it then stand? A learning curve.

The demo's *where* answers neither list the seconds the question gives nor copy the boxes their reasoning cites
(`bench/where_answers.py`). This separates the form from the world: SFT on still videos of 1-3 objects asked only
in that form (`perception_records(video=1, where=1)`: the span's seconds listed in the instruction, the reasoning
citing the box at each, the answer their JSON), the demo's SFT config (`o3video/configs/tiny_sft.yaml`), and every
`--every` steps greedy answers on held-out still videos, scored as the demo scores them (`answer_fields`,
`where_citations`):
- `keys`: the answer lists exactly the seconds the question gives;
- `copied`: the answer's boxes repeat the boxes its reasoning cites;
- `answer vIoU` (what V-STaR scores) and `cited vIoU` (the reasoning's boxes at their seconds).

    python bench/where_form.py --base ~/.cache/o3video/bases/video-seed0 --out /tmp/where_form --steps 600

Results: docs/experiments/where-answers.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transformers import TrainerCallback  # noqa: E402

from o3video.data.vstar import VStarPrompt, span_seconds  # noqa: E402
from o3video.eval.vstar_metrics import where_citations  # noqa: E402
from o3video.eval.vstar_run import answer_fields  # noqa: E402
from o3video.tasks import Task  # noqa: E402


def held_out_annotation(record: dict[str, Any]) -> dict[str, Any]:
    """The V-STaR annotation a still-video *where* record was written from (its answer: pixels of `image_size`)."""
    boxes = json.loads(record["answer"])
    width, height = record["image_size"]
    return {"width": width, "height": height, "timestamps": [int(min(boxes, key=int)), int(max(boxes, key=int))],
            "bboxes": [{"timestamp": int(k), "xmin": b[0], "ymin": b[1], "xmax": b[2], "ymax": b[3]} for k, b in boxes.items()]}


def ask(model: Any, processor: Any, records: list[dict[str, Any]], media: Path, max_new_tokens: int = 160) -> dict[str, float]:
    """Greedy answers on `records`, scored as the demo scores chain-1 *where* answers."""
    from o3video.models import box_convention_of, frame_settings, generate
    from o3video.video.prompt import build_messages
    from o3video.video.sampling import sample_frames

    convention, rows = box_convention_of(model), []
    for record in records:
        sampled = sample_frames(media / record["video_path"], 8, **frame_settings(processor))
        prompt = VStarPrompt("where_1", Task.SPATIO_TEMPORAL, record["question"], record["instruction"])
        messages = build_messages(sampled.frames, prompt.question, prompt.task, duration=sampled.duration,
                                  instruction=prompt.instruction, box_convention=convention)
        text = generate(model, processor, [messages], max_new_tokens=max_new_tokens)[0][0]
        annotation = held_out_annotation(record)
        result = annotation | answer_fields([prompt], [text], sampled.frames[0].image.size,
                                            (annotation["width"], annotation["height"]), convention)
        found = where_citations(result)
        keys = [str(s) for s in span_seconds(annotation)] == list(result["answer_spatial"])
        rows.append({"keys": float(keys), "copied": found.copied, "answer_viou": found.answer_viou,
                     "cited_viou": found.cited_viou, "example": text})
    return {name: statistics.fmean(r[name] for r in rows) for name in ("keys", "copied", "answer_viou", "cited_viou")} | {
        "example": rows[0]["example"] if rows else ""}


class WhereFormProbe(TrainerCallback):
    """Every `every` optimizer steps (and at the last), `ask` on the held-out records; rows to `out` as it goes."""

    def __init__(self, processor: Any, records: list[dict[str, Any]], media: Path, every: int, out: Path) -> None:
        self.processor, self.records, self.media, self.every, self.out = processor, records, media, every, out
        self.rows: list[dict[str, Any]] = []
        self.started = time.process_time()

    def probe(self, step: int, model: Any) -> dict[str, Any]:
        training = model.training
        model.eval()
        row = {"step": step, "cpu_min": round((time.process_time() - self.started) / 60, 2),
               **ask(model, self.processor, self.records, self.media)}
        model.train(training)
        self.rows.append(row)
        print(f"step {step:4d}  {row['cpu_min']:5.1f} CPU min  keys {row['keys']:.2f}  copied {row['copied']:.2f}  "
              f"answer vIoU {row['answer_viou']:.3f}  cited vIoU {row['cited_viou']:.3f}  e.g. {row['example'][:90]!r}",
              flush=True)
        self.out.write_text(json.dumps(self.rows, indent=1))
        return row

    def on_step_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            self.probe(state.global_step, model)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from o3video.lab.perception.replay import perception_records
    from o3video.models import load_model
    from o3video.train import train_sft
    from o3video.train.train_config import load_config

    if not (Path(args.base) / "config.json").is_file():
        raise SystemExit(f"--base {args.base}: not a model folder (no config.json)")
    out = Path(args.out)
    train = perception_records(out / "train", args.train, seed=args.seed, objects=(1, 3), video=1.0, where=1.0)
    test = perception_records(out / "test", args.test, seed=args.seed + 1, objects=(1, 3), video=1.0, where=1.0)
    held = [r for r in json.loads(test.read_text()) if r.get("vstar_kind") == "where_1"]
    model, processor = load_model(args.base, dtype="float32")
    probe = WhereFormProbe(processor, held, test.parent, args.every, out / "curve.json")
    probe.probe(0, model)
    config = load_config(ROOT / "o3video" / "configs" / "tiny_sft.yaml", [
        f"model={args.base}", f"output_dir={out / 'sft'}", f"data.train={train}", f"data.cache_dir={out / 'cache'}",
        f"trainer.max_steps={args.steps}", "trainer.save_steps=100000", f"threads={args.threads}", *args.overrides],
        stage="sft")
    train_sft(config, model=model, processor=processor, callbacks=[probe])
    return {"base": str(args.base), "seed": args.seed, "train": args.train, "test": len(held), "curve": probe.rows}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="the model folder SFT starts from")
    p.add_argument("--out", required=True, help="work folder: records, the SFT model, curve.json")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--every", type=int, default=100, help="probe every this many steps")
    p.add_argument("--train", type=int, default=800, help="training records")
    p.add_argument("--test", type=int, default=24, help="held-out records")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("overrides", nargs="*", help="SFT config overrides (key=value)")
    return p.parse_args(argv)


if __name__ == "__main__":
    run(parse_args())
