"""Run a model on V-STaR-format annotations: five prompts per record, one JSON line per finished record,
resumable. The result lines carry the benchmark's own field names, so `vstar_metrics` (and the
benchmark's scripts) read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.answer import VideoModel
from o3video.data.vstar import (
    COMPLETION_FIELD,
    PARSED_FIELD,
    RAW_FIELD,
    VStarPrompt,
    answer_text,
    parse_spatial_boxes,
    parse_temporal_answer,
    rescale_spatial,
    spatial_field,
    vstar_prompts,
)
from o3video.eval.benchmark_runner import EvalRunConfig, load_annotations, record_key, run_benchmark, sample_video
from o3video.geometry import BoxConvention
from o3video.io import atomic_write_text, json_line


@dataclass
class VStarRunConfig(EvalRunConfig):
    """V-STaR runs use the common settings (16 frames by default, as the paper)."""


VQA_COMPLETION_FIELD = COMPLETION_FIELD["what"]  # the *what* completion (`answer_vqa` holds its answer text)


def answer_fields(prompts: list[VStarPrompt], answers: list[str], input_size: tuple[int, int],
                  original_size: tuple[int, int], box_convention: BoxConvention | str = BoxConvention.PIXELS) -> dict[str, Any]:
    """The results fields of one record's five answers, as the official scorers read them: `answer_vqa`
    the answer text; `answer_temporal[_2]` `[start, end]` (or `[]`); `answer_spatial[_2]` `{"<second>":
    box or [box, ...]}` in original-video pixels; the full completions in `answer_vqa_raw_output` and
    the `*_pre` fields. `input_size` and `box_convention` say what the raw completions' boxes are in
    (`vstar_metrics` re-reads them when the parsed field is empty)."""
    convention = BoxConvention(box_convention)
    result: dict[str, Any] = {"input_size": list(input_size), "box_convention": convention.value}
    for prompt, raw in zip(prompts, answers):
        if prompt.kind == "what":
            result[VQA_COMPLETION_FIELD] = raw
            result[RAW_FIELD["what"]] = answer_text(raw).strip()
            continue
        result[RAW_FIELD[prompt.kind]] = raw
        if prompt.kind.startswith("when"):
            result[PARSED_FIELD[prompt.kind]] = parse_temporal_answer(raw)
        else:
            boxes = rescale_spatial(parse_spatial_boxes(raw), input_size, original_size, convention)
            result[PARSED_FIELD[prompt.kind]] = spatial_field(boxes)
    return result


def ask_record(model: VideoModel, index: int, record: dict[str, Any], video: Path, cfg: EvalRunConfig) -> dict[str, Any]:
    """The five answers of `model` (a `o3video.answer.VideoModel`) for one record (`answer_fields`) and the
    times of the frames the model saw."""
    from o3video.answer import ask_frames

    frames = sample_video(video, cfg, model)
    prompts = vstar_prompts(record)
    answers = ask_frames(model, frames.frames, prompts, duration=frames.duration, max_new_tokens=cfg.max_new_tokens)
    result = answer_fields(prompts, answers, frames.input_size, (record["width"], record["height"]), model.box_convention)
    return result | {"frame_times": [f.timestamp for f in frames.frames]}


def write_baseline(anno: Path, out: Path, kind: str = "whole", prior: Path | None = None) -> Path:
    """Results file of the `kind` video-ignoring baseline (`o3video.eval.vstar_baselines`) for every record
    of `anno`; `prior` is the training split's annotations, for `frequent`."""
    from o3video.eval.vstar_baselines import answer_prior, baseline_answers

    stats = answer_prior(load_annotations(prior)) if prior is not None else None
    lines = [json_line({"key": record_key(index, record), "index": index, **record,
                        **baseline_answers(kind, record, stats)})
             for index, record in enumerate(load_annotations(anno))]
    return atomic_write_text(out, "".join(lines))


def run_vstar(cfg: EvalRunConfig, *, model: VideoModel | None = None) -> Path:
    """Answer every record not yet in `cfg.out` with `model` (a `VideoModel`; by default the one `cfg.model`
    names); each finished record is appended at once."""
    return run_benchmark(cfg, ask_record, description=f"V-STaR {cfg.anno.name}", model=model)
