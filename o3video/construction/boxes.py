"""The box-filtering stage (paper §3.2): boxes over 80% of the frame are removed as uninformative;
on dense sources a box must agree with its track's box; every remaining key-item crop is shown to a
verifier VLM with "Is this a {object}?" and the sample is kept only if every answer is yes.

Removing an oversized box does not by itself drop the sample; a reasoning that still cites the box
then fails the self-consistency stage.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from o3video.construction.annotate import track_boxes_normalised
from o3video.construction.annotation import Annotation
from o3video.construction.annotation_prompts import object_check_request
from o3video.construction.annotator_frames import crop
from o3video.construction.asking import ask_yes_no
from o3video.construction.context import StageContext
from o3video.construction.filters import Rejection
from o3video.construction.source_items import SourceItem
from o3video.geometry import box_area, box_iou


def load_key_frame_image(ctx: StageContext, path: str) -> Image.Image:
    with Image.open(ctx.out / path) as image:
        return image.convert("RGB")


def remove_oversized(annotation: Annotation, max_area: float) -> list[dict[str, Any]]:
    """Drop boxes covering more than `max_area` of the frame, in place; returns what was removed."""
    removed = []
    for frame in annotation.key_frames:
        kept = []
        for obj in frame.objects:
            area = box_area(obj.box)
            if area > max_area:
                removed.append({"time": frame.time, "name": obj.name, "box": obj.box, "area": round(area, 4)})
            else:
                kept.append(obj)
        frame.objects = kept
    return removed


def track_disagreements(item: SourceItem, annotation: Annotation, ctx: StageContext) -> list[Rejection]:
    """Dense sources: boxes that name a track must overlap the track's box at that frame."""
    if item.kind != "dense":
        return []
    tracks = track_boxes_normalised(item, ctx.video_info(item.id))
    known = {t.id for t in item.tracks}
    out = []
    for frame in annotation.key_frames:
        for obj in frame.objects:
            if obj.object_id is None:
                continue
            if obj.object_id not in known:
                out.append(Rejection("unknown_object_id", f"{obj.name!r} at {frame.time:g}s names object_id {obj.object_id!r}, not a tracked object"))
                continue
            truth = tracks.get(obj.object_id, {}).get(frame.idx)
            iou = box_iou(obj.box, truth) if truth is not None else 0.0
            if iou < ctx.config.checks.min_track_iou:
                out.append(Rejection("box_off_source_track", f"{obj.name!r} at {frame.time:g}s: IoU {iou:.2f} with object {obj.object_id}'s annotated box"))
    return out


def filter_boxes(item: SourceItem, annotation: Annotation, ctx: StageContext) -> dict[str, Any]:
    """Entry of the `boxes` stage: the annotation without oversized boxes, and the crop verdicts."""
    checks = ctx.config.checks
    removed = remove_oversized(annotation, checks.max_box_area)
    rejections = track_disagreements(item, annotation, ctx)
    verdicts: list[dict[str, Any]] = []
    if not rejections and checks.verify_crops:
        rejections = _verify_crops(item, annotation, ctx, verdicts)
    entry: dict[str, Any] = {
        "status": "rejected" if rejections else "kept",
        "rejections": [r.to_dict() for r in rejections],
        "annotation": annotation.to_dict(),
        "removed": removed,
        "verdicts": verdicts,
    }
    return entry


def _verify_crops(item: SourceItem, annotation: Annotation, ctx: StageContext, verdicts: list[dict[str, Any]]) -> list[Rejection]:
    """Ask "Is this a {object}?" for each crop; stop at the first crop not confirmed."""
    verifier = ctx.need_verifier()
    for frame in annotation.key_frames:
        if not frame.objects:
            continue
        image = load_key_frame_image(ctx, frame.path)
        for obj in frame.objects:
            context = {"purpose": "verify_object", "item": item.id, "time": frame.time, "box": obj.box}
            request = object_check_request(crop(image, obj.box, min_side=ctx.config.checks.crop_min_side), obj.name, context,
                                           max_tokens=ctx.config.vlm_options.verify_max_tokens)
            verdict, reply = ask_yes_no(verifier, request, ctx.config.vlm_options)
            verdicts.append({"time": frame.time, "name": obj.name, "box": obj.box, "answer": reply[:80]})
            if verdict is None:
                return [Rejection("verifier_unclear", f"no yes/no for {obj.name!r} at {frame.time:g}s: {reply[:80]!r}")]
            if not verdict:
                return [Rejection("crop_not_verified", f"\"Is this a {obj.name}?\" at {frame.time:g}s {obj.box}: {reply[:40]!r}")]
    return []


__all__ = ["filter_boxes", "load_key_frame_image", "remove_oversized", "track_disagreements"]
