"""`o3video build --synthetic-demo`: the whole build, offline, on synthetic sources, annotated and
verified by the ground-truth server with injected errors; the report scores what was caught.

Errors are planned over the items the source filters keep (exact counts per kind, seeded), so every
injected error reaches the checks that should catch it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from o3video.construction.build_config import BuildConfig, SourceSpec, VLMOptions
from o3video.construction.filters import SourceFilterConfig, source_filter_rejections
from o3video.construction.pipeline import BuildSummary, build, read_items
from o3video.construction.sources import resolve_video
from o3video.io import remove_orphans
from o3video.lab.offline.annotator import TruthAnnotator, parse_error_rates, plan_injections
from o3video.lab.offline.server import LocalChatServer
from o3video.lab.offline.synthetic_sources import SyntheticSourceConfig, SyntheticWorld, build_synthetic_sources
from o3video.video import probe

DEFAULT_ERRORS = ("shifted_box=0.1,oversized_box=0.1,wrong_name=0.1,time_outside_key_frames=0.1,"
                  "hallucinated_object=0.1,broken_json=0.1")
MODEL = "synthetic-truth"


@dataclass(frozen=True)
class DemoConfig:
    out: Path
    videos: int = 12
    short_videos: int = 2
    errors: str = DEFAULT_ERRORS
    existing: int = 80  # synthetic STGR records of the other categories, for the mix
    mix: str | None = "sft"
    seed: int = 0
    concurrency: int = 4
    verifier_error_rate: float = 0.0
    server_delay_s: float = 0.0
    filters: SourceFilterConfig = field(default_factory=SourceFilterConfig)
    progress: bool = True


def demo_build_config(config: DemoConfig, world_root: Path, server_url: str, existing: Path | None) -> BuildConfig:
    from o3video.lab.offline.synthetic_sources import DENSE_FILE, TEMPORAL_FILE

    return BuildConfig(
        out=config.out,
        sources=(SourceSpec(world_root / TEMPORAL_FILE, "temporal", "synth-temporal"),
                 SourceSpec(world_root / DENSE_FILE, "dense", "synth-dense")),
        videos=world_root / "videos",
        vlm=f"openai:{server_url}:{MODEL}",
        includes=(existing,) if existing else (),
        mix=config.mix,
        seed=config.seed,
        concurrency=config.concurrency,
        frame_format="png",
        filters=config.filters,
        vlm_options=VLMOptions(send_context=True, retry_backoff_s=0.0, max_retries=2, timeout_s=30.0),
        injection_ledger=world_root / "injections.jsonl",
        progress=config.progress,
    )


def kept_by_source_filters(config: BuildConfig) -> list[str]:
    """Ids of the items the source filters will keep (videos measured as the build measures them)."""
    durations: dict[Path, float] = {}
    kept = []
    for item in read_items(config):
        path = resolve_video(item.video, config.videos)
        if path not in durations:
            durations[path] = probe(path).duration
        if not source_filter_rejections(item, durations[path], config.filters):
            kept.append(item.id)
    return kept


def run_synthetic_demo(config: DemoConfig) -> BuildSummary:
    rates = parse_error_rates(config.errors)
    remove_orphans(config.out)  # a killed run's temporaries, before the world's sources are written again
    world_root = Path(config.out) / "world"
    sources = build_synthetic_sources(SyntheticSourceConfig(out=world_root, videos=config.videos, short_videos=config.short_videos,
                                                            existing=config.existing, seed=config.seed))
    world = SyntheticWorld(world_root)
    plan_config = demo_build_config(config, world_root, "http://127.0.0.1:0/v1", sources.existing)
    kept = kept_by_source_filters(plan_config)
    annotator = TruthAnnotator(world, plan_injections(kept, rates, config.seed), seed=config.seed,
                               ledger=plan_config.injection_ledger, verifier_error_rate=config.verifier_error_rate)
    with LocalChatServer(annotator.respond, model=MODEL, delay_s=config.server_delay_s) as server:
        return build(demo_build_config(config, world_root, server.url, sources.existing))


__all__ = ["DEFAULT_ERRORS", "DemoConfig", "demo_build_config", "kept_by_source_filters", "run_synthetic_demo"]
