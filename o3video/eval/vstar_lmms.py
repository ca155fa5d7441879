"""V-STaR as an lmms-eval task: the functions `o3video/eval/lmms_tasks/vstar.yaml` names (`--tasks vstar`).

Every annotation record of `vstar_test.json` (in the working directory) becomes five documents, its five
prompts in the benchmark's wording (`o3video.data.vstar.vstar_prompts`), record after record: *what*;
chain 1 *when* then *where*; chain 2 *where* then *when*. The second prompt of a chain is built as the
benchmark writes it, from the record's ground truth (*where* of chain 1 names the seconds of the true span,
*when* of chain 2 lists the true boxes), not from the model's first answer: each prompt is its own request,
as in V-STaR's inference and `o3video eval vstar`. `--limit` therefore counts prompts, five per record.

Each response is read into the fields of a V-STaR results file (`o3video.eval.vstar_run.answer_fields`):
reasoning blocks (`<think>`, `<analysis>`) are removed, boxes are read in the answering model's convention
and rescaled to the video's pixels. o3video's own responses say their frame size and box convention; any
other model's convention is the task option `O3VIDEO_VSTAR_BOX_CONVENTION`. The aggregation rebuilds the
results records and scores them with the official scorer `O3VIDEO_VSTAR_SCORING` names
(`o3video.eval.vstar_official`), its judge `O3VIDEO_VSTAR_JUDGE` reading replies as that scorer does: the
numbers `o3video eval vstar --results FILE --scoring S --judge J` gives for the same answers.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.data.vstar import PROMPT_KINDS, vstar_prompts
from o3video.errors import InputError
from o3video.eval.vstar_official import TIOU_THRESHOLDS, VIOU_THRESHOLDS
from o3video.geometry import BoxConvention

logger = logging.getLogger(__name__)

ANNOTATIONS = "vstar_test.json"  # the task's `dataset_kwargs.data_files`, read from the working directory
# The reasoning blocks lmms-eval strips by default (`--reasoning_tags`); the task reads raw responses
# (`reasoning_tags: none`) to find o3video's frame facts first, then strips these itself.
REASONING_TAGS = [["<think>", "</think>"], ["<analysis>", "</analysis>"]]
OFFICIAL_SCORINGS = ("vstar", "open-o3")
ENV = "O3VIDEO_VSTAR_"


@dataclass(frozen=True)
class VStarTaskOptions:
    """The task's options, from `O3VIDEO_VSTAR_*` environment variables (lmms-eval passes no task arguments).

    `scoring`: the official scorer reproduced (`vstar`: V-STaR's eval.py; `open-o3`: the paper's
    eval_vstar.py); `judge`: exact | hf:PATH | openai:BASE_URL:MODEL; `box_convention`: how a model other
    than o3video writes boxes; `max_pixels`: its pixel boxes are on Qwen2.5-VL's resized frame of at most
    that many pixels (None: on the video's own pixels); `videos`: where the records' videos are."""

    scoring: str = "vstar"
    judge: str = "exact"
    box_convention: BoxConvention = BoxConvention.PIXELS
    max_pixels: int | None = None
    videos: Path = Path(".")


def task_options(environ: dict[str, str] | None = None) -> VStarTaskOptions:
    """The options set in `environ` (default: the process's environment); a bad value is an InputError
    naming its variable."""
    from o3video.eval.judges import parse_judge_spec

    env = os.environ if environ is None else environ
    scoring = env.get(f"{ENV}SCORING", "vstar")
    if scoring not in OFFICIAL_SCORINGS:
        raise InputError(f"{ENV}SCORING={scoring!r}: choose {' or '.join(OFFICIAL_SCORINGS)}")
    judge = env.get(f"{ENV}JUDGE", "exact")
    parse_judge_spec(judge)
    convention = env.get(f"{ENV}BOX_CONVENTION", BoxConvention.PIXELS.value)
    if convention not in set(BoxConvention):
        raise InputError(f"{ENV}BOX_CONVENTION={convention!r}: choose {' or '.join(BoxConvention)}")
    pixels = env.get(f"{ENV}MAX_PIXELS") or None
    if pixels is not None and not (pixels.isdigit() and int(pixels) > 0):
        raise InputError(f"{ENV}MAX_PIXELS={pixels!r}: a positive whole number of pixels")
    return VStarTaskOptions(scoring, judge, BoxConvention(convention), None if pixels is None else int(pixels),
                            Path(env.get(f"{ENV}VIDEOS", ".")))


@functools.lru_cache(maxsize=2)
def _records(path: Path, modified: int) -> tuple[dict[str, Any], ...]:
    from o3video.eval.scoring import checked_records

    return tuple(checked_records(path, "vstar"))


def annotation_records(path: Path = Path(ANNOTATIONS)) -> tuple[dict[str, Any], ...]:
    """The checked V-STaR records of `path` as the file holds them (read with the project's reader, not
    through a table that would retype its numbers), read again only when the file changes."""
    if not path.is_file():
        raise InputError(f"{path.resolve()}: no V-STaR annotation file; run lmms-eval from the directory that "
                         f"holds {ANNOTATIONS} (V-STaR's annotations under that name) and the videos")
    return _records(path.resolve(), path.stat().st_mtime_ns)


# --- the task's documents and prompts --------------------------------------------------------------------


def prompt_documents(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Five documents per record, record after record: its index, the prompt's kind and its text."""
    from o3video.video.prompt import question_text

    return [{"record_index": index, "kind": prompt.kind, "prompt": question_text(prompt.question, prompt.instruction)}
            for index, record in enumerate(records) for prompt in vstar_prompts(record)]


def process_docs(dataset: Any) -> Any:
    """lmms-eval's `process_docs`: the dataset of `vstar_test.json` replaced by its prompt documents, built
    from the file's own records (their count checked against the dataset's)."""
    from datasets import Dataset

    records = annotation_records()
    if len(records) != len(dataset):
        raise InputError(f"{Path(ANNOTATIONS).resolve()}: {len(records)} record(s), but lmms-eval loaded "
                         f"{len(dataset)} row(s) from it")
    return Dataset.from_list(prompt_documents(records))


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, str] | None = None) -> str:
    kwargs = lmms_eval_specific_kwargs or {}
    return f"{kwargs.get('pre_prompt', '')}{doc['prompt']}{kwargs.get('post_prompt', '')}"


