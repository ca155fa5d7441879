"""`o3video demo`: the whole method at toy scale on CPU, measured end to end.

1. render the synthetic world (`--world`, rung one by default: training videos, held-out test videos) and a second
   world of the same preset, of practice videos for V-STaR-format questions (`o3video.lab.vstar_practice`);
2. build the tiny Qwen2.5-VL, its tokenizer trained on the run's own texts (prompts included);
3. evaluate it untrained on the held-out V-STaR split;
4. SFT (o3video/configs/tiny_sft.yaml), evaluate;
5. GSPO with the paper's rewards (o3video/configs/tiny_rl.yaml), evaluate;
6. on the SFT+GSPO model: synthetic MCQ with test-time scaling (majority vs confidence-aware vote) and
   the evidence-faithfulness probe, and synthetic temporal grounding (`o3video.lab.demo.beyond_vstar`);
7. write `report.md` / `report.html`: the V-STaR table for base, SFT and SFT+GSPO, the bars the demo
   is held to with their measured numbers, reward curves and evidence pictures.

Every stage leaves its output in the run directory and is skipped when a rerun finds it there (an
interrupted training resumes from its last checkpoint, an interrupted evaluation from its last
record), so `o3video demo` can simply be run again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console

from o3video.io import atomic_write_json, atomic_write_text
from o3video.lab.demo import blind_cache
from o3video.lab.demo.evaluate import EvalSummary, evaluate
from o3video.lab.demo.settings import DemoSettings, quick_settings
from o3video.train.checkpoints import finished_step

console = Console(stderr=True)
BLIND_SECONDS = "blind_seconds.txt"  # the blind chain's own time, summed over resumes


class Demo:
    def __init__(self, settings: DemoSettings) -> None:
        self.s = settings
        self.out = Path(settings.out)
        self.world = self.out / "data" / "world"
        self.practice = self.out / "data" / "practice"
        self.models = self.out / "models"
        self.evals = self.out / "eval"
        self.cache = self.out / "cache" / "frames"
        self.timings: dict[str, float] = self._load_timings()

    # --- bookkeeping ---------------------------------------------------------------------------------

    def _load_timings(self) -> dict[str, float]:
        path = self.out / "timings.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def timed(self, name: str, fn, *args, **kwargs):
        """`fn(*args, **kwargs)` as the run's stage `name`: its seconds added to timings.json (summed over resumes)."""
        console.rule(f"[bold]{name}")
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
        atomic_write_text(self.out / "timings.json", json.dumps(self.timings, indent=2))
        console.print(f"[dim]{name}: {self.timings[name]:.1f} s")
        return result

    # --- stages --------------------------------------------------------------------------------------

    def make_data(self) -> None:
        from o3video.lab.demo.world import make_world

        practice = make_world(self.world, self.practice, sft=self.s.sft_records, rl=self.s.rl_records,
                              test=self.s.test_records, practice_videos=self.s.practice_videos, seed=self.s.seed,
                              grounded_general_mcq=self.s.grounded_general_mcq, preset=self.s.world)
        console.print(f"world {self.s.world}: {self.s.sft_records} SFT + {self.s.rl_records} RL STGR records, "
                      f"{self.s.test_records} held-out V-STaR records; {practice} V-STaR practice records")

    def make_replay(self) -> Path:
        """The perception questions mixed into SFT (`--perception-replay`), written once, in frames of the world's
        preset: the named object among one to as many as the world's videos show (1-3 in easy), as the perception
        base's binding stage asks, a share (`--replay-video`) asked of still videos, as its video stage asks, and a
        share of those (`--replay-where`) as V-STaR's chain-1 *where* prompt."""
        from o3video.data.synth import get_preset
        from o3video.lab.perception.replay import perception_records

        most = get_preset(self.s.world).num_objects[1]
        path = perception_records(self.replay_dir, self.s.perception_replay, seed=self.s.seed, objects=(1, most),
                                  preset=self.s.world, video=self.s.replay_video, where=self.s.replay_where)
        console.print(f"perception replay: {self.s.perception_replay} records mixed into SFT, "
                      f"{self.s.replay_video:.0%} of them asked of still videos, {self.s.replay_where:.0%} of those "
                      "as V-STaR's chain-1 where prompt")
        return path

    @property
    def replay_dir(self) -> Path:
        return self.out / "data" / "perception"

    def sft_files(self) -> list[Path]:
        """SFT's data: the world's STGR records, the V-STaR practice records, and the perception replay if any."""
        files = [self.world / "stgr_sft.json", self.practice / "vstar_practice.json"]
        if self.s.perception_replay:
            from o3video.lab.perception.replay import REPLAY_FILE

            files.append(self.replay_dir / REPLAY_FILE)
        return files

    def corpus(self) -> list[str]:
        from o3video.lab.demo.world import world_corpus

        return world_corpus(self.world, self.practice)

    def make_model(self, start: Path | None = None) -> Path:
        """models/base: a copy of `start` (a pre-trained base), or a random tiny model whose tokenizer is
        trained on this run's texts."""
        from o3video.models import build_tiny_model

        target = self.models / "base"
        if start is not None:  # copied aside, then renamed: a killed copy is never taken for a base
            staging = target.with_name(".base.copying")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(start, staging, ignore=shutil.ignore_patterns("perception_state.pt"))
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        else:
            build_tiny_model(target, self.corpus(), size=self.s.model_size, seed=self.s.seed, arch=self.s.arch)
        return target

    def pretrained_base(self) -> Path | None:
        """The pre-trained base this run starts from (`--base`), built first when it is the perception base and
        the cache lacks it (a one-time build, timed on its own: `base.json`)."""
        if self.s.base == "random":
            return None
        if self.s.base == "perception":
            from o3video.lab.perception.build_base import BaseRecipe, perception_base

            return perception_base(BaseRecipe(size=self.s.model_size))
        return base_directory(self.s.base)

    def model_dir(self, stage: str, blind: bool = False) -> Path:
        """models/sft, models/gspo, and the blind twins models/blind_sft, models/blind_gspo."""
        return self.models / (("blind_" if blind else "") + ("sft" if stage == "sft" else "gspo"))

    def train_config(self, stage: str, model: Path, blind: bool = False):
        from o3video.train.train_config import load_config

        path = self.s.sft_config if stage == "sft" else self.s.rl_config
        files = self.sft_files() if stage == "sft" else [self.world / "stgr_rl.json", self.practice / "vstar_practice.json"]
        values = {
            "model": str(model),
            "output_dir": str(self.model_dir(stage, blind)),
            "data.train": [str(f) for f in files],
            "data.root": None,
            "data.num_frames": self.s.num_frames,
            "data.cache_dir": str(self.cache),
            "data.blank_frames": blind,
            "threads": self.chain_threads(blind),
            "seed": self.s.seed,
            **(self.s.sft_settings if stage == "sft" else self.s.rl_settings),
        }
        overrides = self.s.sft_overrides if stage == "sft" else self.s.rl_overrides  # the user's own text
        return load_config(path, list(overrides), stage=stage, values=values)

    def chain_threads(self, blind: bool = False) -> int:
        """Torch threads of a training chain. The blind twin always trains beside the seeing chain, one
        process each sharing the machine's threads; the seeing chain gets them all when the twin came from
        the cache. Decided once per run folder (`threads.json`), so a resumed run computes as the first did."""
        shared = max(1, self.s.threads // 2)
        if blind:
            return shared
        path = self.out / "threads.json"
        if not path.is_file():
            alone = self.twin_ready()
            atomic_write_json(path, {"seeing_chain": self.s.threads if alone else shared,
                                     "blind_chain": "cached" if alone else shared})
        return int(json.loads(path.read_text())["seeing_chain"])

    def twin_ready(self) -> bool:
        """Whether the blind twin's evaluations are in this run folder (run earlier, or restored from the cache)."""
        return (self.evals / "blind_gspo.summary.json").is_file()

    def train(self, stage: str, model: Path, blind: bool = False) -> Path:
        from o3video.train import train_rl, train_sft

        config = self.train_config(stage, model, blind)
        return (train_sft if stage == "sft" else train_rl)(config)

    def evaluate(self, name: str, model_dir: Path, key: str, blind: bool = False) -> EvalSummary:
        from o3video.models import load_model

        model, processor = load_model(model_dir)
        return evaluate(name, model, processor, anno=self.world / "vstar_test.json", videos=self.world / "videos",
                        out=self.evals / f"{key}.jsonl", num_frames=self.s.num_frames,
                        max_new_tokens=self.s.eval_max_new_tokens, cache_dir=self.cache, blank_frames=blind)

    def video_ignoring_baselines(self) -> list[EvalSummary]:
        """Answers that ignore the video on the test split: whole span and frame, centre, and the practice
        (training) split's most frequent answer, mean span and mean box."""
        from o3video.eval.vstar_run import write_baseline
        from o3video.lab.demo.evaluate import summarise

        out = []
        for kind, name in (("whole", "ignoring video: whole span, whole frame"),
                           ("centre", "ignoring video: middle half, centre box"),
                           ("frequent", "ignoring video: most frequent training answer")):
            results = write_baseline(self.world / "vstar_test.json", self.evals / f"baseline_{kind}.jsonl", kind,
                                     self.practice / "vstar_test.json")
            out.append(summarise(name, results))
        return out

    def blind_chain(self) -> None:
        """The blind twin of SFT -> GSPO: the same recipe, data and seed on blank frames, each stage
        evaluated on blank frames. Runs in a process of its own beside the seeing chain."""
        base, sft, gspo = self.models / "base", self.model_dir("sft", True), self.model_dir("rl", True)
        if finished_step(sft) is None:
            self.train("sft", base, blind=True)
        self.evaluate("blind SFT", sft, "blind_sft", blind=True)
        if finished_step(gspo) is None:
            self.train("rl", sft, blind=True)
        self.evaluate("blind SFT+GSPO", gspo, "blind_gspo", blind=True)

    def twin_recipe(self) -> dict[str, Any]:
        """What decides the blind twin (`o3video.lab.demo.blind_cache.recipe`)."""
        data = [*self.sft_files(), self.world / "stgr_rl.json", self.world / "vstar_test.json",
                self.practice / "vstar_test.json"]
        if self.s.perception_replay:  # its media by their bytes: the code drawing them is not in the key
            data += sorted((self.replay_dir / "images").glob("*.png")) + sorted((self.replay_dir / "videos").glob("*.mp4"))
        return blind_cache.recipe(self.s, self.chain_threads(blind=True), [self.s.sft_config, self.s.rl_config], data,
                                  self.models / "base")

    def restore_twin(self) -> None:
        """Copy the blind twin of this recipe from the cache, when an earlier run trained it."""
        if not self.s.twin_cache:
            return
        key = blind_cache.recipe_key(self.twin_recipe())
        info = blind_cache.restore(key, self.out)
        if info is not None:
            atomic_write_json(self.out / "blind_twin.json", {k: v for k, v in info.items() if k != "recipe"}
                              | {"cache": str(blind_cache.entry(key))})
            console.print(f"[dim]blind twin: from the cache {blind_cache.entry(key)} (built {info['built']} in "
                          f"{info['seconds'] / 60:.1f} min)")

    def keep_twin(self) -> None:
        """Put the blind twin this run trained into the cache."""
        spent = self.out / BLIND_SECONDS
        seconds = float(spent.read_text()) if spent.is_file() else 0.0
        atomic_write_json(self.out / "blind_twin.json", {"built": "in this run", "seconds": round(seconds, 1)})
        if self.s.twin_cache:
            recipe = self.twin_recipe()
            folder = blind_cache.store(blind_cache.recipe_key(recipe), self.out, recipe, seconds)
            console.print(f"[dim]blind twin kept in the cache: {folder}")

    def evaluate_mcq(self, model_dir: Path) -> dict[str, Any]:
        from o3video.lab.demo.beyond_vstar import evaluate_mcq_tts

        return evaluate_mcq_tts(model_dir, anno=self.world / "mcq_test.json", videos=self.world / "videos",
                                out=self.evals / "mcq_gspo.jsonl", num_frames=self.s.num_frames, n=self.s.tts_samples,
                                max_new_tokens=self.s.mcq_max_new_tokens, limit=self.s.mcq_records, cache_dir=self.cache,
                                seed=self.s.seed)

    def evaluate_grounding(self, model_dir: Path) -> dict[str, Any]:
        from o3video.lab.demo.beyond_vstar import evaluate_grounding

        return evaluate_grounding(model_dir, anno=self.world / "temporal_grounding_test.json", videos=self.world / "videos",
                                  out=self.evals / "grounding_gspo.jsonl", num_frames=self.s.num_frames,
                                  max_new_tokens=self.s.eval_max_new_tokens, limit=self.s.grounding_records,
                                  cache_dir=self.cache)

    # --- the run -------------------------------------------------------------------------------------

    def run(self) -> Path:
        from o3video.train.common import set_threads

        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out / "settings.json", json.dumps(asdict(self.s), indent=2, default=str))
        if not (self.practice / "vstar_practice.json").is_file():
            self.timed("data", self.make_data)
        if self.s.perception_replay:
            self.make_replay()
        base = self.models / "base"
        if not (base / "config.json").is_file():
            start = self.pretrained_base()  # outside the run's timings: a one-time build, reported on its own
            self.timed("tiny model", self.make_model, start)
        if not self.twin_ready():
            self.restore_twin()
        set_threads(self.chain_threads())
        ignoring = self.timed("answers that ignore the video", self.video_ignoring_baselines)
        evals = [self.timed("evaluate base", self.evaluate, "base (untrained)", base, "base")]
        blind = self._start_blind_chain()
        sft, gspo = self.model_dir("sft"), self.model_dir("rl")
        if finished_step(sft) is None:
            self.timed("SFT", self.train, "sft", base)
        evals.append(self.timed("evaluate SFT", self.evaluate, "SFT", sft, "sft"))
        if finished_step(gspo) is None:
            self.timed("GSPO", self.train, "rl", sft)
        evals.append(self.timed("evaluate SFT+GSPO", self.evaluate, "SFT+GSPO", gspo, "gspo"))
        blind_evals = self.timed("blind chain (waiting for it)", self._join_blind_chain, blind)
        extra = {"mcq": self.timed("MCQ: test-time scaling and faithfulness", self.evaluate_mcq, gspo),
                 "grounding": self.timed("temporal grounding", self.evaluate_grounding, gspo)}
        from o3video.lab.demo.assemble import assemble_report

        md, checks = self.timed("report", assemble_report, self, evals, extra, blind_evals, ignoring)
        for check in checks:
            console.print(f"{'[green]PASS' if check.passed else '[red]FAIL'}[/] {check.what}: {check.measured}")
        console.print(f"report: {md} and {md.with_suffix('.html')}")
        return md

    def _start_blind_chain(self):
        """Start the blind chain in a child process (its output goes to blind.log); None when it is done."""
        import multiprocessing

        if self.twin_ready():
            return None
        log = self.out / "blind.log"
        console.print(f"[dim]blind chain (same recipe, blank frames) runs beside this one; its log: {log}")
        process = multiprocessing.get_context("spawn").Process(target=_blind_chain, args=(self.s, log), name="blind")
        process.start()
        return process

    def _join_blind_chain(self, process) -> list[EvalSummary]:
        from o3video.lab.demo.evaluate import summarise

        if process is not None:
            process.join()
            if process.exitcode != 0:
                raise RuntimeError(f"the blind chain failed (exit {process.exitcode}); see {self.out / 'blind.log'}")
            self.keep_twin()
        return [summarise(name, self.evals / f"{key}.jsonl") for name, key in
                (("blind SFT", "blind_sft"), ("blind SFT+GSPO", "blind_gspo"))]


