"""Synthetic *sources* for the build, made from scenes of the synthetic world (`o3video.data.synth`):
real H.264 videos with exact per-frame ground truth, described the way real sources describe videos.

* `temporal_source.json` — ActivityNet-Captions layout: per video its duration and the spans and
  sentences of events derived from the geometry (a touch, a first stop, a name in view, a cover),
  plus, where an object stays in view throughout, one whole-video span (real data sets have those;
  the action-share filter must drop them);
* `dense_source.json` — PLM-Rdcap-like: per video its frame count and, per object, its visible box
  at every frame and captions over frame ranges ("the red circle stands still", ...);
* `videos/`, `truth/` — the videos, and the ground truth the test annotator answers from;
* `existing/` (optional) — an STGR set of the other task categories, to mix with.

Some scenes are shorter than the 10-second minimum on purpose, so the source filters have work.
`SyntheticWorld` reads it all back for the ground-truth annotator.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from o3video.data.synth.dataset import truth_file_data, write_scene_files
from o3video.data.synth.events import runs
from o3video.data.synth.planner import plan_scene
from o3video.data.synth.presets import WorldPreset, get_preset, preset_from_dict
from o3video.data.synth.questions.base import SceneFacts
from o3video.data.synth.questions.temporal import span_facts
from o3video.data.synth.truth import SceneTruth, compute_truth
from o3video.io import atomic_write_json

TEMPORAL_FILE = "temporal_source.json"
DENSE_FILE = "dense_source.json"
WORLD_FILE = "world.json"


@dataclass(frozen=True)
class SyntheticSourceConfig:
    out: Path
    videos: int = 4  # scenes long enough for the source filters
    short_videos: int = 1  # scenes shorter than 10 s (the duration filter drops them)
    preset: str = "easy"
    duration_s: tuple[float, float] = (10.0, 13.0)
    short_duration_s: tuple[float, float] = (6.0, 8.0)
    spans_per_video: int = 3
    existing: int = 0  # records of an STGR set (all task categories) to mix with; 0: none
    seed: int = 0


@dataclass
class SyntheticSources:
    root: Path
    videos: Path
    temporal: Path
    dense: Path
    existing: Path | None


def _objects_named(statement: str, facts: SceneFacts) -> list[int]:
    """Objects whose names occur in `statement`, in order of appearance."""
    found = []
    for obj in facts.ids:
        positions = [statement.find(f"the {name}") for name in facts.plan.objects[obj].names()]
        positions = [p for p in positions if p >= 0]
        if positions:
            found.append((min(positions), obj))
    return [obj for _, obj in sorted(found)]


def _temporal_entries(facts: SceneFacts, rng: np.random.Generator, per_video: int) -> list[dict[str, Any]]:
    """Up to `per_video` derived-event spans, then one whole-video span if an object stays in view."""
    plan = facts.plan
    chosen = span_facts(facts)
    chosen = [chosen[i] for i in rng.permutation(len(chosen))[:per_video]]
    entries = [{"template": s.template, "statement": s.statement, "frames": [s.start, s.end],
                "objects": _objects_named(s.statement, facts)} for s in chosen]
    for obj in facts.ids:
        if all(facts.visible(obj, f) for f in range(facts.n)):
            name = facts.name(obj, 0)
            entries.append({"template": "whole_video", "statement": f"the {name} moves around",
                            "frames": [0, facts.n - 1], "objects": [obj]})
            break
    for entry in entries:
        start, end = entry["frames"]
        entry["span"] = [plan.time_of(start), plan.time_of(end)]
    return entries


def _captions(facts: SceneFacts, obj: int) -> list[dict[str, Any]]:
    """Captions over frame ranges: stands still / moves within each visible run, and colour turns."""
    out = []
    stills = facts.of("still", obj)
    for start, end in runs([facts.visible(obj, f) for f in range(facts.n)]):
        cursor = start
        for still in (s for s in stills if start <= s.start <= end):
            if still.start > cursor:
                out.append((cursor, still.start - 1, f"the {facts.name(obj, cursor)} moves"))
            out.append((still.start, still.end, f"the {facts.name(obj, still.start)} stands still"))
            cursor = still.end + 1
        if cursor <= end:
            out.append((cursor, end, f"the {facts.name(obj, cursor)} moves"))
    for change in facts.of("colour_change", obj):
        out.append((change.start, change.start, f"the {facts.plan.objects[obj].shape} turns {change.value}"))
    return [{"start_frame": s, "end_frame": e, "caption": c} for s, e, c in sorted(out)]


def _dense_entry(facts: SceneFacts, video: str) -> dict[str, Any]:
    objects = []
    for obj in facts.ids:
        boxes = {str(f): list(facts.box(obj, f)) for f in range(facts.n) if facts.box(obj, f) is not None}  # type: ignore[arg-type]
        if boxes:
            objects.append({"id": str(obj), "captions": _captions(facts, obj), "boxes": boxes})
    return {"id": facts.plan.scene_id, "video": video, "total_frames": facts.n, "box_format": "xyxy_px", "objects": objects}


def build_synthetic_sources(config: SyntheticSourceConfig) -> SyntheticSources:
    """Write the synthetic sources (module docstring) into `config.out`; existing videos are kept."""
    root = Path(config.out)
    base = get_preset(config.preset)
    temporal: dict[str, Any] = {}
    dense: list[dict[str, Any]] = []
    facts_out: dict[str, Any] = {}
    total = config.videos + config.short_videos
    for index in range(total):
        short = index >= config.videos
        preset = replace(base, duration_s=config.short_duration_s if short else config.duration_s)
        rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(5, index)))
        plan = plan_scene(rng, preset, f"src_{index:04d}")
        truth = compute_truth(plan)
        write_scene_files(str(root), plan.to_dict(), [], preset.crf, truth_file_data(truth))
        facts = SceneFacts(truth, preset)
        entries = _temporal_entries(facts, rng, config.spans_per_video)
        video = plan.scene_id  # ActivityNet-style id without extension; the reader finds videos/<id>.mp4
        temporal[video] = {"duration": round(plan.duration, 3), "timestamps": [e["span"] for e in entries],
                           "sentences": [e["statement"] for e in entries]}
        for k, entry in enumerate(entries):
            facts_out[f"{video}#{k}"] = {"scene": plan.scene_id, **entry}
        dense.append(_dense_entry(facts, f"{plan.scene_id}.mp4"))
    atomic_write_json(root / TEMPORAL_FILE, temporal)
    atomic_write_json(root / DENSE_FILE, dense)
    existing = None
    if config.existing > 0:
        from o3video.data.synth import SynthConfig, build_dataset

        build_dataset(SynthConfig(out=root / "existing", preset=base, sft=config.existing, rl=0, bench=0,
                                  seed=config.seed + 1), progress=False)
        existing = root / "existing" / "stgr_sft.json"
    atomic_write_json(root / WORLD_FILE, {"config": {**asdict(config), "out": str(config.out)}, "preset": base.to_dict(),
                                    "temporal": facts_out})
    return SyntheticSources(root, root / "videos", root / TEMPORAL_FILE, root / DENSE_FILE, existing)


class SyntheticWorld:
    """The ground truth behind synthetic sources: scenes (truth and derived facts) and, per temporal
    item, the event it describes. Item ids are the build's (`<source name>:<id in the source>`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        data = json.loads((self.root / WORLD_FILE).read_text(encoding="utf-8"))
        self.preset: WorldPreset = preset_from_dict(data["preset"])
        self.temporal: dict[str, dict[str, Any]] = data["temporal"]
        self._facts: dict[str, SceneFacts] = {}

    def facts(self, scene_id: str) -> SceneFacts:
        if scene_id not in self._facts:
            truth = SceneTruth.from_dict(json.loads((self.root / "truth" / f"{scene_id}.json").read_text(encoding="utf-8")))
            self._facts[scene_id] = SceneFacts(truth, self.preset)
        return self._facts[scene_id]

    @staticmethod
    def local_id(item_id: str) -> str:
        return item_id.split(":", 1)[1] if ":" in item_id else item_id

    def describe(self, item_id: str) -> tuple[str, dict[str, Any] | None]:
        """(scene id, temporal event or None for a dense item) of a build item id."""
        local = self.local_id(item_id)
        if "#" in local:
            if local not in self.temporal:
                raise KeyError(f"no synthetic temporal item {local!r}")
            event = self.temporal[local]
            return event["scene"], event
        scene = Path(local).stem
        if not (self.root / "truth" / f"{scene}.json").exists():
            raise KeyError(f"no synthetic scene {scene!r}")
        return scene, None


__all__ = ["SyntheticSourceConfig", "SyntheticSources", "SyntheticWorld", "build_synthetic_sources"]
