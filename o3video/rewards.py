"""The paper's rewards, exactly as docs/design.md §3 specifies: `r = r_acc + r_thk + r_fmt`, `r_thk = r_t + r_s`.

Everything is computed per sample from that sample's own `task` (never from a batch's first
element). A sample is a released STGR record whose `image_size` is the `[W, H]` of the frames the
model saw (see `o3video.data.stgr.reward_sample`); visual QA also reads `original_image_size`, the
released image size its ground-truth box is in (absent: the box is taken as model-input pixels).
`box_convention` is how the model writes boxes (`pixels` of its input frame, the default, or
`relative_1000`): every ground-truth box is converted into it here, once, so the completion's boxes
are compared like with like.

Two interfaces:
* `score(completion, sample, progress)` → the five numbers, for evaluation and `o3video score`;
* `reward_functions()` → one TRL-compatible callable per term for `GRPOTrainer(reward_funcs=...)`.
"""

from __future__ import annotations

import json
import math
import reprlib
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from o3video.geometry import (
    BoxConvention,
    GeometryError,
    box_iou,
    check_box,
    check_size,
    finite_float,
    pixels_to_convention,
    rescale_box,
    temporal_iou,
    to_pixels,
)
from o3video.grammar import (
    Box,
    Completion,
    parse,
    parse_answer_box,
    parse_option_letter,
    parse_temporal_truth,
    split_temporal_mcq,
)
from o3video.tasks import Task, parse_task

TERMS = ("accuracy", "temporal", "spatial", "format")
DEFAULT_TAU = 3.0  # seconds; the paper's temporal gate (the reference code's 1 s is a defect)


class RewardInputError(ValueError):
    """A sample that lacks what its task's rewards need; the message names the field."""


@dataclass(frozen=True)
class KeyFrame:
    time: float
    boxes: tuple[Box, ...]  # every ground-truth box of this frame, in the model's box convention


@dataclass(frozen=True)
class Truth:
    """A sample's ground truth, read once, its boxes converted to the model's box convention on its input
    frame (model-input pixels, or 0–1000)."""

    task: Task
    answer: str
    letter: str | None = None  # MCQ option
    span: tuple[float, float] | None = None  # temporal tasks
    box: Box | None = None  # visual QA
    key_frames: tuple[KeyFrame, ...] = ()  # spatio-temporal QA (point supervision)
    boxes_by_second: dict[str, Box] | None = None  # a V-STaR *where* answer (`vstar_kind` where_1 / where_2)


# --- schedules -----------------------------------------------------------------------------------------


def proximity_sigma(progress: float) -> float:
    """Adaptive temporal proximity: σ(p) = max(1, 4·(1 − p)), 4 → 1 over the first 75% of training."""
    p = min(max(float(progress), 0.0), 1.0) if math.isfinite(progress) else 1.0
    return max(1.0, 4.0 * (1.0 - p))


def check_sigma(sigma: float | None) -> float | None:
    """A fixed σ must be a finite number > 0 (σ = 0 divides by zero, NaN makes every reward NaN);
    None (the adaptive schedule) passes. ValueError names `sigma`."""
    if sigma is None:
        return None
    value = finite_float(sigma)
    if value is None or value <= 0:
        raise ValueError(f"sigma: a fixed σ must be a finite number > 0 (or None for the adaptive schedule), got {sigma!r}")
    return value


# --- ground truth ----------------------------------------------------------------------------------------


def _input_size(sample: dict[str, Any], task: Task) -> tuple[float, float]:
    try:
        return check_size(sample.get("image_size"))
    except GeometryError:
        raise RewardInputError(
            f"image_size: {task.value} rewards need [W, H] of the frames the model saw, got {sample.get('image_size')!r}"
        ) from None


def _original_size(sample: dict[str, Any]) -> tuple[float, float]:
    try:
        return check_size(sample.get("original_image_size"))
    except GeometryError as err:
        raise RewardInputError(f"original_image_size: {err}") from None


