"""Held-out scores of a perception model: greedy answers to scenes' questions, scored against the scenes' truth
(box IoU, binding on the named object, V-STaR's vIoU, tIoU and the exact judge's accuracy)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import numpy as np
from PIL import Image

from o3video.geometry import BoxConvention, box_iou, convention_to_pixels
from o3video.grammar import parse, parse_answer_box
from o3video.lab.perception.questions import messages
from o3video.lab.perception.scenes import BLANK_GREY, Scene, add_clause, add_motion, ask_where, frame_times
from o3video.lab.perception.world_scenes import WorldScene

HIT_IOU = 0.3  # an answer "hits" an object at this IoU (objects never overlap, so at most one is hit)


def answer_box(text: str, convention: BoxConvention, size: tuple[int, int]) -> list[float] | None:
    """The box of a completion's answer (the first second's of a V-STaR *where* JSON answer; without an answer, the
    completion's first box), in pixels."""
    from o3video.data.vstar import parse_spatial_answer

    answer = parse(text).answer
    box = parse_answer_box(answer or text)
    if box is None and answer:
        box = next(iter(parse_spatial_answer(answer).values()), None)
    if box is None:
        return None
    try:
        return convention_to_pixels(box, convention, size)
    except ValueError:
        return None


def where_viou(text: str, scene: Scene, convention: BoxConvention, size: tuple[int, int]) -> float:
    """V-STaR's vIoU of a *where* answer about `scene`'s asked seconds, scored by the benchmark scorer
    (`o3video.eval.vstar_metrics.spatial_scores`) against the named object's box at each second."""
    from o3video.data.vstar import parse_spatial_boxes, rescale_spatial
    from o3video.eval.vstar_metrics import spatial_scores

    answered = rescale_spatial(parse_spatial_boxes(parse(text).answer or text), size, size, convention)
    first, last = scene.span or (0, 0)
    truth = [dict(zip(("timestamp", "xmin", "ymin", "xmax", "ymax"), (t, *scene.box_at(scene.target, t))))
             for t in range(first, last + 1)]
    return spatial_scores({"bboxes": truth}, answered)[0]


def score(predicted: list[list[float] | None], scenes: list[Scene]) -> dict[str, Any]:
    """Mean IoU with the named object, share >= 0.5, parse rate, IoU by object count, and binding among hits
    (of answers on 2+ object images that hit some object, the share that hit the named one)."""
    ious, by_n, hits, bound = [], {}, 0, 0
    for box, scene in zip(predicted, scenes):
        iou = box_iou(box, scene.box) if box is not None else 0.0
        ious.append(iou)
        by_n.setdefault(scene.n, []).append(iou)
        if box is not None and scene.n > 1:
            overlaps = [box_iou(box, b) for b in scene.boxes]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= HIT_IOU:
                hits += 1
                bound += best == scene.target
    values = np.array(ious)
    return {
        "iou": round(float(values.mean()), 4),
        "iou50": round(float((values >= 0.5).mean()), 4),
        "parse": round(sum(b is not None for b in predicted) / len(scenes), 4),
        "iou_by_n": {str(k): round(float(np.mean(v)), 3) for k, v in sorted(by_n.items())},
        "bind": round(bound / hits, 3) if hits else None,
        "hits": hits,
    }


def evaluate(model: Any, processor: Any, scenes: list[Scene], convention: BoxConvention, size: tuple[int, int], *,
             blank: bool = False, frames: int = 0, where: bool = False, clause: bool = False, motion: bool = False,
             batch: int = 64) -> dict[str, Any]:
    """Greedy answers to every scene's question (on blank frames for the blind model; `frames` > 0: asked in
    the video form, as that many labelled frames of the image; `where`: asked in V-STaR's chain-1 *where* layout,
    `ask_where`, scored by the answer's first box and by vIoU over the asked seconds (`where_viou`); `motion`:
    there, the objects move, `add_motion`; `clause`: every question ending with one of the `CLAUSES`), scored."""
    blank_image = Image.new("RGB", size, (BLANK_GREY,) * 3)
    scenes_in = [Scene(blank_image if blank else s.image, s.objects, s.target, s.owner, frames=frames,
                       background=BLANK_GREY if blank else s.background, blank=blank) for s in scenes]
    if where:
        rng = random.Random(len(scenes))
        for scene in scenes_in:
            ask_where(scene, rng)
    if motion:
        rng = random.Random(len(scenes) + 2)
        for scene in scenes_in:
            add_motion(scene, rng)
    if clause:
        rng = random.Random(len(scenes) + 1)
        for scene in scenes_in:
            add_clause(scene, rng)
    return evaluate_asked(model, processor, scenes_in, convention, size, batch=batch)


def greedy_answers(model: Any, processor: Any, scenes: list[Scene], convention: BoxConvention, *, max_new_tokens: int,
                   batch: int = 64) -> list[str]:
    """The model's greedy completion of every scene's question as it is asked (`messages`), `batch` at a time, in
    eval mode (the mode it was in is restored)."""
    from o3video.models import generate

    was_training = model.training
    model.eval()
    texts = []
    for i in range(0, len(scenes), batch):
        texts += [c[0] for c in generate(model, processor, [messages(s, convention) for s in scenes[i:i + batch]],
                                         max_new_tokens=max_new_tokens)]
    model.train(was_training)
    return texts


