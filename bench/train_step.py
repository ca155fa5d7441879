"""GSPO training throughput: several prompts per step with batched generation (ours) against the reference
code's loop, one prompt per step with four generations — same model, same data, same total completions.

    python bench/train_step.py                      # CPU, tiny model
    python bench/train_step.py --model qwen2_5_vl_3b --device cuda   # random-init Qwen2.5-VL-3B shape, bf16

Both runs use o3video's GSPO trainer (TRL GRPOTrainer, sequence-level ratio) on the same synthetic RL
records and an identical copy of the model; every completion is exactly `--completion-tokens` long
(min = max new tokens), so the two runs do the same amount of generation and training work per
completion and differ only in how it is batched. Frames are decoded into the frame cache, and each
configuration runs one untimed warm-up step, before the clock starts. Prints steps/s and completions/s
for both, and the ratio; writes a JSON with the numbers.

On a CPU, batching buys little (compute grows with the batch, and prompts of different lengths are
padded to the longest); the gain it is for is on a GPU, where one batched generation costs little more
than one prompt's.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

# Qwen2.5-VL-3B-Instruct's dimensions (its config.json); the vocabulary size is kept for the head's cost.
QWEN25_VL_3B = dict(
    vocab_size=151936, text_hidden=2048, text_layers=36, text_heads=16, text_kv_heads=2, text_intermediate=11008,
    vision_hidden=1280, vision_depth=32, vision_heads=16, vision_intermediate=3420,
)


def build_models(kind: str, work: Path, corpus: list[str], device: str):
    """(model, processor) — the tiny model, or a random-initialised model of Qwen2.5-VL-3B's shape."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    from o3video.models import build_tiny_model, load_model
    from o3video.models.tiny import TinySize, tiny_config

    path = build_tiny_model(work / "tiny", corpus, size="small")
    model, processor = load_model(path)
    if kind == "qwen2_5_vl_3b":
        config = tiny_config(processor.tokenizer, TinySize(**QWEN25_VL_3B))
        config.text_config.vocab_size = QWEN25_VL_3B["vocab_size"]
        config.vision_config.fullatt_block_indexes = [7, 15, 23, 31]
        with torch.device(device):
            model = Qwen2_5_VLForConditionalGeneration(config).to(torch.bfloat16)
        model.generation_config = load_model(path)[0].generation_config
    return model.to(device), processor


def run(label: str, model, processor, initial: dict, data: Path, out: Path, *, prompts: int, generations: int,
        steps: int, tokens: int, threads: int, bf16: bool) -> dict:
    """One timed training run from the initial weights, after an untimed one-step warm-up of the same shape."""
    warm = trainer_for(model, processor, data, out / "warmup", prompts=prompts, generations=generations, steps=1,
                       tokens=tokens, threads=threads, bf16=bf16)
    warm.train()
    model.load_state_dict(initial)
    trainer = trainer_for(model, processor, data, out, prompts=prompts, generations=generations, steps=steps,
                          tokens=tokens, threads=threads, bf16=bf16)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    model.load_state_dict(initial)
    completions = steps * prompts * generations
    row = {"run": label, "prompts_per_step": prompts, "generations": generations, "steps": steps,
           "completions": completions, "seconds": round(seconds, 2), "steps_per_s": round(steps / seconds, 4),
           "completions_per_s": round(completions / seconds, 3)}
    print(json.dumps(row), flush=True)
    return row


def trainer_for(model, processor, data: Path, out: Path, *, prompts: int, generations: int, steps: int, tokens: int,
                threads: int, bf16: bool):
    from o3video.train.rl import build_rl_trainer
    from o3video.train.train_config import load_config

    config = load_config(None, [
        "model=in-memory", f"output_dir={out}", f"data.train={data}", "data.num_frames=8",
        f"data.cache_dir={data.parent / 'frame_cache'}", f"threads={threads}",
        f"trainer.max_steps={steps}", f"trainer.num_generations={generations}",
        f"trainer.per_device_train_batch_size={prompts * generations}", "trainer.steps_per_generation=1",
        f"trainer.max_completion_length={tokens}", f"trainer.generation_kwargs={{min_new_tokens: {tokens}}}",
        "trainer.beta=0.0", "trainer.learning_rate=1e-6", "trainer.save_strategy='no'",
        "trainer.activation_checkpointing=false", f"trainer.bf16={str(bf16).lower()}", "resume=false",
    ], stage="rl")
    trainer, _, _ = build_rl_trainer(config, model=model, processor=processor)
    return trainer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["tiny", "qwen2_5_vl_3b"], default="tiny")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--prompts", type=int, default=8, help="prompts per step in our configuration (default 8)")
    parser.add_argument("--generations", type=int, default=4, help="generations per prompt (default 4, as the reference)")
    parser.add_argument("--steps", type=int, default=2, help="our optimizer steps; the loop runs prompts x steps")
    parser.add_argument("--completion-tokens", type=int, default=32, help="length of every completion")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/train_step.json"))
    args = parser.parse_args(argv)

    import torch

    from o3video.data.synth import SynthConfig, build_dataset, get_preset
    from o3video.train.train_config import DataConfig
    from o3video.train.train_records import load_training_records

    torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: run on cpu, or on a machine with a GPU", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        summary = build_dataset(SynthConfig(out=work / "synth", preset=get_preset("easy"), sft=0,
                                            rl=args.prompts * args.steps, bench=0, seed=3), progress=False)
        data = work / "synth" / "stgr_rl.json"
        for item in load_training_records(DataConfig(train=[str(data)], num_frames=8, cache_dir=str(work / "synth" / "frame_cache"))):
            item.prompt()  # decode every video into the frame cache before any clock starts
        corpus = [r["question"] for r in summary.records["rl"]] + [r["answer"] for r in summary.records["rl"]]
        model, processor = build_models(args.model, work, corpus, args.device)
        initial = copy.deepcopy(model.state_dict())
        bf16 = args.device.startswith("cuda") and args.model != "tiny"
        common = dict(generations=args.generations, tokens=args.completion_tokens, threads=args.threads, bf16=bf16)
        ours = run("ours: several prompts per step", model, processor, initial, data, work / "ours",
                   prompts=args.prompts, steps=args.steps, **common)
        loop = run("reference loop: one prompt per step", model, processor, initial, data, work / "loop", prompts=1,
                   steps=args.steps * args.prompts, **common)
    ratio = ours["completions_per_s"] / loop["completions_per_s"]
    result = {
        "device": args.device if not args.device.startswith("cuda") else torch.cuda.get_device_name(0),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "model": args.model, "completion_tokens": args.completion_tokens, "runs": [ours, loop],
        "completions_per_s_ratio": round(ratio, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\n{'run':40s} {'steps/s':>9s} {'completions/s':>14s}")
    for row in (ours, loop):
        print(f"{row['run']:40s} {row['steps_per_s']:9.3f} {row['completions_per_s']:14.2f}")
    print(f"completions/s ratio (ours / reference loop): {ratio:.2f}x on {result['device']} ({args.model}) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
