"""`BuildConfig`: everything that decides what `o3video build` produces, and what a resumed run must
share with the run it continues (`fingerprint`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from o3video.construction.annotation import AnnotationRules
from o3video.construction.annotator_frames import DEFAULT_MAX_PIXELS
from o3video.construction.filters import SourceFilterConfig
from o3video.construction.source_items import KINDS
from o3video.errors import InputError
from o3video.geometry import BoxFormat

REPLY_BOX_FORMATS = (BoxFormat.XYXY_NORM.value, BoxFormat.XYXY_1000.value, BoxFormat.CXCYWH_1000.value)


@dataclass(frozen=True)
class SourceSpec:
    path: Path
    kind: str  # temporal | dense | temporal-qa
    name: str | None = None  # the data set's name (default: the file's stem)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"source {self.path}: unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class CheckConfig:
    """Box filtering and self-consistency (paper §3.2)."""

    max_box_area: float = 0.8  # boxes covering more of the frame are removed
    min_track_iou: float = 0.5  # dense sources: a box must agree with its track's box at that frame
    time_tolerance_s: float = 0.1  # a reasoning time must be this close to a key frame's time
    box_tolerance: float = 0.01  # a reasoning box must equal a key item box within this (normalised)
    verify_crops: bool = True  # "Is this a {object}?" on every key-item crop
    verify_sentences: bool = True  # each reasoning sentence against the crops it cites
    crop_min_side: int = 28  # crops are upscaled to at least this many pixels on their short side


@dataclass(frozen=True)
class VLMOptions:
    timeout_s: float = 120.0
    max_retries: int = 4  # HTTP retries with exponential backoff (the client's own)
    reply_retries: int = 2  # re-asks after a reply that is not readable JSON / yes-no
    retry_backoff_s: float = 1.0  # before re-asking: backoff_s * 2**attempt
    max_tokens: int = 4096  # annotation replies; thinking models (Gemini 2.5) count their thoughts too
    verify_max_tokens: int = 16  # yes/no replies
    temperature: float = 0.2
    requests_per_minute: float | None = None  # shared by all threads; None: unlimited
    send_context: bool = False  # X-O3Video-Context header, for the synthetic ground-truth server
    accept_repaired: bool = False  # keep a reply cut off by the token limit, closed by the parser


@dataclass(frozen=True)
class BuildConfig:
    out: Path
    sources: tuple[SourceSpec, ...] = ()
    videos: Path | None = None  # where source video names are resolved
    vlm: str | None = None  # annotator spec (o3video.construction.vlm.make_vlm)
    verifier: str | None = None  # crop / sentence checker spec (default: the annotator)
    includes: tuple[Path, ...] = ()  # existing STGR files to mix with
    mix: str | None = None  # "sft", "rl" or weights "temporal,spatial,spatio-temporal,general"
    mix_total: int | None = None  # records in the mix (default: as many as the shares allow)
    seed: int = 0
    concurrency: int = 4
    frames_per_item: int = 8
    frame_max_pixels: int = DEFAULT_MAX_PIXELS
    frame_format: str = "jpg"
    max_items: int | None = None  # per source, the first N items (a trial run)
    filters: SourceFilterConfig = field(default_factory=SourceFilterConfig)
    rules: AnnotationRules = field(default_factory=AnnotationRules)
    checks: CheckConfig = field(default_factory=CheckConfig)
    vlm_options: VLMOptions = field(default_factory=VLMOptions)
    injection_ledger: Path | None = None  # synthetic validation: what the test server injected
    progress: bool = True

    def __post_init__(self) -> None:
        if self.frame_format not in ("jpg", "png"):
            raise ValueError(f"frame_format must be 'jpg' or 'png', got {self.frame_format!r}")
        if self.rules.reply_box_format not in REPLY_BOX_FORMATS:
            raise ValueError(f"reply box format must be one of {REPLY_BOX_FORMATS}, got {self.rules.reply_box_format!r}")
        if self.frames_per_item < 1 or self.concurrency < 1:
            raise ValueError("frames_per_item and concurrency must be >= 1")

    def fingerprint(self) -> dict[str, Any]:
        """What decides the stage outputs; a resumed run must match it. Not in it: where the server is
        (a local test server gets a new port each run), concurrency, rate, progress, and the mix,
        which is recomputed from the finished stages every run."""
        return {
            "sources": [{"path": str(Path(s.path).resolve()), "kind": s.kind, "name": s.name} for s in self.sources],
            "videos": str(Path(self.videos).resolve()) if self.videos else None,
            "vlm": vlm_identity(self.vlm),
            "verifier": vlm_identity(self.verifier or self.vlm),
            "frames_per_item": self.frames_per_item,
            "frame_max_pixels": self.frame_max_pixels,
            "frame_format": self.frame_format,
            "max_items": self.max_items,
            "filters": asdict(self.filters),
            "rules": asdict(self.rules),
            "checks": asdict(self.checks),
            "generation": {"max_tokens": self.vlm_options.max_tokens, "temperature": self.vlm_options.temperature,
                           "accept_repaired": self.vlm_options.accept_repaired},
        }


def vlm_identity(spec: str | None) -> str | None:
    """A VLM spec without the server address: `openai:http://host:port/v1:model` → `openai:model`; a spec
    that is not one (refused by `make_vlm` later) as it is."""
    from o3video.remote import parse_remote_spec

    if not spec or not spec.startswith("openai:"):
        return spec
    try:
        return "openai:" + parse_remote_spec(spec).model
    except InputError:
        return spec


__all__ = ["BuildConfig", "CheckConfig", "REPLY_BOX_FORMATS", "SourceSpec", "VLMOptions", "vlm_identity"]
