"""What every stage's work function reads: the config, the clients, and the measured videos."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o3video.construction.build_config import BuildConfig
from o3video.construction.vlm import VLMClient
from o3video.video import VideoInfo


@dataclass
class StageContext:
    config: BuildConfig
    annotator: VLMClient | None = None
    verifier: VLMClient | None = None
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)  # item id -> source-filter entry

    @property
    def out(self) -> Path:
        return self.config.out

    def video_path(self, item_id: str) -> Path:
        return Path(self.videos[item_id]["video"])

    def video_info(self, item_id: str) -> VideoInfo:
        return VideoInfo.from_dict(self.videos[item_id]["video_info"])

    def need_verifier(self) -> VLMClient:
        if self.verifier is None:
            raise RuntimeError("no verifier VLM configured (--verifier or --vlm)")
        return self.verifier


__all__ = ["StageContext"]
