"""Source filters (paper appendix A.3), each a named, counted reason.

* videos to annotate (`temporal`, `dense`): duration between 10 s and 3 min; for temporal sources,
  the annotated action shorter than 50% of the video;
* temporal QA passed through (`temporal-qa`, TVG-Coldstart / Time-R1): ground-truth span shorter
  than 70% of the video;
* any sample that comes with a chain of thought: under 6,000 characters.

Durations are the pipeline's own measurement of the video (`o3video.video.probe`), falling back to
the source's stated duration only where the video is not needed (temporal QA without the file).
"""

from __future__ import annotations

from dataclasses import dataclass

from o3video.construction.source_items import SourceItem


@dataclass(frozen=True)
class SourceFilterConfig:
    min_video_s: float = 10.0
    max_video_s: float = 180.0
    max_action_share: float = 0.5  # annotated action / video duration, videos to annotate
    max_span_share: float = 0.7  # ground-truth span / video duration, temporal QA
    max_cot_chars: int = 6000


@dataclass(frozen=True)
class Rejection:
    """Why an item was dropped: a stable `code` (counted in the report) and a readable detail."""

    code: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


def source_filter_rejections(item: SourceItem, duration: float | None, config: SourceFilterConfig) -> list[Rejection]:
    """Every source filter `item` fails, given the video's measured `duration` (None: unknown)."""
    out: list[Rejection] = []
    if item.cot is not None and len(item.cot) >= config.max_cot_chars:
        out.append(Rejection("cot_too_long", f"chain of thought has {len(item.cot)} characters (limit {config.max_cot_chars})"))
    if duration is None:
        if item.kind != "temporal-qa" or item.spans:
            out.append(Rejection("duration_unknown", "no duration: the video could not be measured and the source states none"))
        return out
    if item.kind in ("temporal", "dense"):
        if duration < config.min_video_s:
            out.append(Rejection("video_too_short", f"video is {duration:.1f} s (minimum {config.min_video_s:g} s)"))
        elif duration > config.max_video_s:
            out.append(Rejection("video_too_long", f"video is {duration:.1f} s (maximum {config.max_video_s:g} s)"))
    if item.spans:
        beyond = max(s[1] for s in item.spans)
        if beyond > duration + 0.5:
            out.append(Rejection("span_outside_video", f"span ends at {beyond:.1f} s, after the video's end at {duration:.1f} s"))
        share = item.action_seconds / duration if duration > 0 else 1.0
        if item.kind == "temporal" and share >= config.max_action_share:
            out.append(Rejection("action_too_long", f"annotated action covers {share:.0%} of the video (limit {config.max_action_share:.0%})"))
        if item.kind == "temporal-qa" and share >= config.max_span_share:
            out.append(Rejection("span_too_long", f"ground-truth span covers {share:.0%} of the video (limit {config.max_span_share:.0%})"))
    return out


__all__ = ["Rejection", "SourceFilterConfig", "source_filter_rejections"]
