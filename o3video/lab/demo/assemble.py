"""Gather a finished demo run into its report: the bars with their measured numbers, reward curves,
evidence pictures and timings (all read from the run directory)."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from o3video.lab.demo.evaluate import EvalSummary
from o3video.lab.demo.report import RL_PANELS, SFT_PANELS, Check, ReportInputs, plot_curves, write_report

Demo = Any  # o3video.lab.demo.run.Demo (not imported: the run imports this module)

FORMAT_BAR = 0.95
FULL_BUDGET_S, QUICK_BUDGET_S = 15 * 60, 3 * 60


# The targets a model that sees must reach after SFT+GSPO (held-out synthetic V-STaR of the run's world), and the
# lead it must have over its blind twin on each.
SEEING_TARGETS = (("what", 0.60), ("when_1", 0.50), ("where_1", 0.30))
BLIND_LEAD = 0.20


def seeing_checks(gspo: EvalSummary, blind: EvalSummary) -> list[Check]:
    """The 'models must see' targets for the SFT+GSPO model, measured against its blind twin."""
    from o3video.lab.demo.seeing import METRICS

    names = dict(METRICS)
    out = []
    for metric, target in SEEING_TARGETS:
        value, lead = getattr(gspo, metric), getattr(gspo, metric) - getattr(blind, metric)
        out.append(Check(f"SFT+GSPO {names[metric]} >= {100 * target:.0f} and >= {100 * BLIND_LEAD:.0f} points above "
                         "its blind twin", f"{100 * value:.1f} (blind {100 * getattr(blind, metric):.1f}, "
                         f"lead {100 * lead:+.1f})", value >= target and lead >= BLIND_LEAD))
    return out


def checks(evals: list[EvalSummary], total_seconds: float, quick: bool, blind: list[EvalSummary] = ()) -> list[Check]:
    """The demo's bars (format, GSPO over SFT, the seeing targets against the blind twin, the time budget),
    measured."""
    by_name = {e.name: e for e in evals}
    sft, gspo = by_name["SFT"], by_name["SFT+GSPO"]
    budget = QUICK_BUDGET_S if quick else FULL_BUDGET_S
    blind_gspo = next((b for b in blind if b.name == "blind SFT+GSPO"), None)
    return [
        Check(f"format reward r_fmt on the test split after SFT >= {FORMAT_BAR}",
              f"{sft.format:.3f} (base {by_name['base (untrained)'].format:.3f}, SFT+GSPO {gspo.format:.3f})",
              sft.format >= FORMAT_BAR),
        Check("SFT+GSPO above SFT on mLGM (held-out V-STaR split)",
              f"SFT {100 * sft.mLGM:.2f} -> SFT+GSPO {100 * gspo.mLGM:.2f} (mAM {100 * sft.mAM:.2f} -> {100 * gspo.mAM:.2f})",
              gspo.mLGM > sft.mLGM),
        *(seeing_checks(gspo, blind_gspo) if blind_gspo is not None else []),
        Check(f"run time within {budget // 60} minutes", f"{total_seconds / 60:.1f} min", total_seconds <= budget),
    ]


def evidence_pictures(demo: Demo, count: int) -> list[tuple[str, Path]]:
    """The SFT+GSPO model's chain-1 *where* answers on the first test records, drawn on the frames it saw, with
    the record's ground-truth span and boxes beside them."""
    from transformers import AutoProcessor

    from o3video.data.vstar import answer_text
    from o3video.eval.benchmark_runner import find_video, load_results
    from o3video.grammar import parse
    from o3video.models import frame_settings
    from o3video.video import sample_frames
    from o3video.viz import save_evidence, vstar_truth

    pictures: list[tuple[str, Path]] = []
    results = demo.evals / "gspo.jsonl"
    if count <= 0 or not results.is_file():
        return pictures
    rows = [r for r in load_results(results) if not r.get("error")]
    settings = frame_settings(AutoProcessor.from_pretrained(demo.models / "gspo"))  # the frames the model saw
    # Prefer answers that cite something, so the picture has boxes to show.
    rows.sort(key=lambda r: not parse(r.get("answer_spatial_pre") or "").claims)
    for row in rows[:count]:
        video = find_video(demo.world / "videos", row)
        if video is None:
            continue
        frames = sample_frames(video, demo.s.num_frames, cache_dir=demo.cache, **settings)
        completion = row.get("answer_spatial_pre") or ""
        start, end = row["timestamps"]
        reference = f"ground truth: {row['object']} from {start}s to {end}s; what: {row['answer']}"
        path = save_evidence(demo.out / "evidence" / f"{row['vid']}_where.png", frames.frames, completion,
                             question=row["spatial_question"], duration=frames.duration,
                             answer=answer_text(completion)[:200], reference=reference, source_size=frames.source_size,
                             box_convention=row.get("box_convention") or "pixels", truth=vstar_truth(row))
        pictures.append((f"{row['vid']}: \"{row['spatial_question']}\" — {reference}", path))
    return pictures