ToModel = Callable[[object], Box]  # a ground-truth box in model-input pixels -> as the model writes boxes


def _to_model(sample: dict[str, Any], task: Task) -> ToModel:
    """How the sample's ground-truth boxes, once in model-input pixels, become the model's box convention
    (`box_convention`, default pixels: no conversion). The input size is read when a box is converted, so a
    sample whose task has no boxes needs none."""
    value = sample.get("box_convention") or BoxConvention.PIXELS
    try:
        convention = BoxConvention(value)
    except ValueError:
        choices = ", ".join(c.value for c in BoxConvention)
        raise RewardInputError(f"box_convention: must be one of {choices}, got {reprlib.repr(value)}") from None
    if convention is BoxConvention.PIXELS:
        return check_box
    return lambda box: tuple(pixels_to_convention(box, convention, _input_size(sample, task)))  # type: ignore[return-value]


def _key_frames(sample: dict[str, Any], size: tuple[float, float], to_model: ToModel) -> tuple[KeyFrame, ...]:
    frames, items = sample.get("key_frames") or [], sample.get("key_items") or {}
    if not isinstance(frames, (list, tuple)):
        raise RewardInputError(f"key_frames: must be a list of {{idx, time}} entries, "
                               f"got {type(frames).__name__} {reprlib.repr(frames)}")
    if not isinstance(items, dict):
        raise RewardInputError(f"key_items: must map frame index to {{object: boxes}}, got {type(items).__name__}")
    return tuple(_key_frame(i, frame, items, size, to_model) for i, frame in enumerate(frames))


def _key_frame(i: int, frame: object, items: dict[str, Any], size: tuple[float, float], to_model: ToModel) -> KeyFrame:
    try:
        raw_time = frame["time"]  # type: ignore[index]
        objects = items.get(str(frame["idx"]), {})  # type: ignore[index]
        boxes = []
        for name_boxes in objects.values():
            if name_boxes and not isinstance(name_boxes[0], (list, tuple)):
                name_boxes = [name_boxes]
            boxes += [to_model(to_pixels(b, "xyxy_norm", size)) for b in name_boxes]
    except (KeyError, TypeError, ValueError, AttributeError) as err:  # GeometryError is a ValueError
        raise RewardInputError(f"key_frames[{i}] / key_items: unreadable ({err!r})") from None
    time = finite_float(raw_time)
    if time is None:
        raise RewardInputError(f"key_frames[{i}].time: not a finite number: {reprlib.repr(raw_time)}")
    return KeyFrame(time=time, boxes=tuple(boxes))


def read_truth(sample: dict[str, Any]) -> Truth:
    """The ground truth of one sample; RewardInputError names the missing or malformed field."""
    if not isinstance(sample, dict):
        raise RewardInputError(f"sample: must be a dict, got {type(sample).__name__}")
    try:
        task = parse_task(sample.get("task"))
    except ValueError as err:
        raise RewardInputError(f"task: {err}") from None
    answer = sample.get("answer")
    if not isinstance(answer, str):
        raise RewardInputError(f"answer: missing or not a string in a {task.value} sample")
    to_model = _to_model(sample, task)
    truth = _task_truth(sample, task, answer, to_model)
    if str(sample.get("vstar_kind") or "").startswith("where"):
        return replace(truth, boxes_by_second=_where_truth(answer, sample, task, to_model))
    return truth