def base_directory(base: str | Path) -> Path:
    """`--base` naming a model directory: its path, or an InputError when it holds no model (no config.json)."""
    path = Path(base)
    if not (path / "config.json").is_file():
        from o3video.errors import InputError

        raise InputError(f"--base {path}: not a model directory (no config.json)")
    return path


def _blind_chain(settings: DemoSettings, log: Path) -> None:
    """Child-process entry: the blind chain, its output to `log`."""
    import sys

    with open(log, "a", encoding="utf-8") as stream:
        sys.stdout = sys.stderr = stream
        logging.getLogger("transformers").setLevel(logging.ERROR)
        from o3video.train.common import set_threads

        demo = Demo(settings)
        set_threads(demo.chain_threads(blind=True))
        started = time.perf_counter()
        demo.blind_chain()
        spent = demo.out / BLIND_SECONDS
        before = float(spent.read_text()) if spent.is_file() else 0.0
        atomic_write_text(spent, f"{before + time.perf_counter() - started:.1f}")


def run_demo(settings: DemoSettings, *, fresh: bool = False) -> Path:
    """Run (or finish) the demo in `settings.out`; returns the path of report.md."""
    logging.getLogger("transformers").setLevel(logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if fresh and Path(settings.out).exists():
        shutil.rmtree(settings.out)
    return Demo(settings).run()


__all__ = ["Demo", "DemoSettings", "base_directory", "quick_settings", "run_demo"]