def base_summary(info: dict[str, Any]) -> str:
    """How a pre-trained base was built and how well it localises, from its `base.json` (any field may be missing:
    a `--base DIR` made by hand says what it has)."""
    final = info.get("final") or {}
    model, video = final.get("model") or {}, final.get("model_as_video") or {}
    facts = [str(info["built"])] if info.get("built") else []
    if isinstance(info.get("seconds"), (int, float)):
        facts.append(f"{info['seconds'] / 60:.1f} min one-time, not in this run's time")
    if "iou" in model:
        facts.append(f"held-out IoU {model['iou']:.2f}, single objects {model.get('iou_by_n', {}).get('1', 0):.2f}")
    if "iou" in video:
        facts.append(f"asked as 8 frames {video['iou']:.2f}")
    if "iou" in (info.get("mean_box") or {}):
        facts.append(f"mean box {info['mean_box']['iou']:.2f}")
    built_by = f"built by `{info['command']}`" if info.get("command") else "(no command recorded)"
    commands = [part.get("command") or "(no command recorded)" for part in info.get("parts") or []]
    if len(commands) > 1:  # continued with --from: every part, in order
        built_by = f"built in {len(commands)} parts, by " + ", then ".join(f"`{c}`" for c in commands)
    return built_by + (f" ({'; '.join(facts)})" if facts else "")


def model_line(demo: Demo) -> str:
    """The architecture and where the run's base came from (a pre-trained base says how it was built)."""
    import json

    config = json.loads((demo.models / "base" / "config.json").read_text())
    arch = {"qwen2_5_vl": "Qwen2.5-VL", "qwen3_vl": "Qwen3-VL"}.get(config.get("model_type"), config.get("model_type"))
    line = f"tiny {arch} '{demo.s.model_size}', {demo.s.num_frames} frames per video"
    info_path = demo.models / "base" / "base.json"
    if info_path.is_file():
        line += f"; started from the perception-pretrained base {base_summary(json.loads(info_path.read_text()))}"
    elif demo.s.base != "random":
        line += f"; started from {demo.s.base}"
    if demo.s.perception_replay:
        line += f"; SFT mixed in {demo.s.perception_replay} perception questions (replay, both chains)"
    return line


def twin_line(demo: Demo) -> str:
    """Where the blind twin came from and what it cost (the report's settings line)."""
    import json

    path = demo.out / "blind_twin.json"
    info = json.loads(path.read_text()) if path.is_file() else {}
    recipe = "the same recipe (data, steps, seed) trained and evaluated on blank frames"
    if info.get("built") == "in this run":
        return f"{recipe}, trained in this run beside the seeing chain ({info['seconds'] / 60:.1f} min, one-time: " \
               "kept in the cache for later runs of this recipe)"
    if "cache" in info:
        return f"{recipe}, from the cache {info['cache']} (built {info['built']} in {info['seconds'] / 60:.1f} min, " \
               "not counted in this run's time)"
    return recipe


def world_line(name: str) -> str:
    """The report's settings line naming the world's preset: "easy synthetic preset (112x84 frames, 4 fps, 6-8 s,
    2-3 objects)"."""
    from o3video.data.synth import get_preset

    p = get_preset(name)
    low, high = p.num_objects
    objects = f"{low} object" if low == high == 1 else f"{low}-{high} objects" if low < high else f"{low} objects"
    seconds = f"{p.duration_s[0]:g}-{p.duration_s[1]:g} s"
    return f"{name} synthetic preset ({p.width}x{p.height} frames, {p.fps} fps, {seconds}, {objects})"


