"""Run a model on V-STaR-format annotations: five prompts per record, one JSON line per finished record,
resumable. The result lines carry the benchmark's own field names, so `vstar_metrics` (and the
benchmark's scripts) read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.eval.records_io import EvalRunConfig, load_annotations, record_key, run_benchmark
from o3video.eval.vstar_protocol import (
    PARSED_FIELD,
    RAW_FIELD,
    parse_spatial_answer,
    parse_temporal_answer,
    rescale_spatial,
    vstar_prompts,
)
from o3video.io import atomic_write_text, json_line


@dataclass
class VStarRunConfig(EvalRunConfig):
    """V-STaR runs use the common settings (16 frames by default, as the paper)."""


def ask_record(model: Any, processor: Any, index: int, record: dict[str, Any], video: Path, cfg: EvalRunConfig) -> dict[str, Any]:
    """The five answers for one record, raw and parsed, boxes rescaled to the original video size."""
    from o3video.models import frame_settings, generate
    from o3video.video import sample_frames
    from o3video.video.prompt import build_messages

    frames = sample_frames(video, cfg.num_frames, mode=cfg.mode, cache_dir=cfg.cache_dir, **frame_settings(processor))
    prompts = vstar_prompts(record)
    batch = [build_messages(frames.frames, p.question, p.task, duration=frames.duration, instruction=p.instruction) for p in prompts]
    answers = [out[0] for out in generate(model, processor, batch, max_new_tokens=cfg.max_new_tokens)]
    result: dict[str, Any] = {"input_size": list(frames.input_size), "frame_times": [f.timestamp for f in frames.frames]}
    original = (record["width"], record["height"])
    for prompt, raw in zip(prompts, answers):
        result[RAW_FIELD[prompt.kind]] = raw
        if prompt.kind.startswith("when"):
            result[PARSED_FIELD[prompt.kind]] = parse_temporal_answer(raw)
        elif prompt.kind.startswith("where"):
            result[PARSED_FIELD[prompt.kind]] = rescale_spatial(parse_spatial_answer(raw), frames.input_size, original)
    return result


def whole_video_baseline(record: dict[str, Any]) -> dict[str, Any]:
    """The trivial baseline: the whole video as the span and the whole frame as the box at every whole
    second, for both chains, and no *what* answer. What any grounding must beat."""
    from o3video.eval.vstar_protocol import video_length

    length, (w, h) = video_length(record), (record["width"], record["height"])
    boxes = {str(s): [0, 0, w, h] for s in range(int(length) + 1)}
    return {"answer_vqa": "", "answer_temporal": [0.0, length], "answer_temporal_2": [0.0, length],
            "answer_spatial": boxes, "answer_spatial_2": boxes}


def write_baseline(anno: Path, out: Path) -> Path:
    """Results file of `whole_video_baseline` for every record of `anno`."""
    lines = [json_line({"key": record_key(index, record), "index": index, **record, **whole_video_baseline(record)})
             for index, record in enumerate(load_annotations(anno))]
    return atomic_write_text(out, "".join(lines))


def run_vstar(cfg: EvalRunConfig, *, model: Any = None, processor: Any = None) -> Path:
    """Answer every record not yet in `cfg.out`; each finished record is appended at once."""
    return run_benchmark(cfg, ask_record, description=f"V-STaR {cfg.anno.name}", model=model, processor=processor)
