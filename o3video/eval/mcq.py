"""Multiple-choice video QA evaluation (VideoMME / WorldSense / VideoMMMU style): plain greedy answers,
or test-time scaling with majority and confidence-aware voting; optionally the evidence-faithfulness
probe (paper Table 6). Resumable like every evaluator here."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o3video.answer import VideoModel
from o3video.eval.benchmark_runner import EvalRunConfig, run_benchmark, sample_video
from o3video.grammar import parse
from o3video.tables import markdown_table
from o3video.tasks import Task
from o3video.tts import answer_key

TTS_MODES = ("none", "majority", "confidence")


@dataclass
class MCQRunConfig(EvalRunConfig):
    num_frames: int = 64  # the paper's setting for general video benchmarks
    tts: str = "none"  # none | majority | confidence (both votes are recorded either way)
    n: int = 8
    faithfulness: bool = False
    seed: int = 0


def mcq_question(record: dict[str, Any]) -> str:
    """The question with its lettered options (from an `options` list or dict, when not already inline)."""
    question = str(record["question"]).strip()
    options = record.get("options") or record.get("candidates")
    if isinstance(options, dict):
        options = [f"{k}. {v}" for k, v in options.items()]
    if options:
        lines = [o if parse_option_prefix(o) else f"{chr(65 + i)}. {o}" for i, o in enumerate(options)]
        question += "\nOptions:\n" + "\n".join(lines)
    return question


def parse_option_prefix(option: str) -> bool:
    text = str(option).strip()
    return len(text) >= 2 and text[0].isalpha() and text[1] in ".):"


def mcq_truth(record: dict[str, Any]) -> str | None:
    return answer_key(str(record.get("answer", "")), Task.GENERAL_MCQ)


def category(record: dict[str, Any]) -> str:
    return str(next((record[k] for k in ("category", "task_type", "domain") if record.get(k)), "all"))


def _greedy(model: VideoModel, frames: list[Any], duration: float, question: str, cfg: MCQRunConfig) -> str:
    from o3video.answer import Question, ask_frames

    (completion,) = ask_frames(model, frames, [Question(question, Task.GENERAL_MCQ)], duration=duration,
                               max_new_tokens=cfg.max_new_tokens)
    return completion


def frames_near(frames: list[Any], times: list[float], per_time: int = 2) -> set[int]:
    """Indices of the `per_time` frames nearest each time."""
    removed: set[int] = set()
    for t in times:
        removed |= set(sorted(range(len(frames)), key=lambda i: abs(frames[i].timestamp - t))[:per_time])
    return removed


def faithfulness_probe(model: VideoModel, frames: list[Any], duration: float, question: str, completion: str,
                       cfg: MCQRunConfig, rng: random.Random) -> dict[str, Any]:
    """Re-answer without the two frames nearest each cited time, and without as many random frames."""
    times = parse(completion).times
    evidence = frames_near(frames, times)
    if not evidence or len(evidence) >= len(frames):
        return {"removed": 0, "evidence_removed": None, "random_removed": None}
    random_pick = set(rng.sample(range(len(frames)), len(evidence)))
    keep = lambda drop: [f for i, f in enumerate(frames) if i not in drop]  # noqa: E731
    return {
        "removed": len(evidence),
        "evidence_removed": answer_key(parse(_greedy(model, keep(evidence), duration, question, cfg)).answer, Task.GENERAL_MCQ),
        "random_removed": answer_key(parse(_greedy(model, keep(random_pick), duration, question, cfg)).answer, Task.GENERAL_MCQ),
    }


def ask_mcq(model: VideoModel, index: int, record: dict[str, Any], video: Path, cfg: MCQRunConfig) -> dict[str, Any]:
    from o3video.tts import answer_with_tts

    sampled = sample_video(video, cfg, model)
    frames, question = sampled.frames, mcq_question(record)
    out: dict[str, Any] = {"predictions": {}}
    if cfg.tts == "none" or cfg.faithfulness:
        completion = _greedy(model, frames, sampled.duration, question, cfg)
        out["completion"] = completion
        out["predictions"]["greedy"] = answer_key(parse(completion).answer, Task.GENERAL_MCQ)
        if cfg.faithfulness:
            rng = random.Random(cfg.seed * 1_000_003 + index)
            out["faithfulness"] = faithfulness_probe(model, frames, sampled.duration, question, completion, cfg, rng)
    if cfg.tts != "none":
        # the same samples for a record, resumed or not
        result = answer_with_tts(model, frames, question, Task.GENERAL_MCQ, duration=sampled.duration,
                                 n=cfg.n, max_new_tokens=cfg.max_new_tokens, seed=cfg.seed * 1_000_003 + index)
        out["tts"] = result.to_dict()
        out["predictions"] |= {"majority": result.majority, "confidence": result.confidence}
    return out


def run_mcq(cfg: MCQRunConfig, *, model: VideoModel | None = None) -> Path:
    return run_benchmark(cfg, ask_mcq, description=f"MCQ {cfg.anno.name}", model=model)


def _accuracy(hits: list[bool]) -> float:
    return sum(hits) / len(hits) if hits else 0.0


def prediction_hit(record: dict[str, Any], kind: str) -> bool:
    """Whether a results record's prediction of `kind` (greedy, majority, confidence) is the right letter."""
    return record.get("predictions", {}).get(kind) == mcq_truth(record)