def assemble_report(demo: Demo, evals: list[EvalSummary], extra: dict[str, dict[str, Any]] | None = None,
                    blind: list[EvalSummary] = (), ignoring: list[EvalSummary] = ()) -> tuple[Path, list[Check]]:
    """`extra`: the SFT+GSPO model's `mcq` (test-time scaling, faithfulness) and `grounding` summaries;
    `blind`: the blind twins (blind SFT, blind SFT+GSPO); `ignoring`: the answers that ignore the video."""
    from o3video.lab.demo.beyond_vstar import grounding_table, tts_markdown
    from o3video.lab.demo.seeing import margin_table, seeing_summary
    from o3video.train.callbacks import METRICS_FILE, read_metrics

    curves = []
    for stage, panels, caption in (("sft", SFT_PANELS, "SFT"), ("gspo", RL_PANELS, "GSPO: the paper's reward terms")):
        rows = read_metrics(demo.models / stage / METRICS_FILE)
        png = plot_curves(rows, panels, demo.out / "curves" / f"{stage}.png", caption)
        if png is not None:
            curves.append((f"{caption} — per optimizer step, from {stage}/{METRICS_FILE}", png))
    total = sum(demo.timings.values())
    settings: dict[str, Any] = {
        "mode": "quick (little data, few steps: a smoke run, not expected to meet the bars)" if demo.s.quick else "full",
        "world": world_line(demo.s.world),
        "data": f"{demo.s.sft_records} SFT + {demo.s.rl_records} RL STGR records, {demo.s.practice_videos} practice "
                f"videos x 5 V-STaR-format prompts, {evals[0].n} held-out V-STaR test records",
        "model": model_line(demo),
        "blind twin": twin_line(demo),
        "configs": f"{demo.s.sft_config.name} {demo.s.recipe_changes('sft') or ''}, "
                   f"{demo.s.rl_config.name} {demo.s.recipe_changes('rl') or ''}",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {demo.chain_threads()} torch thread(s) for "
                   "the seeing chain",
        "total time": f"{total:.0f} s (this run; a blind twin from the cache is not in it)",
    }
    notes = [
        "Every number above was produced by this run: the three models answered the same five V-STaR prompts "
        "per held-out record with greedy decoding; metrics from o3video.eval.vstar_metrics.",
        "The practice prompts teach the tiny model, which starts with no instruction following, the answer "
        "forms V-STaR asks for (JSON boxes, 'From <t>S</t>s to <t>E</t>s'); their videos come from another "
        "seed than the test videos.",
    ]
    extra = extra or {}
    sections = []
    by_name = {e.name: e for e in [*evals, *blind]}
    pairs = [(by_name[m], by_name[b]) for m, b in (("SFT", "blind SFT"), ("SFT+GSPO", "blind SFT+GSPO"))
             if m in by_name and b in by_name]
    if pairs:
        sections.append(("Does the model see? Each model against its blind twin and the answers that ignore the video",
                         seeing_summary(pairs, ignoring) + "\n\n" + margin_table(pairs, ignoring) + "\n\n"
                         "The blind twin is the same recipe (data, steps, seed) trained and evaluated on blank frames: "
                         "what it scores comes from the answers' statistics alone. Margins are per-record paired means "
                         "over the held-out records, ± twice their standard error; one run is one seed "
                         "(`o3video demo --seeds 3` gives the spread across seeds)."))
    if "mcq" in extra:
        sections.append(("Test-time scaling and evidence faithfulness (SFT+GSPO model, synthetic MCQ)", tts_markdown(extra["mcq"])))
    if "grounding" in extra:
        sections.append(("Temporal grounding (SFT+GSPO model, synthetic queries)", grounding_table(extra["grounding"])))
    inputs = ReportInputs(
        title="o3video demo — SFT cold start and GSPO on the tiny model",
        settings=settings,
        evals=[*evals, *blind, *ignoring],
        checks=checks(evals, total, demo.s.quick, blind),
        curves=curves,
        evidence=evidence_pictures(demo, demo.s.evidence),
        sections=sections,
        timings=dict(demo.timings),
        notes=notes,
    )
    md, _ = write_report(inputs, demo.out)
    return md, inputs.checks


__all__ = ["FORMAT_BAR", "assemble_report", "checks", "evidence_pictures"]
