"""The source-filter stage: find and measure each item's video, then apply the source filters."""

from __future__ import annotations

from typing import Any

from o3video.construction.context import StageContext
from o3video.construction.filters import Rejection, source_filter_rejections
from o3video.construction.source_items import SourceItem
from o3video.construction.sources import resolve_video
from o3video.video import VideoError, probe


def filter_source_item(item: SourceItem, ctx: StageContext) -> dict[str, Any]:
    """Entry of the `source_filter` stage: the resolved video, its measurements, kept or why not."""
    path = resolve_video(item.video, ctx.config.videos)
    entry: dict[str, Any] = {"video": str(path)}
    duration = item.duration
    if item.kind == "temporal-qa" and not path.exists():
        rejections = [Rejection("video_missing", f"{path}: no such file")]
    else:
        try:
            info = probe(path)
        except VideoError as err:
            code = "video_missing" if err.problem == "file not found" else "video_unreadable"
            return {**entry, "status": "rejected", "rejections": [Rejection(code, str(err)).to_dict()]}
        duration = info.duration
        entry["video_info"] = info.to_dict()
        rejections = []
    rejections += [r for r in source_filter_rejections(item, duration, ctx.config.filters)
                   if not (rejections and r.code == "duration_unknown")]  # a missing video already says why
    entry["duration"] = duration
    return {**entry, "status": "rejected" if rejections else "kept", "rejections": [r.to_dict() for r in rejections]}


__all__ = ["filter_source_item"]
