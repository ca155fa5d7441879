"""Build a synthetic dataset directory: training STGR splits (SFT, RL) from training scenes, and
benchmark splits (V-STaR, MCQ, temporal grounding) from test scenes drawn from disjoint seeds.

Phase 1 plans scenes, reads their exact ground truth and picks questions until every requested
record is filled (a video serves several questions). Phase 2 encodes the videos and saves the key
frames, in parallel processes if asked; files already there are kept, so an interrupted run
resumes. Everything is a function of the config: same config, same records, same pixels.

Layout of the output directory::

    README.md                      dataset card
    synth_config.json              the config that made it (a rerun must match it)
    stgr_sft.json, stgr_rl.json    STGR records (JSON arrays)
    vstar_test.json                V-STaR annotations
    mcq_test.json, temporal_grounding_test.json
    videos/<scene>.mp4             H.264 videos (train_* and test_*)
    frames/<scene>/<frame>.png     key frames and visual-QA images (rendered, lossless)
    truth/<scene>.json             per-frame ground truth and derived events
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from o3video.data.synth.events import derive_events
from o3video.data.synth.planner import plan_scene
from o3video.data.synth.questions import SceneFacts, candidates
from o3video.data.synth.render import Rasteriser, encode_video, save_frame_png
from o3video.data.synth.scene_plan import ScenePlan
from o3video.data.synth.stgr_writer import frame_path, frames_needed, stgr_record, video_path
from o3video.data.synth.synth_config import SynthConfig, SynthSummary
from o3video.data.synth.truth import SceneTruth, compute_truth
from o3video.data.synth.vstar_writer import benchmark_record, scene_vstar_records
from o3video.io import atomic_write_json, compare_settings, remove_orphans
from o3video.mixes import task_counts
from o3video.tasks import Task

TRAIN, TEST = 0, 1  # seed-stream codes: training and test scenes never share a seed
VSTAR, MCQ, GROUNDING = "vstar", "mcq", "temporal_grounding"
OUTPUT_FILES = {
    "sft": "stgr_sft.json",
    "rl": "stgr_rl.json",
    VSTAR: "vstar_test.json",
    MCQ: "mcq_test.json",
    GROUNDING: "temporal_grounding_test.json",
}
_BENCH_TASK = {MCQ: Task.GENERAL_MCQ.value, GROUNDING: Task.TEMPORAL.value, VSTAR: VSTAR}
MAX_FRUITLESS_SCENES = 200


@dataclass
class SceneWork:
    """One scene that some record uses: what phase 2 must write for it."""

    plan: ScenePlan
    truth: SceneTruth
    frames: set[int] = field(default_factory=set)


def scene_rng(seed: int, stream: int, index: int, purpose: int) -> np.random.Generator:
    """Independent generator per (seed, train/test, scene, purpose): 0 plans, 1 picks questions."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index, purpose)))


def _pick(rng: np.random.Generator, options: list, template_of: Callable[[Any], str]) -> Any:
    """A template uniformly, then one of its questions, so common templates do not crowd out rare ones."""
    templates = sorted({template_of(o) for o in options})
    chosen = templates[int(rng.integers(len(templates)))]
    pool = [o for o in options if template_of(o) == chosen]
    return pool[int(rng.integers(len(pool)))]


class _SceneFiller:
    """Fills (output split, task) slots from successive scenes of one seed stream."""

    def __init__(self, config: SynthConfig, stream: int, prefix: str, on_fill: Callable[[int], None]) -> None:
        self.config, self.stream, self.prefix, self.on_fill = config, stream, prefix, on_fill
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.scenes: list[SceneWork] = []

    def fill(self, slots: list[tuple[str, str]]) -> None:
        queue = deque(slots)
        index, fruitless = 0, 0
        per_scene = self.config.preset.questions_per_video
        while queue:
            if fruitless >= MAX_FRUITLESS_SCENES:
                left = Counter(task for _, task in queue)
                raise RuntimeError(f"{MAX_FRUITLESS_SCENES} scenes in a row gave no question for {dict(left)}; "
                                   "this preset cannot produce these tasks")
            take = [queue.popleft() for _ in range(min(per_scene, len(queue)))]
            unfilled = self._scene(index, take)
            fruitless = fruitless + 1 if len(unfilled) == len(take) else 0
            queue.extendleft(reversed(unfilled))
            index += 1

    def _scene(self, index: int, slots: list[tuple[str, str]]) -> list[tuple[str, str]]:
        preset = self.config.preset
        plan = plan_scene(scene_rng(self.config.seed, self.stream, index, 0), preset, f"{self.prefix}_{index:05d}")
        truth = compute_truth(plan)
        facts = SceneFacts(truth, preset)
        rng = scene_rng(self.config.seed, self.stream, index, 1)
        pool: dict[str, list] = {task.value: qs for task, qs in candidates(facts, rng, grounded_general_mcq=self.config.grounded_general_mcq).items()}
        pool[VSTAR] = [record for _, record in scene_vstar_records(facts)]
        work = SceneWork(plan, truth)
        used: set[str] = set()
        unfilled = []
        for split, task in slots:
            options = [o for o in pool[task] if (o["question"] if task == VSTAR else o.question) not in used]
            if not options:
                unfilled.append((split, task))
                continue
            if task == VSTAR:
                choice = _pick(rng, options, lambda r: r["event"])
                used.add(choice["question"])
                self._add(split, choice)
            else:
                choice = _pick(rng, options, lambda q: q.template)
                used.add(choice.question)
                self._add(split, self._record(split, choice, facts))
                work.frames.update(frames_needed(choice))
        if len(unfilled) < len(slots):
            self.scenes.append(work)
        return unfilled

    def _record(self, split: str, question, facts: SceneFacts) -> dict[str, Any]:
        record_id = f"{split}-{len(self.records.get(split, [])):06d}"
        if split in (MCQ, GROUNDING):
            return benchmark_record(question, facts, record_id=record_id)
        return stgr_record(question, facts.plan, record_id=record_id, sft=split == "sft")

    def _add(self, split: str, record: dict[str, Any]) -> None:
        self.records.setdefault(split, []).append(record)
        self.on_fill(1)