def doc_to_visual(doc: dict[str, Any]) -> list[str]:
    """The record's video (`o3video.eval.benchmark_runner.find_video` under the `videos` option)."""
    from o3video.eval.benchmark_runner import find_video

    index, videos = doc["record_index"], task_options().videos
    video = find_video(videos, annotation_records()[index])
    if video is None:
        raise InputError(f"{Path(ANNOTATIONS).resolve()}: record {index}: no video under {videos.resolve()} "
                         f"(set {ENV}VIDEOS to the videos' directory)")
    return [str(video.resolve())]


# --- responses -------------------------------------------------------------------------------------------


def boxes_frame(record: dict[str, Any], facts: dict[str, Any] | None,
                options: VStarTaskOptions) -> tuple[tuple[int, int], BoxConvention]:
    """The frame size a response's boxes are on and their convention: o3video's own response states both
    (`facts`); another model's are the task options (its resized frame, or the video's own pixels)."""
    if facts is not None:
        width, height = facts["input_size"]
        return (int(width), int(height)), BoxConvention(facts["box_convention"])
    video = (int(record["width"]), int(record["height"]))
    if options.max_pixels is None:
        return video, options.box_convention
    from o3video.video.resize import input_size

    return input_size(video, max_pixels=options.max_pixels), options.box_convention


def response_fields(record: dict[str, Any], kind: str, response: str, options: VStarTaskOptions) -> dict[str, Any]:
    """The results-file fields of one prompt's response (`answer_fields`), boxes in the video's pixels."""
    from lmms_eval.api.reasoning import strip_reasoning_tags

    from o3video.eval.lmms_model import response_facts
    from o3video.eval.vstar_run import answer_fields

    prompt = next(p for p in vstar_prompts(record) if p.kind == kind)
    size, convention = boxes_frame(record, response_facts(response), options)
    completion = strip_reasoning_tags(response, REASONING_TAGS)
    return answer_fields([prompt], [completion], size, (record["width"], record["height"]), convention)


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, dict[str, Any]]:
    """lmms-eval's `process_results`: the prompt's results fields, handed to every metric's aggregation."""
    index, kind = doc["record_index"], doc["kind"]
    fields = response_fields(annotation_records()[index], kind, results[0], task_options())
    item = {"record_index": index, "kind": kind, "fields": fields}
    return {name: item for name in METRICS}


# --- aggregation -----------------------------------------------------------------------------------------


