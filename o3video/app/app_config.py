"""What `o3video app` is started with, and the deep links into its views (`?view=results&record=KEY`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from o3video.errors import InputError

VIEWS = ("ask", "results", "data")
DEFAULT_HOST = "127.0.0.1"


@dataclass
class AppConfig:
    model: str | None = None  # checkpoint, hub id or openai:BASE_URL:MODEL; loaded on the first question
    results: Path | None = None  # an `o3video eval vstar|mcq|tg` results file
    compare: Path | None = None  # a second results file of the same annotations, shown beside it
    anno: Path | None = None  # the annotations both were made from (checked when given)
    videos: Path | None = None  # where the records' videos are (default: the annotations' folder)
    data: Path | None = None  # an STGR file or a construction output folder
    judge: str = "exact"
    scoring: str = "o3video"
    frames: int = 16
    host: str = DEFAULT_HOST
    port: int | None = None  # None: the first free port from 7860

    def videos_dir(self) -> Path | None:
        """Where to look for the records' videos: `videos`, else the annotations' folder (`anno`, else the one
        the results' run settings name, `RESULTS.settings.json`), else the results' folder."""
        if self.videos is not None:
            return self.videos
        for path in (self.anno, recorded_annotations(self.results), self.results):
            if path is not None:
                return path if path.is_dir() else path.parent
        return None


def recorded_annotations(results: Path | None) -> Path | None:
    """The annotation file an `o3video eval` run recorded beside its results (None if it recorded none)."""
    import json

    from o3video.io import settings_path

    if results is None or not settings_path(results).is_file():
        return None
    try:
        anno = json.loads(settings_path(results).read_text(encoding="utf-8")).get("anno")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(anno) if isinstance(anno, str) and Path(anno).exists() else None


@dataclass(frozen=True)
class DeepLink:
    """A view and the record or sample it opens on."""

    view: str = "ask"
    record: str | None = None  # Results: a record's key
    sample: str | None = None  # Data: a sample's id


def read_deep_link(params: Mapping[str, str]) -> DeepLink:
    """`view` (ask | results | data; default: results when a record is named, data when a sample is), `record`,
    `sample` from a page's query parameters."""
    record, sample = params.get("record") or None, params.get("sample") or None
    view = params.get("view") or ("results" if record else "data" if sample else "ask")
    if view not in VIEWS:
        raise InputError(f"view: one of {', '.join(VIEWS)}, got {view!r}")
    return DeepLink(view, record, sample)


def deep_link_query(link: DeepLink) -> str:
    """The query string that opens `link` (`?view=results&record=3%3Aabc`)."""
    from urllib.parse import urlencode

    params = {"view": link.view, "record": link.record, "sample": link.sample}
    return "?" + urlencode({k: v for k, v in params.items() if v is not None})


__all__ = ["DEFAULT_HOST", "VIEWS", "AppConfig", "DeepLink", "deep_link_query", "read_deep_link"]
