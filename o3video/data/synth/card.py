"""The dataset card (`README.md` in the output directory): counts per task, the mix, sizes and
durations, the world's settings and the conventions a user needs to read the files."""

from __future__ import annotations

from collections import Counter

from o3video.data.synth.presets import QUESTION_KINDS, WorldPreset
from o3video.data.synth.synth_config import SynthConfig, SynthSummary
from o3video.data.vstar import question_span_prior
from o3video.mixes import CATEGORIES, Mix, category_of
from o3video.tables import markdown_table
from o3video.tasks import Task


def _mix_table(records: dict[str, list[dict]], mixes: dict[str, Mix]) -> list[str]:
    header = ["category", *(f"{s.upper()} {what}" for s in mixes for what in ("target", "actual"))]
    rows = []
    for category in CATEGORIES:
        cells = []
        for split, mix in mixes.items():
            total = len(records[split]) or 1
            actual = sum(category_of(r["task"]) == category for r in records[split]) / total
            cells += [f"{100 * mix.shares()[category]:.1f}%", f"{100 * actual:.1f}%"]
        rows.append([category, *cells])
    return markdown_table(header, rows).split("\n")


def _task_table(records: dict[str, list[dict]]) -> list[str]:
    splits = ["sft", "rl", "mcq", "temporal_grounding"]
    counts = {s: Counter(r["task"] for r in records[s]) for s in splits}
    rows = [[task.value, *(counts[s][task.value] for s in splits)] for task in Task]
    rows.append(["**total**", *(len(records[s]) for s in splits)])
    return markdown_table(["task", *splits], rows).split("\n")


def _video_table(scenes: dict) -> list[str]:
    rows = []
    for split, plans in scenes.items():
        if not plans:
            continue
        durations = [p.duration for p in plans]
        sizes = sorted({f"{p.width}x{p.height}" for p in plans})
        fps = sorted({p.fps for p in plans})
        rows.append([split, len(plans), ", ".join(sizes), ", ".join(map(str, fps)),
                     f"{min(durations):.2f} / {sum(durations) / len(durations):.2f} / {max(durations):.2f}",
                     f"{sum(durations):.1f}", sum(p.num_frames for p in plans)])
    header = ["split", "videos", "frame size", "fps", "duration min / mean / max (s)", "total (s)", "frames"]
    return markdown_table(header, rows, align="lrlrlrr").split("\n")


def _vstar_lines(records: list[dict]) -> list[str]:
    if not records:
        return ["No V-STaR records were asked for."]
    length = Counter()
    for r in records:
        seconds = r["frame_count"] / r["fps"]
        length["short (<60 s)" if seconds < 60 else "medium (<180 s)" if seconds < 180 else "long"] += 1
    events = Counter(r["event"] for r in records)
    spans = [r["timestamps"][1] - r["timestamps"][0] for r in records]
    boxes = [len(r["bboxes"]) for r in records]
    prior = question_span_prior(records)
    overall = sum(score * n for _, score, n in prior.values()) / len(records)
    return [
        f"- records: {len(records)}; by event: "
        + ", ".join(f"{k} {v}" for k, v in sorted(events.items())),
        "- by length: " + ", ".join(f"{k} {v}" for k, v in length.items()),
        f"- span length (s): min {min(spans):.2f}, mean {sum(spans) / len(spans):.2f}, max {max(spans):.2f}; "
        f"boxes per record: min {min(boxes)}, mean {sum(boxes) / len(boxes):.2f}, max {max(boxes)}",
        f"- *when* from the question alone: the best single span per event scores tIoU {overall:.2f} ("
        + ", ".join(f"{k} {score:.2f} at {a:.2f}-{b:.2f}" for k, ((a, b), score, _) in prior.items())
        + " of the video), fitted on these records: what a model that ignores the video can reach",
    ]


def _template_lines(records: dict[str, list[dict]]) -> list[str]:
    """How many distinct question texts each split has (a rough look at variety)."""
    return [f"- {split}: {len({r['question'] for r in recs})} distinct questions in {len(recs)} records"
            for split, recs in records.items() if recs]


def _overrides(config: "SynthConfig") -> str:
    """The command-line options that reproduce a config differing from its named preset and mixes."""
    from o3video.data.synth.presets import PRESETS
    from o3video.mixes import RL_MIX, SFT_MIX

    p, out = config.preset, []
    base = PRESETS.get(p.name)
    if base is not None:
        if (p.width, p.height) != (base.width, base.height):
            out.append(f"--size {p.width}x{p.height}")
        if p.fps != base.fps:
            out.append(f"--fps {p.fps}")
        if p.duration_s != base.duration_s:
            out.append(f"--duration {p.duration_s[0]:g},{p.duration_s[1]:g}")
        if p.num_objects != base.num_objects:
            out.append(f"--objects {p.num_objects[0]},{p.num_objects[1]}")
    for flag, mix, default in (("--sft-mix", config.sft_mix, SFT_MIX), ("--rl-mix", config.rl_mix, RL_MIX)):
        if mix.weights != default.weights:
            out.append(f"{flag} " + ",".join(f"{mix.weights.get(c, 0):g}" for c in CATEGORIES))
    if config.sft_mix.temporal_mcq_share != 0.5:
        out.append(f"--temporal-mcq-share {config.sft_mix.temporal_mcq_share:g}")
    if config.sft_mix.general_mcq_share != 0.5:
        out.append(f"--general-mcq-share {config.sft_mix.general_mcq_share:g}")
    return "".join(f" {o}" for o in out)


