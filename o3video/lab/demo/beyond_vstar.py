"""The demo's evaluations beyond V-STaR, on the SFT+GSPO model (paper §5.2, Table 6, appendix A.10):

* synthetic multiple-choice QA, greedy and with test-time scaling — N sampled responses voted by plain
  majority and by confidence (each response weighted by the model's own 0/1/2 ratings of the evidence
  it cites) — plus the evidence-faithfulness probe (re-answer without the frames nearest the cited
  times, and without as many random frames);
* synthetic temporal grounding: mean IoU and R1@0.3/0.5/0.7.

Both run through the project's evaluators (`o3video.eval.mcq`, `o3video.eval.grounding`), resumable,
and their summaries are written next to the results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from o3video.io import atomic_write_text
from o3video.tables import markdown_table


def evidence_stats(results: list[dict[str, Any]]) -> dict[str, Any]:
    """What the sampled responses cite: how many carry evidence, the model's ratings of it, and how
    often the confidence-aware vote differs from the majority vote."""
    rows = [r for r in results if r.get("tts") and not r.get("error")]
    responses = [resp for r in rows for resp in r["tts"]["responses"]]
    scores = [s for resp in responses for s in resp["evidence_scores"]]
    return {
        "questions": len(rows),
        "responses": len(responses),
        "with_evidence": sum(bool(resp["evidence_scores"]) for resp in responses),
        "crops": len(scores),
        "mean_score": sum(scores) / len(scores) if scores else 0.0,
        "score_counts": {str(k): scores.count(k) for k in (0, 1, 2)},
        "unreadable_answers": sum(resp["key"] is None for resp in responses),
        "votes_differ": sum(r["tts"]["majority"] != r["tts"]["confidence"] for r in rows),
    }


def evaluate_mcq_tts(model_dir: Path, *, anno: Path, videos: Path, out: Path, num_frames: int, n: int,
                     max_new_tokens: int, limit: int, cache_dir: Path | None, seed: int) -> dict[str, Any]:
    """Greedy, majority-vote and confidence-vote accuracy and the faithfulness probe on `limit` questions."""
    from o3video.eval.benchmark_runner import load_results
    from o3video.eval.mcq import MCQRunConfig, mcq_metrics, run_mcq

    config = MCQRunConfig(anno=anno, videos=videos, model=str(model_dir), out=out, num_frames=num_frames,
                          max_new_tokens=max_new_tokens, cache_dir=cache_dir, limit=limit, tts="confidence", n=n,
                          faithfulness=True, seed=seed)
    run_mcq(config)
    results = load_results(out)
    metrics = mcq_metrics(results) | {"evidence": evidence_stats(results), "n_samples": n}
    atomic_write_text(out.with_suffix(".summary.json"), json.dumps(metrics, indent=2))
    return metrics


def evaluate_grounding(model_dir: Path, *, anno: Path, videos: Path, out: Path, num_frames: int, max_new_tokens: int,
                       limit: int, cache_dir: Path | None) -> dict[str, Any]:
    from o3video.eval.benchmark_runner import load_results
    from o3video.eval.grounding import GroundingRunConfig, grounding_metrics, run_grounding

    config = GroundingRunConfig(anno=anno, videos=videos, model=str(model_dir), out=out, num_frames=num_frames,
                                max_new_tokens=max_new_tokens, cache_dir=cache_dir, limit=limit)
    run_grounding(config)
    metrics = grounding_metrics(load_results(out))
    atomic_write_text(out.with_suffix(".summary.json"), json.dumps(metrics, indent=2))
    return metrics


def tts_markdown(metrics: dict[str, Any]) -> str:
    """The TTS row (greedy / majority / confidence-aware), the faithfulness table and the evidence counts."""
    acc, ev = metrics["accuracy"], metrics["evidence"]
    lines = [
        f"{metrics['n']} synthetic 4-option questions (held-out videos), {metrics['n_samples']} samples per question "
        "at temperature 1.0 for the votes; percent.", "",
        markdown_table(["model", "greedy", "majority vote", "confidence-aware vote"],
                       [["SFT+GSPO", *(f"{100 * acc.get(k, 0):.1f}" for k in ("greedy", "majority", "confidence"))]]), "",
        f"Evidence in the sampled responses: {ev['with_evidence']} of {ev['responses']} cite a box at a time; "
        f"{ev['crops']} crops rated by the model, mean {ev['mean_score']:.2f} "
        f"(0: {ev['score_counts']['0']}, 1: {ev['score_counts']['1']}, 2: {ev['score_counts']['2']}); "
        f"the two votes differ on {ev['votes_differ']} of {ev['questions']} questions; "
        f"{ev['unreadable_answers']} responses had no readable option letter.",
    ]
    if ev["responses"] and not ev["with_evidence"]:
        lines[-1] += (" With no evidence cited, the confidence-aware vote is the majority vote by construction;"
                      " `o3video demo --grounded-mcq` trains on MCQ reasoning that cites its evidence.")
    if metrics.get("faithfulness"):
        from o3video.eval.mcq import faithfulness_table

        lines += ["", faithfulness_table(metrics["faithfulness"])]
    return "\n".join(lines)


def grounding_table(metrics: dict[str, Any]) -> str:
    from o3video.eval.grounding import THRESHOLDS

    heads = [f"R1@{t}" for t in THRESHOLDS]
    return "\n".join([
        f"{metrics['n']} synthetic queries (held-out videos); percent.", "",
        markdown_table(["model", "mean IoU", *heads],
                       [["SFT+GSPO", f"{100 * metrics['mean_iou']:.1f}", *(f"{100 * metrics[h]:.1f}" for h in heads)]]),
    ])


__all__ = ["evaluate_grounding", "evaluate_mcq_tts", "evidence_stats", "grounding_table", "tts_markdown"]