def results_records(items: Iterable[dict[str, Any]], records: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """The V-STaR results records of the answered prompts, as `o3video eval vstar` writes them: each
    record that has at least one answered prompt, in file order, with those prompts' fields."""
    from o3video.eval.benchmark_runner import record_key

    answered: dict[int, dict[str, Any]] = {}
    asked: dict[int, set[str]] = {}
    for item in items:
        index = item["record_index"]
        answered.setdefault(index, {}).update(item["fields"])
        asked.setdefault(index, set()).add(item["kind"])
    partial = sorted(i for i, kinds in asked.items() if len(kinds) < len(PROMPT_KINDS))
    if partial:
        logger.warning("V-STaR: %d record(s) had only some of their five prompts asked (--limit counts prompts, "
                       "five per record); their missing answers score as unanswered: records %s",
                       len(partial), partial)
    return [{"key": record_key(i, records[i]), "index": i, **records[i], **answered[i]} for i in sorted(answered)]


def _chain_metrics(prefix: str, chain: Any) -> dict[str, float | None]:
    values: dict[str, float | None] = {f"{prefix}_mean_tiou": chain and chain.tiou_mean}
    values |= {f"{prefix}_R1_{_tag(t)}": chain and chain.tiou_r1[f"R1@{t}"] for t in TIOU_THRESHOLDS}
    values[f"{prefix}_mean_viou"] = chain and chain.viou_mean
    values |= {f"{prefix}_AP_{_tag(t)}": chain and chain.viou_ap[f"AP@{t}"] for t in VIOU_THRESHOLDS}
    return values | {f"{prefix}_AM": chain and chain.am, f"{prefix}_LGM": chain and chain.lgm}


def _tag(threshold: float) -> str:
    """A threshold in a metric's name, without a dot (lmms-eval's YAML names functions by dotted paths)."""
    return f"{round(threshold * 100):02d}"


def split_metrics(split: Any) -> dict[str, float]:
    """An official split's numbers under the task's metric names; a number the official script does not
    print (it stops first) is NaN."""
    values = {"what_accuracy": split.what_accuracy, **_chain_metrics("chain1", split.chain1),
              **_chain_metrics("chain2", split.chain2), "mAM": split.mAM, "mLGM": split.mLGM}
    return {name: math.nan if value is None else float(value) for name, value in values.items()}


@functools.lru_cache(maxsize=4)
def _scored(items_json: str, options: VStarTaskOptions) -> dict[str, float]:
    from o3video.eval.judges import make_judge, official_rating
    from o3video.eval.vstar_official import official_markdown, official_report

    records = results_records(json.loads(items_json), annotation_records())
    report = official_report(records, make_judge(options.judge, rating=official_rating), options.scoring,
                             where=f"{Path(ANNOTATIONS).resolve()}: ")
    logger.info("%s", official_markdown(report, f"V-STaR (lmms-eval, judge: {options.judge})"))
    if report.crash:
        logger.warning("V-STaR: %s; the task reports the overall split, NaN where the script prints no number",
                       report.crash)
    return split_metrics(report.overall)


def official_metrics(items: list[dict[str, Any]], options: VStarTaskOptions | None = None) -> dict[str, float]:
    """Every metric of the answered prompts' records, scored once (overall split) as the official scorer does."""
    return _scored(json.dumps(items, sort_keys=True), options or task_options())


def _aggregation(name: str) -> Callable[[list[dict[str, Any]]], float]:
    def aggregate(items: list[dict[str, Any]]) -> float:
        return official_metrics(items)[name]

    aggregate.__name__ = aggregate.__qualname__ = f"aggregate_{name}"
    aggregate.__doc__ = f"lmms-eval's aggregation of the metric {name}: `official_metrics(items)[{name!r}]`."
    return aggregate


def _chain_names(prefix: str) -> tuple[str, ...]:
    return (f"{prefix}_mean_tiou", *(f"{prefix}_R1_{_tag(t)}" for t in TIOU_THRESHOLDS), f"{prefix}_mean_viou",
            *(f"{prefix}_AP_{_tag(t)}" for t in VIOU_THRESHOLDS), f"{prefix}_AM", f"{prefix}_LGM")


# the task's metrics, in the order of its YAML's metric_list
METRICS = ("what_accuracy", *_chain_names("chain1"), *_chain_names("chain2"), "mAM", "mLGM")
AGGREGATIONS = {f"aggregate_{name}": _aggregation(name) for name in METRICS}
globals().update(AGGREGATIONS)  # `!function o3video.eval.vstar_lmms.aggregate_<metric>` in the YAML

__all__ = ["ANNOTATIONS", "METRICS", "VStarTaskOptions", "annotation_records", "boxes_frame", "doc_to_text",
           "doc_to_visual", "official_metrics", "process_docs", "process_results", "prompt_documents",
           "response_fields", "results_records", "split_metrics", "task_options"]
