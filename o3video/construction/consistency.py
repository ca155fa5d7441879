"""The self-consistency stage (paper §3.2).

1. Coverage: every time in the reasoning is the time of a key frame, and every box a claim cites is a
   key item of that frame under the same object name (`key_frames` / `key_items` cover the
   reasoning). Claims must be complete (`<obj>…</obj><box>…</box>at<t>…</t>s`), and there must be one.
2. Each reasoning sentence that cites evidence is shown, with the crops it cites, to a verifier VLM
   that judges whether the sentence agrees with them; one "no" drops the sample.
"""

from __future__ import annotations

import re
from typing import Any

from o3video.construction.annotation import Annotation, KeyFrame
from o3video.construction.annotation_prompts import sentence_check_request
from o3video.construction.annotator_frames import crop
from o3video.construction.asking import ask_yes_no
from o3video.construction.boxes import load_key_frame_image
from o3video.construction.build_config import CheckConfig
from o3video.construction.context import StageContext
from o3video.construction.filters import Rejection
from o3video.construction.source_items import SourceItem
from o3video.grammar import Claim, Completion, parse

_ARTICLE_RE = re.compile(r"^(?:a|an|the)\s+")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z<\"'(])")


def same_name(a: str, b: str) -> bool:
    """Object names equal up to case, spacing and a leading article."""
    def norm(name: str) -> str:
        return _ARTICLE_RE.sub("", " ".join(name.lower().split()))
    return norm(a) == norm(b)


def parse_reasoning(reasoning: str) -> Completion:
    return parse(f"<think>{reasoning}</think><answer>-</answer>")


def _box_close(a: list[float] | tuple[float, ...], b: list[float], tolerance: float) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def coverage_rejections(annotation: Annotation, checks: CheckConfig) -> list[Rejection]:
    """Everything in the reasoning that `key_frames` / `key_items` do not cover (one entry per problem)."""
    completion = parse_reasoning(annotation.reasoning)
    out: list[Rejection] = []
    out += [Rejection("malformed_reasoning", p) for p in completion.problems]
    if not completion.tags_balanced and not completion.problems:
        out.append(Rejection("malformed_reasoning", "unbalanced or nested grounding tags"))
    if not completion.complete_claims:
        out.append(Rejection("no_grounded_claim", "the reasoning cites no object with a box and a time"))
    claimed = [b for c in completion.claims for b in c.boxes]
    for box in completion.boxes:
        if box not in claimed:
            out.append(Rejection("malformed_reasoning", f"box {list(box)} is not attached to an <obj>"))
    for time in completion.times:
        if annotation.frame_at(time, checks.time_tolerance_s) is None:
            shown = ", ".join(f"{f.time:g}" for f in annotation.key_frames)
            out.append(Rejection("time_not_in_key_frames", f"the reasoning cites {time:g}s; key frames are at {shown}"))
    for claim in completion.claims:
        frame = annotation.frame_at(claim.time, checks.time_tolerance_s) if claim.time is not None else None
        if frame is not None:
            out += _claim_rejections(claim, frame, checks)
    return out


def _claim_rejections(claim: Claim, frame: KeyFrame, checks: CheckConfig) -> list[Rejection]:
    out = []
    for box in claim.boxes:
        matches = [o for o in frame.objects if _box_close(box, o.box, checks.box_tolerance)]
        if not matches:
            out.append(Rejection("box_not_in_key_items", f"{claim.object!r} {list(box)} at {frame.time:g}s is not a key item of that frame"))
        elif not any(same_name(o.name, claim.object) for o in matches):
            names = ", ".join(repr(o.name) for o in matches)
            out.append(Rejection("name_not_in_key_items", f"the reasoning calls {list(box)} at {frame.time:g}s {claim.object!r}; key_items call it {names}"))
    return out


def reasoning_sentences(reasoning: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_RE.split(reasoning) if s.strip()]


def check_consistency(item: SourceItem, annotation: Annotation, ctx: StageContext) -> dict[str, Any]:
    """Entry of the `consistency` stage."""
    checks = ctx.config.checks
    rejections = coverage_rejections(annotation, checks)
    verdicts: list[dict[str, Any]] = []
    if not rejections and checks.verify_sentences:
        rejections = _verify_sentences(item, annotation, ctx, verdicts)
    return {"status": "rejected" if rejections else "kept", "rejections": [r.to_dict() for r in rejections], "verdicts": verdicts}


def _verify_sentences(item: SourceItem, annotation: Annotation, ctx: StageContext, verdicts: list[dict[str, Any]]) -> list[Rejection]:
    verifier = ctx.need_verifier()
    checks = ctx.config.checks
    images: dict[str, Any] = {}
    for sentence in reasoning_sentences(annotation.reasoning):
        claims = [c for c in parse_reasoning(sentence).claims if c.complete]
        if not claims:
            continue
        crops, names, times, cited = [], [], [], []
        for claim in claims:
            frame = annotation.frame_at(claim.time, checks.time_tolerance_s)  # type: ignore[arg-type]
            assert frame is not None  # coverage passed
            if frame.path not in images:
                images[frame.path] = load_key_frame_image(ctx, frame.path)
            for box in claim.boxes:
                crops.append(crop(images[frame.path], list(box), min_side=checks.crop_min_side))
                names.append(claim.object)
                times.append(frame.time)
                cited.append({"name": claim.object, "time": frame.time, "box": list(box)})
        context = {"purpose": "verify_sentence", "item": item.id, "claims": cited}
        request = sentence_check_request(crops, names, times, sentence, context, max_tokens=ctx.config.vlm_options.verify_max_tokens)
        verdict, reply = ask_yes_no(verifier, request, ctx.config.vlm_options)
        verdicts.append({"sentence": sentence, "answer": reply[:80]})
        if verdict is None:
            return [Rejection("verifier_unclear", f"no yes/no for the sentence {sentence[:80]!r}: {reply[:80]!r}")]
        if not verdict:
            return [Rejection("sentence_not_supported", f"{sentence[:160]!r}: {reply[:40]!r}")]
    return []


__all__ = ["check_consistency", "coverage_rejections", "parse_reasoning", "reasoning_sentences", "same_name"]
