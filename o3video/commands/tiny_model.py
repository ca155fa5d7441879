"""`o3video tiny-model`: write a tiny random Qwen2.5-VL (or Qwen3-VL) that every command loads by path."""

from __future__ import annotations

import argparse

from o3video.commands.option_checks import Bound
from o3video.geometry import MAX_PIXELS, MIN_PIXELS

HELP = "Build a tiny random Qwen2.5-VL or Qwen3-VL (locally trained tokenizer) and save it like a checkpoint"


TINY_BOUNDS = (Bound("--max-pixels", MIN_PIXELS),)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="directory to save model + processor into")
    parser.add_argument(
        "--corpus",
        help="tokenizer corpus: .txt (one text per line) or .jsonl (all text fields of each record); "
        "default: a small built-in corpus in the project's formats",
    )
    parser.add_argument(
        "--size", choices=("small", "base"), default="small", help="small ≈ 1 M, base ≈ 5.5 M parameters"
    )
    parser.add_argument(
        "--arch", choices=("qwen2_5_vl", "qwen3_vl"), default="qwen2_5_vl",
        help="architecture: Qwen2.5-VL (14-px patches, the default) or Qwen3-VL (16-px patches, learned vision "
        "position embedding; the one that learns to localise at toy scale, see bench/perception.py)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random initialisation")
    parser.add_argument(
        "--max-pixels", type=int, default=MAX_PIXELS, help="processor's per-image pixel budget (default 128·28·28)"
    )


def run(args: argparse.Namespace) -> int:
    from o3video.commands.option_checks import check_bounds
    from o3video.models import build_tiny_model, load_model
    from o3video.models.corpus import read_corpus

    check_bounds(args, TINY_BOUNDS)
    corpus = list(read_corpus(args.corpus)) if args.corpus else None
    out = build_tiny_model(args.out, corpus, size=args.size, seed=args.seed, max_pixels=args.max_pixels,
                           arch=args.arch)
    model, processor = load_model(out)  # what every command will do: proves the save loads by path
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"tiny {model.config.model_type} ({args.size}, seed {args.seed}): {n_params:,} parameters, "
        f"vocabulary {len(processor.tokenizer)} -> {out}"
    )
    return 0