def _slots(config: SynthConfig) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    train = [("sft", t.value) for t, k in task_counts(config.sft, config.sft_mix).items() for _ in range(k)]
    train += [("rl", t.value) for t, k in task_counts(config.rl, config.rl_mix).items() for _ in range(k)]
    test = [(name, _BENCH_TASK[name]) for name in (VSTAR, MCQ, GROUNDING) for _ in range(config.bench)]
    shuffle = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(9,)))
    train = [train[i] for i in shuffle.permutation(len(train))]
    test = [test[i] for i in shuffle.permutation(len(test))]
    return train, test


# --- phase 2: files ------------------------------------------------------------------------------------


def write_scene_files(out: str, plan_data: dict, frames: list[int], crf: int, truth_data: dict | None) -> str:
    """Encode the video, save the needed frames and the ground truth, skipping files already there."""
    out_dir = Path(out)
    plan = ScenePlan.from_dict(plan_data)
    video = out_dir / video_path(plan.scene_id)
    if not video.exists():
        encode_video(plan, video, crf=crf)
    raster = Rasteriser(plan)
    for f in frames:
        png = out_dir / frame_path(plan.scene_id, f)
        if not png.exists():
            save_frame_png(plan, f, png, raster)
    if truth_data is not None:
        atomic_write_json(out_dir / "truth" / f"{plan.scene_id}.json", truth_data, indent=None)
    return plan.scene_id


def truth_file_data(truth: SceneTruth) -> dict[str, Any]:
    """Ground truth as written to `truth/<scene>.json`: plan, per-frame tracks, derived events."""
    data = truth.to_dict()
    data["events"] = [e.__dict__ for e in derive_events(truth)]
    data["box_convention"] = "visible extent [x1, y1, x2, y2] in original pixels, exclusive ends"
    return data


def _write_files(config: SynthConfig, scenes: list[SceneWork], progress: bool) -> None:
    from o3video.progress import ProgressBar

    jobs = []
    for work in scenes:
        truth_json = config.out / "truth" / f"{work.plan.scene_id}.json"
        truth_data = None if truth_json.exists() else truth_file_data(work.truth)
        jobs.append((str(config.out), work.plan.to_dict(), sorted(work.frames), config.preset.crf, truth_data))
    bar = ProgressBar(len(jobs), desc="videos", unit="video", disable=not progress).start()
    if config.workers <= 1:
        for job in jobs:
            write_scene_files(*job)
            bar.update(1)
    else:
        # forkserver, not fork: a forked child of a process running threads (a pool, a server) can deadlock
        with ProcessPoolExecutor(max_workers=config.workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
            for _ in pool.map(write_scene_files, *zip(*jobs)):
                bar.update(1)
    bar.close()


# --- the whole build ---------------------------------------------------------------------------------------


def _check_resume(config: SynthConfig) -> None:
    path = config.out / "synth_config.json"
    compare_settings(path, config.fingerprint(), resuming=path.exists(),
                     what=f"{config.out} holds a dataset made with a different config",
                     hint="use another --out directory or delete it")


def build_dataset(config: SynthConfig, *, progress: bool = True) -> SynthSummary:
    """Generate (or resume) the dataset described by `config` in `config.out`."""
    from o3video.data.synth.card import write_card
    from o3video.progress import ProgressBar

    started = time.perf_counter()
    config = replace(config, out=Path(config.out))
    config.out.mkdir(parents=True, exist_ok=True)
    remove_orphans(config.out)  # temporaries of a killed run (`.NAME.PID.tmp…`)
    _check_resume(config)
    train_slots, test_slots = _slots(config)
    bar = ProgressBar(len(train_slots) + len(test_slots), desc="questions", unit="record", disable=not progress).start()
    train = _SceneFiller(config, TRAIN, "train", bar.update)
    train.fill(train_slots)
    test = _SceneFiller(config, TEST, "test", bar.update)
    test.fill(test_slots)
    bar.close()
    _write_files(config, train.scenes + test.scenes, progress)
    records = {name: train.records.get(name, []) + test.records.get(name, []) for name in OUTPUT_FILES}
    for name, filename in OUTPUT_FILES.items():
        atomic_write_json(config.out / filename, records[name])
    summary = SynthSummary(config.out, records, {"train": [w.plan for w in train.scenes],
                                                  "test": [w.plan for w in test.scenes]})
    write_card(config, summary)
    summary.seconds = time.perf_counter() - started
    return summary