def _world_lines(p: WorldPreset) -> list[str]:
    """The card's opening description of what the videos show."""
    if p.view_share is None:
        return ["Procedurally generated videos of coloured shapes that enter, leave, move, stop, change colour, touch",
                "and pass in front of each other, with exact per-frame ground truth. Made by o3video's synthetic"]
    return ["Procedurally generated videos of coloured shapes, each in view for one span of its own (sliding in or",
            "out through an edge, or appearing and disappearing in place), that move and stand still, with exact",
            "per-frame ground truth. Made by o3video's synthetic"]


def _sighting_lines(p: WorldPreset) -> list[str]:
    if p.view_share is None:
        return []
    return [f"- each object in view for one span of {p.view_share[0]:.2f}-{p.view_share[1]:.2f} of the video, "
            f"centred anywhere in it and cut at its ends; each end a pop in place with chance {p.pop_prob}, else a "
            "slide through an edge"]


def card_text(config: "SynthConfig", summary: "SynthSummary") -> str:
    p = config.preset
    rec = summary.records
    command = (f"o3video synth --out DIR --preset {p.name} --sft {config.sft} --rl {config.rl} "
               f"--bench {config.bench} --seed {config.seed}{_overrides(config)}")
    lines = [
        f"# Synthetic spatio-temporal world: preset `{p.name}`, seed {config.seed}",
        "",
        *_world_lines(p),
        "world (`o3video.data.synth`); the same command and seed give the same records and the same pixels.",
        "",
        f"    {command}",
        "",
        "## Records per task",
        "",
        *_task_table(rec),
        "",
        f"Benchmarks: `vstar_test.json` {len(rec['vstar'])} records, `mcq_test.json` {len(rec['mcq'])}, "
        f"`temporal_grounding_test.json` {len(rec['temporal_grounding'])}; all from test videos, whose seeds "
        "are disjoint from the training videos'.",
        "",
        "## Mix (share of records per category)",
        "",
        *_mix_table(rec, {"sft": config.sft_mix, "rl": config.rl_mix}),
        "",
        "Targets are the paper's shares (docs/design.md §1) normalised to 100% (as printed they add up to 100.1 and "
        "100.3).",
        "",
        f"Temporal QA is split {100 * (1 - config.sft_mix.temporal_mcq_share):.0f}/"
        f"{100 * config.sft_mix.temporal_mcq_share:.0f} between `temporal QA` and `temporal QA (MCQ)`; general QA "
        f"{100 * config.sft_mix.general_mcq_share:.0f}/{100 * (1 - config.sft_mix.general_mcq_share):.0f} between MCQ "
        "and free-form.",
        "",
        "## Videos",
        "",
        *_video_table(summary.scenes),
        "",
        "H.264 (libx264, yuv420p, CRF " f"{p.crf}, no B-frames); frame `i` is presented at exactly `i / fps` s.",
        "",
        "## V-STaR split",
        "",
        *_vstar_lines(rec["vstar"]),
        "",
        "## Variety",
        "",
        *_template_lines(rec),
        "",
        "## World settings",
        "",
        f"- objects per video: {p.num_objects[0]}-{p.num_objects[1]}; shapes: {', '.join(p.shapes)}; "
        f"colours: {', '.join(p.colours)}",
        f"- object side: {p.size_fraction[0]:.2f}-{p.size_fraction[1]:.2f} of the frame's shorter side; speed "
        f"{p.speed_fraction[0]:.2f}-{p.speed_fraction[1]:.2f} frame widths per second; holds "
        f"{p.hold_s[0]:.1f}-{p.hold_s[1]:.1f} s",
        f"- unique shapes and colours per video: {p.unique_attributes}; objects may overlap (occlusion): "
        f"{p.allow_overlap}; background: {p.background}",
        f"- chance per object of a colour change {p.colour_change_prob} (then of taking its first colour back "
        f"{p.colour_return_prob}), of entering late {p.enter_prob}, of leaving early {p.leave_prob}",
        *_sighting_lines(p),
        "- questions ask about: " + "; ".join(f"{kind} ({QUESTION_KINDS[kind]})" for kind in p.asks)
        + "; and, on every preset, visual QA (box one object in a frame)",
        "",
        "## Conventions",
        "",
        "- Ground-truth boxes are the **visible** extent of an object (clipped to the frame, minus what objects "
        "drawn over it hide), `[x1, y1, x2, y2]` with exclusive ends: pixel column `i` covers `[i, i+1)`.",
        "- STGR reasoning boxes are normalised `[0, 1]` corners and records say so with "
        "`\"box_format\": \"xyxy_norm\"`; `key_items` boxes are normalised too. Convert to the model's input "
        "pixels with `o3video.data.stgr.reasoning_in_pixels`.",
        "- `key_frames[].time` is the exact presentation time of frame `idx`; `path` is the lossless PNG of "
        "that rendered frame. Visual QA images are such PNGs; their answers are in the image's pixels.",
        "- Temporal spans `[S, E]` run from the first to the last frame where the event holds; each is at least "
        "1 s and under 70% of its video.",
        "- V-STaR boxes are in pixels of the original video, one per whole second inside the span.",
        "- `truth/<video>.json` holds the plan, per-frame boxes of every object and the derived events.",
        "",
    ]
    return "\n".join(lines)


def write_card(config: "SynthConfig", summary: "SynthSummary") -> None:
    from o3video.io import atomic_write_text

    atomic_write_text(config.out / "README.md", card_text(config, summary))