def mcq_metrics(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy of every recorded prediction kind, overall and per category; faithfulness drops."""
    scored = [r for r in results if not r.get("error")]
    kinds = sorted({k for r in scored for k in r.get("predictions", {})})
    overall, per_category = {}, defaultdict(dict)
    for kind in kinds:
        overall[kind] = _accuracy([prediction_hit(r, kind) for r in scored])
        groups: dict[str, list[bool]] = defaultdict(list)
        for r in scored:
            groups[category(r)].append(prediction_hit(r, kind))
        for name, hits in sorted(groups.items()):
            per_category[name][kind] = _accuracy(hits)
    out: dict[str, Any] = {"n": len(scored), "errors": len(results) - len(scored), "accuracy": overall,
                           "per_category": dict(per_category)}
    probed = [r for r in scored if r.get("faithfulness")]
    if probed:
        truth = [mcq_truth(r) for r in probed]
        full = _accuracy([r["predictions"]["greedy"] == t for r, t in zip(probed, truth)])
        ev = _accuracy([(r["faithfulness"]["evidence_removed"] or r["predictions"]["greedy"]) == t for r, t in zip(probed, truth)])
        rnd = _accuracy([(r["faithfulness"]["random_removed"] or r["predictions"]["greedy"]) == t for r, t in zip(probed, truth)])
        out["faithfulness"] = {
            "n": len(probed), "with_cited_times": sum(r["faithfulness"]["removed"] > 0 for r in probed),
            "accuracy_all_frames": full, "accuracy_evidence_removed": ev, "accuracy_random_removed": rnd,
            "drop_evidence_removed": full - ev, "drop_random_removed": full - rnd,
        }
    return out


def mcq_markdown(metrics: dict[str, Any], title: str) -> str:
    kinds = list(metrics["accuracy"])
    rows = [["overall", *(f"{100 * metrics['accuracy'][k]:.1f}" for k in kinds)]]
    rows += [[name, *(f"{100 * accs.get(k, 0):.1f}" for k in kinds)] for name, accs in metrics["per_category"].items()]
    lines = [f"### {title}", "", f"{metrics['n']} questions scored, {metrics['errors']} failed (missing or corrupt video).", "",
             markdown_table(["split", *kinds], rows)]
    if "faithfulness" in metrics:
        lines += ["", faithfulness_table(metrics["faithfulness"])]
    return "\n".join(lines) + "\n"


def faithfulness_table(f: dict[str, Any]) -> str:
    """The probe's accuracies and drops (paper Table 6), and how many answers cited a time."""
    rows = [["all", f"{100 * f['accuracy_all_frames']:.1f}", ""],
            ["without the 2 frames nearest each cited time", f"{100 * f['accuracy_evidence_removed']:.1f}",
             f"{100 * f['drop_evidence_removed']:.1f}"],
            ["without as many random frames", f"{100 * f['accuracy_random_removed']:.1f}", f"{100 * f['drop_random_removed']:.1f}"]]
    return "\n".join([
        markdown_table(["frames given to the model (greedy answers)", "accuracy", "drop"], rows),
        "", f"{f['with_cited_times']} of {f['n']} greedy answers cited a time; the others keep all frames in both probes.",
    ])
