"""The annotate stage: show a VLM frames of the item's video with the source's annotation, read its
structured reply, and save the key frames it chose as images.

Dense sources give their track boxes (normalised) at the frames shown, so the annotator can copy
them; their key frames come back as frame indices and are turned into the frames' times here.
"""

from __future__ import annotations

from typing import Any

from o3video.construction.annotation import AnnotationError, annotation_from_reply
from o3video.construction.annotation_prompts import dense_request, temporal_request
from o3video.construction.annotator_frames import OfferedFrame, decode_offered, offered_indices, save_image
from o3video.construction.asking import UnreadableReply, ask_json
from o3video.construction.context import StageContext
from o3video.construction.filters import Rejection
from o3video.construction.source_items import SourceItem, safe_name
from o3video.geometry import BoxFormat, GeometryError, from_pixels, to_pixels
from o3video.video import VideoError, VideoInfo

_REPLY_EXCERPT = 600


def track_boxes_normalised(item: SourceItem, info: VideoInfo, frames: list[int] | None = None) -> dict[str, dict[int, list[float]]]:
    """Every track's boxes (at `frames`, or all) as normalised corners, from the item's box format."""
    out: dict[str, dict[int, list[float]]] = {}
    for track in item.tracks:
        for frame, box in track.boxes.items():
            if frames is not None and frame not in frames:
                continue
            try:
                pixels = to_pixels(box, item.box_format, info.size)
                norm = from_pixels(pixels, BoxFormat.XYXY_NORM, info.size)
            except GeometryError:
                continue
            out.setdefault(track.id, {})[frame] = [round(min(max(v, 0.0), 1.0), 4) for v in norm]
    return out


def key_frame_path(item_id: str, frame: OfferedFrame, fmt: str) -> str:
    return f"frames/{safe_name(item_id)}/{frame.index:06d}.{fmt}"


def annotate_item(item: SourceItem, ctx: StageContext) -> dict[str, Any]:
    """Entry of the `annotate` stage for one item that passed the source filters."""
    config, options = ctx.config, ctx.config.vlm_options
    if ctx.annotator is None:
        raise RuntimeError("no annotator VLM configured (--vlm)")
    info = ctx.video_info(item.id)
    try:
        offered = decode_offered(ctx.video_path(item.id), info, offered_indices(item, info, config.frames_per_item),
                                 max_pixels=config.frame_max_pixels)
    except VideoError as err:
        return _rejected(Rejection("video_unreadable", str(err)))
    if item.kind == "dense":
        boxes = track_boxes_normalised(item, info, [f.index for f in offered])
        request = dense_request(item, offered, info.duration, boxes, max_tokens=options.max_tokens)
    else:
        request = temporal_request(item, offered, info.duration, max_tokens=options.max_tokens)
    request.temperature = options.temperature
    request.context = {"purpose": "annotate", "item": item.id}
    try:
        answer = ask_json(ctx.annotator, request, options)
    except UnreadableReply as err:
        code = "truncated_reply" if err.error.code == "truncated" else "unreadable_reply"
        return _rejected(Rejection(code, str(err)), attempts=err.attempts, reply=err.text[:_REPLY_EXCERPT])
    try:
        annotation = annotation_from_reply(
            answer.parsed.data, offered, dense=item.kind == "dense",
            frame_path=lambda f: key_frame_path(item.id, f, config.frame_format), rules=config.rules,
        )
    except AnnotationError as err:
        return _rejected(err.rejection, attempts=answer.attempts, reply=str(answer.parsed.data)[:_REPLY_EXCERPT])
    by_index = {f.index: f for f in offered}
    for frame in annotation.key_frames:
        save_image(by_index[frame.idx].image, config.out / frame.path)
    entry: dict[str, Any] = {"status": "kept", "rejections": [], "annotation": annotation.to_dict(), "attempts": answer.attempts}
    if answer.notes:
        entry["notes"] = answer.notes
    if answer.parsed.repaired:
        entry["repaired"] = True
    return entry


def _rejected(rejection: Rejection, **extra: Any) -> dict[str, Any]:
    return {"status": "rejected", "rejections": [rejection.to_dict()], **extra}


__all__ = ["annotate_item", "key_frame_path", "track_boxes_normalised"]