def _task_truth(sample: dict[str, Any], task: Task, answer: str, to_model: ToModel) -> Truth:
    if task.is_temporal:
        letter, span = parse_temporal_truth(answer, with_option=task is Task.TEMPORAL_MCQ)
        if span is None or (task is Task.TEMPORAL_MCQ and letter is None):
            raise RewardInputError(f"answer: unreadable {task.value} ground truth {answer!r}")
        return Truth(task, answer, letter=letter, span=span)
    if task is Task.GENERAL_MCQ:
        letter = parse_option_letter(answer)
        if letter is None:
            raise RewardInputError(f"answer: MCQ ground truth is not an option letter: {answer!r}")
        return Truth(task, answer, letter=letter)
    if task is Task.VISUAL:
        box = parse_answer_box(answer)
        if box is None:
            raise RewardInputError(f"answer: visual QA ground truth has no box: {answer!r}")
        size = _input_size(sample, task)
        original = _original_size(sample) if sample.get("original_image_size") else size
        try:
            box = to_model(rescale_box(box, original, size))  # type: ignore[assignment]
        except GeometryError as err:
            raise RewardInputError(f"original_image_size: {err}") from None
        return Truth(task, answer, box=box)
    if task is Task.SPATIO_TEMPORAL:
        return Truth(task, answer, key_frames=_key_frames(sample, _input_size(sample, task), to_model))
    return Truth(task, answer)


# --- accuracy -------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _rouge_scorer():  # rouge-score is imported lazily: only free-form answers need it
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def rouge_score(reference: str, prediction: str) -> float:
    """Mean of ROUGE-1/2/L F-measures (stemmed), clipped to [0, 1]."""
    if not reference.strip() or not prediction.strip():
        return 0.0
    scores = _rouge_scorer().score(reference, prediction)
    mean = sum(s.fmeasure for s in scores.values()) / len(scores)
    return min(1.0, max(0.0, mean))


def _words(text: str) -> list[str]:
    text = (text or "").lower().translate(str.maketrans("", "", string.punctuation))
    return [w for w in text.split() if w not in {"a", "an", "the"}]


def exact_rating(ground_truth: str, candidate: str) -> int:
    """A closed-vocabulary answer rated as V-STaR's judge rates (0-3): 3 when the two are equal once lower-cased
    without punctuation and articles, 2 when the candidate contains the ground truth as a phrase, else 0. The
    `exact` judge of the evaluation, and the perception stage's *what* score."""
    gt, cand = _words(ground_truth), _words(candidate)
    if not gt or not cand:
        return 0
    if gt == cand:
        return 3
    n = len(gt)
    return 2 if any(cand[i : i + n] == gt for i in range(len(cand) - n + 1)) else 0


def _answered_span(times: Sequence[float]) -> tuple[float, float] | None:
    return (times[0], times[1]) if len(times) >= 2 else None


