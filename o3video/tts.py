"""Confidence-aware test-time scaling (paper §5.2, appendix A.10).

Sample N responses (default 8, temperature 1.0); crop every cited box from the sampled frame nearest
its cited time; ask the same model, with a fixed scoring prompt, to rate each crop 0/1/2 for how much
it supports answering the question; weight each response by its mean evidence score (a response with
no usable evidence weighs 0, the lowest); vote. Plain majority voting is the baseline.
"""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from PIL import Image

from o3video.answer import VideoModel
from o3video.geometry import BoxConvention, box_area, clamp_box, convention_to_pixels
from o3video.grammar import Claim, parse, parse_option_letter
from o3video.tasks import Task

SCORING_SYSTEM = "You judge visual evidence. Reply with a single digit: 0, 1 or 2."
SCORING_PROMPT = (
    "Question: {question}\n"
    "The image is a region cropped from the video as evidence for answering this question. "
    "How much does it support answering the question?\n"
    "2: highly supportive; 1: partially useful; 0: irrelevant.\n"
    "Reply with one digit inside <answer></answer>."
)


class FrameLike(Protocol):
    timestamp: float
    image: Image.Image


@dataclass
class Response:
    completion: str
    answer: str | None
    key: str | None  # what votes are counted on: the option letter, or the normalised text
    evidence_scores: list[int] = field(default_factory=list)

    @property
    def weight(self) -> float:
        """Mean evidence score in [0, 2]; 0 with no evidence."""
        return sum(self.evidence_scores) / len(self.evidence_scores) if self.evidence_scores else 0.0


@dataclass
class TTSResult:
    responses: list[Response]
    majority: str | None
    confidence: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"responses": [asdict(r) | {"weight": r.weight} for r in self.responses],
                "majority": self.majority, "confidence": self.confidence}


def answer_key(answer: str | None, task: Task) -> str | None:
    """The vote key of an answer: its option letter for MCQ (also `B. text` / `Correct Option: B`),
    else lower-cased text without punctuation or articles."""
    if answer is None or not answer.strip():
        return None
    if task.is_mcq:
        tail = re.split(r"correct\s*option\s*:", answer, flags=re.IGNORECASE)[-1].strip()
        letter = parse_option_letter(tail) or parse_option_letter(tail.split()[0] if tail.split() else "")
        if letter is None and re.match(r"^\(?([A-Za-z])[).:\]]", tail):
            letter = re.match(r"^\(?([A-Za-z])", tail).group(1).upper()  # type: ignore[union-attr]
        return letter
    words = answer.lower().translate(str.maketrans("", "", string.punctuation)).split()
    return " ".join(w for w in words if w not in {"a", "an", "the"}) or None


def majority_vote(responses: Sequence[Response]) -> str | None:
    """The most frequent key; ties go to the key seen first."""
    counts = Counter(r.key for r in responses if r.key is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(r.key for r in responses if r.key is not None and counts[r.key] == best)


def confidence_vote(responses: Sequence[Response]) -> str | None:
    """The key with the largest total evidence weight; ties go to the more frequent key, then the one
    seen first. When no response carries any evidence weight, this is the majority vote."""
    totals: dict[str, float] = defaultdict(float)
    for r in responses:
        if r.key is not None:
            totals[r.key] += r.weight
    if not totals or max(totals.values()) == 0.0:
        return majority_vote(responses)
    counts = Counter(r.key for r in responses if r.key is not None)
    order = {k: i for i, k in reversed(list(enumerate(r.key for r in responses)))}
    return max(totals, key=lambda k: (totals[k], counts[k], -order[k]))


def nearest_frame(frames: Sequence[FrameLike], time: float) -> FrameLike:
    return min(frames, key=lambda f: abs(f.timestamp - time))


def crop_evidence(frames: Sequence[FrameLike], claims: Sequence[Claim], *, min_side: int = 4,
                  box_convention: BoxConvention | str = BoxConvention.PIXELS) -> list[Image.Image]:
    """One crop per cited box of every claim with a time, from the sampled frame nearest that time.
    Boxes are read in `box_convention` (the model's) on that frame and clipped to it; what is left smaller
    than `min_side` pixels is not evidence."""
    crops = []
    for claim in claims:
        if claim.time is None or not frames:
            continue
        frame = nearest_frame(frames, claim.time)
        for box in claim.boxes:
            x1, y1, x2, y2 = clamp_box(convention_to_pixels(box, box_convention, frame.image.size), frame.image.size)
            if box_area([x1, y1, x2, y2]) <= 0 or x2 - x1 < min_side or y2 - y1 < min_side:
                continue
            crops.append(frame.image.crop((round(x1), round(y1), round(x2), round(y2))))
    return crops


def parse_evidence_score(reply: str) -> int:
    """The 0/1/2 rating in a scoring reply (its <answer> if any); 0 when unreadable."""
    text = parse(reply).answer or reply or ""
    match = re.search(r"\b([0-2])\b", text)
    return int(match.group(1)) if match else 0


def score_crops(model: VideoModel, question: str, crops: Sequence[Image.Image], *, max_new_tokens: int = 16) -> list[int]:
    """Rate every crop for the question with the fixed scoring prompt, asking `model` (a
    `o3video.answer.VideoModel`) greedily in one batch."""
    from o3video.video.prompt import build_messages

    if not crops:
        return []
    batch = [build_messages(crop, SCORING_PROMPT.format(question=question), Task.VISUAL, instruction="", system=SCORING_SYSTEM)
             for crop in crops]
    return [parse_evidence_score(out) for out in model.ask(batch, max_new_tokens=max_new_tokens)]


def answer_with_tts(
    model: VideoModel,
    frames: Sequence[FrameLike],
    question: str,
    task: Task,
    *,
    duration: float | None = None,
    n: int = 8,
    temperature: float = 1.0,
    max_new_tokens: int = 512,
    seed: int | None = None,
) -> TTSResult:
    """Sample `n` responses (repeatable with `seed`) of `model` (a `o3video.answer.VideoModel`) to `question`
    about `frames` (`o3video.answer.sample_answers`), score their evidence, and vote both ways."""
    from o3video.answer import Question, sample_answers

    convention = model.box_convention
    completions = sample_answers(model, frames, Question(question, task), n=n, duration=duration,
                                 temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)
    parsed = [parse(c) for c in completions]
    crops_per_response = [crop_evidence(frames, p.claims, box_convention=convention) for p in parsed]
    flat = [crop for crops in crops_per_response for crop in crops]
    scores = iter(score_crops(model, question, flat))
    responses = [
        Response(completion=c, answer=p.answer, key=answer_key(p.answer, task), evidence_scores=[next(scores) for _ in crops])
        for c, p, crops in zip(completions, parsed, crops_per_response)
    ]
    return TTSResult(responses=responses, majority=majority_vote(responses), confidence=confidence_vote(responses))
