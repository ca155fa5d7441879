"""`o3video infer`: answer a question about a video with grounded evidence."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from o3video.commands.option_checks import Bound
from o3video.geometry import AUTO_CONVENTION, CONVENTION_CHOICES, CONVENTION_HELP, MAX_PIXELS, MIN_PIXELS
from o3video.io import atomic_write_text

# The answer's token cap: the official GSPO recipe samples 768 new tokens (its `max_completion_length`), so a
# trained model's grounded answers fit in it.
ANSWER_TOKENS = 768

HELP = "Answer a question about a video; print the answer and its evidence (object, time, box); draw it."
MODEL_HELP = ("checkpoint path or hub id (e.g. Qwen/Qwen2.5-VL-7B-Instruct), or a served model: "
              "openai:BASE_URL:MODEL (vLLM or any OpenAI-compatible server)")


# The ranges of the options that a served model's calls take (infer and eval), and of infer's own.
SERVED_BOUNDS = (Bound("--retries", 0), Bound("--request-timeout", 0, strict=True))
GENERATION_BOUNDS = (Bound("--frames", 1), Bound("--max-pixels", MIN_PIXELS), Bound("--max-new-tokens", 1))
INFER_BOUNDS = (*GENERATION_BOUNDS, Bound("--temperature", 0), *SERVED_BOUNDS)


def add_served_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a served `--model openai:BASE_URL:MODEL` (`o3video.served`), shared by infer and eval."""
    parser.add_argument("--served-family", choices=["qwen2_5_vl", "qwen3_vl"],
                        help="a served model's family, which decides the frame size (28- or 32-pixel multiples); "
                             "default: qwen3_vl when MODEL says qwen3, else qwen2_5_vl")
    parser.add_argument("--retries", type=int, default=4,
                        help="a served model's failed calls are retried this often, with exponential backoff (default 4)")
    parser.add_argument("--request-timeout", type=float, default=120.0,
                        help="seconds a served model's call may take (default 120)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from o3video.tasks import Task

    parser.add_argument("video", type=Path)
    parser.add_argument("question")
    parser.add_argument("--model", required=True, help=MODEL_HELP)
    parser.add_argument("--frames", type=int, default=16, help="uniformly sampled frames (default 16)")
    parser.add_argument("--mode", choices=["exact", "keyframe"], default="exact")
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS, help=f"pixel budget per frame (>= {MIN_PIXELS})")
    parser.add_argument("--box-convention", choices=CONVENTION_CHOICES, default=AUTO_CONVENTION, help=CONVENTION_HELP)
    parser.add_argument("--task", default=Task.SPATIO_TEMPORAL.value, choices=[t.value for t in Task if not t.uses_image])
    parser.add_argument("--max-new-tokens", type=int, default=ANSWER_TOKENS,
                        help=f"tokens the answer may take (default {ANSWER_TOKENS}: what the official GSPO recipe lets "
                             "the model write, so a trained model's answer is not cut; a model that ends its answer "
                             "stops sooner, as bases/perception does within 96; a random tiny-model never ends, so "
                             "give it a small cap such as 64)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 (default): greedy; > 0: sampled")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--device-map", default=None, help="e.g. auto, cuda:0")
    parser.add_argument("--json", type=Path, help="write the full result as JSON here")
    parser.add_argument("--viz", type=Path, help="evidence picture: .png, .gif or .html")
    add_served_arguments(parser)


def _print(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from o3video.geometry import BoxConvention

    console = Console()
    console.print(f"[bold]Q:[/bold] {result.question}")
    console.print(f"[bold]A:[/bold] {result.answer if result.answer is not None else '(no <answer>) ' + result.completion}")
    table = Table(title=f"Evidence (model input {result.input_size[0]}x{result.input_size[1]}, "
                        f"video {result.source_size[0]}x{result.source_size[1]})")
    for column in ("object", "time (s)", f"box as answered ({BoxConvention(result.box_convention).description})",
                   "box, original px"):
        table.add_column(column)
    for e in result.evidence:
        table.add_row(e.object, "-" if e.time is None else f"{e.time:g}", str(e.box_answered), str(e.box_original))
    console.print(table if result.evidence else "[yellow]no grounded evidence cited")
    for problem in result.problems:
        console.print(f"[dim]note: {problem}")


def run(args: argparse.Namespace) -> int:
    from o3video.answer import load_video_model
    from o3video.commands.option_checks import check_bounds, check_text
    from o3video.inference import answer_video
    from o3video.io import check_output_file
    from o3video.video import probe
    from o3video.viz.save import check_evidence_path

    check_bounds(args, INFER_BOUNDS)  # every value is checked before the video is read or the model loads
    check_text(args.question, "the question")
    if args.viz is not None:
        check_evidence_path(args.viz)  # (save_evidence makes its folder)
    if args.json is not None:
        check_output_file(args.json, "--json")
    probe(args.video)  # a missing, empty or corrupt video is found before the model loads
    model = load_video_model(args.model, max_pixels=args.max_pixels, family=args.served_family, retries=args.retries,
                             timeout=args.request_timeout, dtype=args.dtype, device_map=args.device_map,
                             box_convention=args.box_convention)
    result, frames = answer_video(model, args.video, args.question, task=args.task, num_frames=args.frames,
                                  mode=args.mode, max_new_tokens=args.max_new_tokens,
                                  temperature=args.temperature, progress=True)
    _print(result)
    if args.json:
        atomic_write_text(args.json, json.dumps(result.to_dict(), indent=2))
    if args.viz:
        from o3video.viz import save_evidence

        save_evidence(args.viz, frames.frames, result.completion, question=args.question, duration=result.duration,
                      source_size=result.source_size, box_convention=result.box_convention)
        print(f"evidence picture: {args.viz}")
    return 0