def _where_truth(answer: str, sample: dict[str, Any], task: Task, to_model: ToModel) -> dict[str, Box]:
    """A V-STaR *where* ground truth: `{"<second>": [x1, y1, x2, y2]}` as JSON, in pixels of the frame size
    the record was written for (`original_image_size`; without it, the model input's), its boxes moved to the
    model's input frame and convention."""
    try:
        data = json.loads(answer)
    except (json.JSONDecodeError, RecursionError):
        data = None
    try:
        if sample.get("original_image_size") and isinstance(data, dict):
            original, size = _original_size(sample), _input_size(sample, task)
            data = {k: rescale_box(v, original, size) for k, v in data.items()}
        boxes = {str(k): to_model(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except GeometryError:
        boxes = {}
    if not boxes:
        raise RewardInputError(f"answer: a V-STaR where ground truth must map seconds to boxes, got {answer[:80]!r}")
    return boxes


def where_accuracy(completion: Completion, boxes_by_second: dict[str, Box]) -> float:
    """r_acc of a V-STaR *where* answer — a spatial-grounding answer, so box IoU as docs/design.md §3 scores boxes:
    the mean over the ground truth's seconds of the best IoU of the boxes answered for that second (0 if
    none), which is V-STaR's own vIoU."""
    from o3video.data.vstar import parse_spatial_boxes

    answered = parse_spatial_boxes(completion.answer or "")
    per_second = [max((box_iou(a, box) for a in answered.get(sec, ())), default=0.0) for sec, box in boxes_by_second.items()]
    return sum(per_second) / len(per_second)


def accuracy_reward(completion: Completion, truth: Truth) -> float:
    """r_acc: option match, ROUGE, temporal IoU, letter + temporal IoU, or box IoU, by task (and per-second
    box IoU for a V-STaR *where* answer)."""
    answer = completion.answer
    if answer is None:
        return 0.0
    if truth.boxes_by_second is not None:
        return where_accuracy(completion, truth.boxes_by_second)
    task = truth.task
    if task is Task.GENERAL_MCQ:
        return float(parse_option_letter(answer) == truth.letter)
    if task is Task.TEMPORAL:
        return temporal_iou(_answered_span(completion.answer_times), truth.span)
    if task is Task.TEMPORAL_MCQ:
        letter, _ = split_temporal_mcq(answer)
        return float(letter == truth.letter) + temporal_iou(_answered_span(completion.answer_times), truth.span)
    if task is Task.VISUAL:
        return box_iou(completion.answer_boxes[0], truth.box) if completion.answer_boxes else 0.0
    return rouge_score(truth.answer, answer)


# --- thinking -------------------------------------------------------------------------------------------


def temporal_reward(completion: Completion, truth: Truth, progress: float = 1.0, *, sigma: float | None = None) -> float:
    """r_t. Point supervision (key frames): mean Gaussian proximity of each <think> time to its nearest
    key time, σ adaptive unless fixed. Interval supervision (temporal QA): share of times inside [S, E]."""
    times = completion.times
    if not times:
        return 0.0
    if truth.task.is_temporal:
        start, end = truth.span  # type: ignore[misc]
        return sum(start <= t <= end for t in times) / len(times)
    if truth.task is Task.SPATIO_TEMPORAL and truth.key_frames:
        s = proximity_sigma(progress) if sigma is None else check_sigma(sigma)
        key_times = [k.time for k in truth.key_frames]
        deltas = [min(abs(t - k) for k in key_times) for t in times]
        return sum(_gaussian(d / s) for d in deltas) / len(deltas)  # type: ignore[operator]
    return 0.0


def _gaussian(z: float) -> float:
    """exp(−z²/2), written so that huge times give 0, never NaN: z·z overflows to inf (no exception,
    unlike `z ** 2`), and d/σ is inf at worst, where d²/(2σ²) could be inf/inf."""
    return math.exp(-0.5 * z * z)


def spatial_reward(completion: Completion, truth: Truth, *, tau: float | None = DEFAULT_TAU) -> float:
    """r_s. Each grounded claim is matched to the key frame nearest its time; it scores its best box IoU
    there only if that frame is within τ seconds (`abs` difference; τ=None disables the gate)."""
    if truth.task is Task.VISUAL:
        return max((box_iou(b, truth.box) for b in completion.boxes), default=0.0)
    if truth.task is not Task.SPATIO_TEMPORAL or not truth.key_frames:
        return 0.0
    claims = completion.complete_claims
    if not claims:
        return 0.0
    total = 0.0
    for claim in claims:
        nearest = min(truth.key_frames, key=lambda k: abs(claim.time - k.time))  # type: ignore[operator]
        if tau is not None and abs(claim.time - nearest.time) > tau:  # type: ignore[operator]
            continue
        total += max((box_iou(b, g) for b in claim.boxes for g in nearest.boxes), default=0.0)
    return total / len(claims)


# --- format ---------------------------------------------------------------------------------------------


def has_required_grounding(completion: Completion, task: Task) -> bool:
    """The grounding a task calls for: spatio-temporal obj+box+t; temporal ≥ 2 <t>; visual obj+box."""
    if task is Task.SPATIO_TEMPORAL:
        return bool(completion.complete_claims)
    if task.is_temporal:
        return len(completion.times) >= 2
    if task is Task.VISUAL:
        return any(c.boxes for c in completion.claims + completion.answer_claims)
    return True


def format_reward(completion: Completion, task: Task) -> float:
    """r_fmt: 1.0 for a well-formed think+answer with balanced tags and the task's grounding; 0.5 for a
    well-formed think+answer without that grounding; 0 otherwise (including unbalanced tags)."""
    if not (completion.well_formed and completion.tags_balanced):
        return 0.0
    return 1.0 if has_required_grounding(completion, task) else 0.5


# --- entry points ---------------------------------------------------------------------------------------


def score(
    completion: str,
    sample: dict[str, Any],
    progress: float = 1.0,
    *,
    sigma: float | None = None,
    tau: float | None = DEFAULT_TAU,
) -> dict[str, float]:
    """All reward terms of one completion: `accuracy`, `temporal`, `spatial`, `format`, `total`.

    `sigma=None` uses the adaptive σ(progress); a number fixes it (ablation). `tau=None` turns the
    temporal gate off (ablation). Raises RewardInputError for a malformed sample, never for a
    malformed completion; ValueError for a σ that is not a finite number > 0."""
    check_sigma(sigma)
    truth = read_truth(sample)
    parsed = parse(completion)
    out = {
        "accuracy": accuracy_reward(parsed, truth),
        "temporal": temporal_reward(parsed, truth, progress, sigma=sigma),
        "spatial": spatial_reward(parsed, truth, tau=tau),
        "format": format_reward(parsed, truth.task),
    }
    out["total"] = sum(out.values())
    return out


def completion_text(completion: object) -> str:
    """The text of a TRL completion: a plain string, or conversational messages (last message's content)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        content = completion[-1].get("content", "") if isinstance(completion[-1], dict) else completion[-1]
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content)
    return ""


def progress_at(step: object, max_steps: object) -> float:
    """Training progress p = step / max_steps in [0, 1]; 1.0 when unknown."""
    if isinstance(step, (int, float)) and isinstance(max_steps, (int, float)) and max_steps > 0:
        return min(1.0, max(0.0, step / max_steps))
    return 1.0


def training_progress(trainer_state: object) -> float:
    """p of the step being trained, from a transformers TrainerState: its rewards are computed before
    `global_step` moves, so p = global_step / max_steps."""
    return progress_at(getattr(trainer_state, "global_step", None), getattr(trainer_state, "max_steps", None))


def _make_reward_function(term: str, sigma: float | None, tau: float | None) -> Callable[..., list[float]]:
    def reward(prompts: Any = None, completions: Sequence[Any] = (), trainer_state: Any = None, **columns: Any) -> list[float]:
        n = len(completions)
        progress = training_progress(trainer_state)
        rows = {k: v for k, v in columns.items() if isinstance(v, (list, tuple)) and len(v) == n}
        rewards = []
        for i, completion in enumerate(completions):
            sample = {k: v[i] for k, v in rows.items()}
            rewards.append(score(completion_text(completion), sample, progress, sigma=sigma, tau=tau)[term])
        return rewards

    reward.__name__ = reward.__qualname__ = f"{term}_reward"
    reward.__doc__ = f"TRL reward function for r_{term}; reads each sample's own task and progress from trainer_state."
    return reward


def reward_functions(
    *, sigma: float | None = None, tau: float | None = DEFAULT_TAU, terms: Sequence[str] = TERMS
) -> list[Callable[..., list[float]]]:
    """One TRL-compatible reward callable per term, for `GRPOTrainer(reward_funcs=...)`.

    Each is called as TRL calls custom rewards — `f(prompts=, completions=, trainer_state=, **columns)`,
    one list entry per completion — and reads the sample from the dataset columns (`task`, `answer`,
    `key_frames`, `key_items`, `image_size`, `original_image_size`, `box_convention`). Their sum is the paper's
    reward."""
    unknown = set(terms) - set(TERMS)
    if unknown:
        raise ValueError(f"unknown reward terms {sorted(unknown)}; choose from {TERMS}")
    sigma = check_sigma(sigma)
    return [_make_reward_function(term, sigma, tau) for term in terms]