def evaluate_asked(model: Any, processor: Any, scenes: list[Scene], convention: BoxConvention, size: tuple[int, int], *,
                   batch: int = 64, where_tokens: int = 160) -> dict[str, Any]:
    """Greedy answers to scenes asked as they are (`evaluate`; `WorldScene`s), scored:
    `score`, and for scenes in the where layout (answered in up to `where_tokens` tokens) also vIoU over the asked
    seconds (`where_viou`)."""
    where = all(s.span is not None for s in scenes)
    texts = greedy_answers(model, processor, scenes, convention, max_new_tokens=where_tokens if where else 64, batch=batch)
    result = score([answer_box(t, convention, size) for t in texts], scenes)
    if where:
        result["viou"] = round(float(np.mean([where_viou(t, s, convention, size) for t, s in zip(texts, scenes)])), 4)
    result["example"] = texts[0]
    return result


def _shown(scenes: list[WorldScene], blank: bool) -> list[WorldScene]:
    """The scenes as asked: on blank frames for `blank` (the objects' places kept, so nothing else changes)."""
    if not blank or not scenes:
        return scenes
    blank_image = Image.new("RGB", scenes[0].image.size, (BLANK_GREY,) * 3)
    return [replace(s, blank=True, image=blank_image) for s in scenes]


def frame_reader_span(times: list[float], span: tuple[float, float], duration: float) -> tuple[float, float]:
    """The span a perfect reader of the frames at `times` would answer for the true `span`: from halfway between the
    first frame inside it and the one before to halfway between the last and the one after (the video's ends at its
    ends); with no frame inside, half a frame gap around the nearest frame. What sampled frames allow at best."""
    inside = [k for k, t in enumerate(times) if span[0] <= t <= span[1]]
    if not inside:
        k = min(range(len(times)), key=lambda i: min(abs(times[i] - span[0]), abs(times[i] - span[1])))
        gap = duration / len(times) / 2
        return max(0.0, times[k] - gap), min(duration, times[k] + gap)
    first, last = inside[0], inside[-1]
    start = (times[first - 1] + times[first]) / 2 if first > 0 else 0.0
    end = (times[last] + times[last + 1]) / 2 if last + 1 < len(times) else duration
    return start, end


def evaluate_when(model: Any, processor: Any, scenes: list[WorldScene], convention: BoxConvention, *, blank: bool = False,
                  batch: int = 64, max_new_tokens: int = 96) -> dict[str, Any]:
    """Greedy answers to world scenes asked their chain-1 *when* question (on blank frames for `blank`), scored as
    V-STaR scores *when*: tIoU of the answer's `[S, E]` with the true span, overall and by event kind, with the share
    of answers that parse, and for scale the tIoU of answering the whole video (`whole`) and of the best single span
    per event kind fitted on these very scenes (`prior`, `o3video.data.vstar.question_span_prior`: an upper bound
    for an answer that reads only the question) and of a perfect reader of the shown frames (`reader`,
    `frame_reader_span`: what the frames allow); `spans` holds each answer's parsed span (None: unparsed)."""
    from o3video.data.vstar import parse_temporal_answer, question_span_prior
    from o3video.geometry import temporal_iou

    asked = _shown(scenes, blank)
    texts = greedy_answers(model, processor, asked, convention, max_new_tokens=max_new_tokens, batch=batch)
    spans = [parse_temporal_answer(t) for t in texts]
    truths = [s.vstar["timestamps"] for s in asked]
    scores = [temporal_iou(span, truth) if span else 0.0 for span, truth in zip(spans, truths, strict=True)]
    by_event: dict[str, list[float]] = {}
    for scene, value in zip(asked, scores):
        by_event.setdefault(scene.vstar["event"], []).append(value)
    prior = question_span_prior([s.vstar for s in asked])
    return {"tiou": round(float(np.mean(scores)), 4),
            "by_event": {k: [round(float(np.mean(v)), 4), len(v)] for k, v in sorted(by_event.items())},
            "parse": round(sum(bool(span) for span in spans) / max(1, len(spans)), 4),
            "whole": round(float(np.mean([temporal_iou((0.0, s.duration), t) for s, t in zip(asked, truths)])), 4),
            "prior": round(sum(score * n for _, score, n in prior.values()) / max(1, len(asked)), 4),
            "reader": round(float(np.mean([temporal_iou(frame_reader_span(frame_times(s), tuple(t), s.duration), t)
                                           for s, t in zip(asked, truths)])), 4),
            "spans": [[round(v, 2) for v in span] if span else None for span in spans],
            "example": texts[0] if texts else ""}


def evaluate_what(model: Any, processor: Any, scenes: list[WorldScene], convention: BoxConvention, *, blank: bool = False,
                  batch: int = 64, max_new_tokens: int = 96) -> dict[str, Any]:
    """Greedy answers to world scenes asked their *what* question (on blank frames for `blank`), rated as the
    evaluation's `exact` judge rates them (`o3video.rewards.exact_rating`): accuracy = the share rated 2 or more,
    with the share of its answers equal to its most frequent one (`one_answer`: a model that answers one phrase to
    every question scores that phrase's frequency) and the accuracy of always answering the most frequent true
    answer (`most_frequent`)."""
    from collections import Counter

    from o3video.rewards import exact_rating

    asked = _shown(scenes, blank)
    texts = greedy_answers(model, processor, asked, convention, max_new_tokens=max_new_tokens, batch=batch)
    answers = [parse(t).answer or "" for t in texts]
    right = [exact_rating(s.record["answer"], a) >= 2 for s, a in zip(asked, answers, strict=True)]
    top = Counter(answers).most_common(1)[0][1] if answers else 0
    truths = Counter(s.record["answer"] for s in asked).most_common(1)
    return {"accuracy": round(float(np.mean(right)), 4), "one_answer": round(top / max(1, len(answers)), 4),
            "most_frequent": round(truths[0][1] / len(asked), 4) if truths else 0.0,
            "example": texts[0] if texts else ""}
