"""`build`: the whole STGR construction as resumable stages.

    sources ─► source_filter ─► annotate ─► boxes ─► consistency ─► records ─► mix ─► report
                    │ (temporal-qa items skip the VLM stages and become temporal QA records)

Each stage appends one line per item to `<out>/stages/<stage>.jsonl`; a rerun skips finished items
and retries failed ones (`o3video.construction.stages`). Records, the mix and the report are recomputed
from the stage logs on every run, in source order, so an interrupted and resumed build writes the
same files as an uninterrupted one.

Output directory::

    build_config.json                  what the stages were run with (a resume must match)
    stages/<stage>.jsonl               per-item results of each stage
    frames/<item>/<frame>.jpg          key-frame images
    stgr_spatio_temporal.jsonl         annotated records that passed every check
    stgr_temporal.jsonl                temporal QA passed through (temporal-qa sources)
    stgr_<mix>.jsonl                   the mix (with --mix)
    report.json, report.md
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o3video.construction.annotate import annotate_item
from o3video.construction.annotation import Annotation
from o3video.construction.boxes import filter_boxes
from o3video.construction.build_config import BuildConfig
from o3video.construction.build_report import stage_summary, write_report
from o3video.construction.consistency import check_consistency
from o3video.construction.context import StageContext
from o3video.construction.measure import filter_source_item
from o3video.construction.mix import MixResult, mix_records, rebase_record, resolve_mix
from o3video.construction.source_items import ANNOTATED_KINDS, SourceItem
from o3video.construction.sources import read_source
from o3video.construction.stages import run_stage
from o3video.construction.stgr_output import spatio_temporal_record, temporal_qa_record, write_jsonl
from o3video.construction.validation import ERROR_KINDS, Outcome, read_ledger, validation_table
from o3video.construction.vlm import VLMClient, make_vlm
from o3video.data.stgr import load_stgr
from o3video.io import compare_settings, remove_orphans

STAGES = ("source_filter", "annotate", "boxes", "consistency")
SPATIO_TEMPORAL_FILE = "stgr_spatio_temporal.jsonl"
TEMPORAL_FILE = "stgr_temporal.jsonl"


@dataclass
class BuildSummary:
    out: Path
    records: dict[str, int]  # file name -> records written
    report: dict[str, Any]
    failed: int = 0  # items that failed this run (retried by the next one)
    files: dict[str, Path] = field(default_factory=dict)


def read_items(config: BuildConfig) -> list[SourceItem]:
    items: list[SourceItem] = []
    seen: set[str] = set()
    for spec in config.sources:
        read = read_source(spec.path, spec.kind, spec.name)
        if config.max_items is not None:
            read = read[: config.max_items]
        for item in read:
            if item.id in seen:
                raise ValueError(f"{spec.path}: item id {item.id!r} also comes from another source; give the sources different names")
            seen.add(item.id)
        items += read
    return items


def _check_resume(config: BuildConfig) -> None:
    path = config.out / "build_config.json"
    compare_settings(path, config.fingerprint(), resuming=path.exists(),
                     what=f"{config.out} holds a build made with different settings",
                     hint="use another --out directory, or --restart to discard the finished stages")


def _clients(config: BuildConfig, vlm: VLMClient | None, verifier: VLMClient | None) -> tuple[VLMClient | None, VLMClient | None]:
    """The annotator and the verifier: given objects, else made from the specs (errors surface now,
    before any stage runs)."""
    options = config.vlm_options

    def make(spec: str) -> VLMClient:
        return make_vlm(spec, timeout=options.timeout_s, max_retries=options.max_retries,
                        send_context=options.send_context, requests_per_minute=options.requests_per_minute)

    if vlm is None and config.vlm:
        vlm = make(config.vlm)
    if verifier is None:
        verifier = make(config.verifier) if config.verifier else vlm
    return vlm, verifier


def build(config: BuildConfig, *, vlm: VLMClient | None = None, verifier: VLMClient | None = None) -> BuildSummary:
    """Run (or resume) the build described by `config`; `vlm` / `verifier` override the specs."""
    annotating = any(spec.kind in ANNOTATED_KINDS for spec in config.sources)
    if annotating and vlm is None and not config.vlm:
        raise ValueError("the sources need annotating: give a VLM (--vlm openai:BASE_URL:MODEL, gemini-openai:MODEL or google:MODEL)")
    annotator, verifier = _clients(config, vlm, verifier) if annotating else (None, None)
    items = read_items(config)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    remove_orphans(out)  # temporaries of a killed run (`.NAME.PID.tmp…`)
    _check_resume(config)
    by_id = {item.id: item for item in items}
    ctx = StageContext(config, annotator, verifier)
    run = lambda name, todo, work: run_stage(name, todo, work, out=out, concurrency=config.concurrency,  # noqa: E731
                                             progress=config.progress)

    filtered = run("source_filter", [(i.id, i) for i in items], lambda _, item: filter_source_item(item, ctx))
    ctx.videos = {k: v for k, v in filtered.items() if v.get("status") == "kept"}
    to_annotate = [by_id[k] for k in by_id if k in ctx.videos and by_id[k].kind in ANNOTATED_KINDS]

    annotated = run("annotate", [(i.id, i) for i in to_annotate], lambda _, item: annotate_item(item, ctx))
    boxed_in = [(i.id, i) for i in to_annotate if annotated.get(i.id, {}).get("status") == "kept"]
    boxed = run("boxes", boxed_in, lambda item_id, item: filter_boxes(item, Annotation.from_dict(annotated[item_id]["annotation"]), ctx))
    checked_in = [(k, item) for k, item in boxed_in if boxed.get(k, {}).get("status") == "kept"]
    checked = run("consistency", checked_in,
                  lambda item_id, item: check_consistency(item, Annotation.from_dict(boxed[item_id]["annotation"]), ctx))

    spatio_temporal = [
        spatio_temporal_record(by_id[k], Annotation.from_dict(boxed[k]["annotation"]), ctx.videos[k]["video"], out)
        for k, _ in checked_in if checked.get(k, {}).get("status") == "kept"
    ]
    temporal = [temporal_qa_record(i, filtered[i.id]["video"], out) for i in items
                if i.kind == "temporal-qa" and filtered.get(i.id, {}).get("status") == "kept"]
    files: dict[str, list[dict[str, Any]]] = {}
    if annotating:
        files[SPATIO_TEMPORAL_FILE] = spatio_temporal
    if any(spec.kind == "temporal-qa" for spec in config.sources):
        files[TEMPORAL_FILE] = temporal
    for name, records in files.items():
        write_jsonl(out / name, records)

    mix_result, includes = None, []
    if config.mix:
        name, mix = resolve_mix(config.mix)
        pool = spatio_temporal + temporal
        for path in config.includes:
            loaded = load_stgr(path, on_error="skip")
            includes.append({"path": str(path), "records": len(loaded.records), "skipped": len(loaded.skipped)})
            pool += [rebase_record(r, Path(path).parent, out) for r in loaded.records]
        mix_result = mix_records(name, pool, mix, total=config.mix_total, seed=config.seed)
        files[f"stgr_{name}.jsonl"] = mix_result.records
        write_jsonl(out / f"stgr_{name}.jsonl", mix_result.records)

    stage_inputs = {"source_filter": (filtered, len(items)), "annotate": (annotated, len(to_annotate)),
                    "boxes": (boxed, len(boxed_in)), "consistency": (checked, len(checked_in))}
    report = _report(config, items, stage_inputs, files, mix_result, includes)
    if config.injection_ledger is not None:
        report["validation"] = _validation(config, to_annotate, annotated, boxed, checked, spatio_temporal)
    write_report(out, report)
    failed = sum(stage["errors"] for stage in report["stages"].values())
    return BuildSummary(out, {name: len(records) for name, records in files.items()}, report, failed,
                        {name: out / name for name in files})


def _report(config: BuildConfig, items: list[SourceItem], stage_inputs: dict, files: dict, mix_result: MixResult | None,
            includes: list[dict[str, Any]]) -> dict[str, Any]:
    boxed = stage_inputs["boxes"][0]
    return {
        "sources": [{"path": str(s.path), "kind": s.kind, "items": sum(1 for i in items if i.source == (s.name or Path(s.path).stem))}
                    for s in config.sources],
        "stages": {name: stage_summary(entries, given) for name, (entries, given) in stage_inputs.items()},
        "boxes_removed": sum(len(e.get("removed", [])) for e in boxed.values()),
        "max_box_area": config.checks.max_box_area,
        "records": {name: len(records) for name, records in files.items()},
        "includes": includes,
        "mix": mix_result.summary() if mix_result else None,
    }


def _validation(config: BuildConfig, annotated_items: list[SourceItem], annotated: dict, boxed: dict, checked: dict,
                records: list[dict[str, Any]]) -> dict[str, Any]:
    by_record = {r["id"]: r for r in records}
    outcomes: dict[str, Outcome] = {}
    for item in annotated_items:
        for stage, entries in (("annotate", annotated), ("boxes", boxed), ("consistency", checked)):
            entry = entries.get(item.id)
            if entry is None or entry.get("status") == "error":
                break
            if entry["status"] == "rejected":
                outcomes[item.id] = Outcome(None, stage, [r["code"] for r in entry["rejections"]])
                break
        else:
            outcomes[item.id] = Outcome(by_record[item.id])
    return validation_table(read_ledger(config.injection_ledger), outcomes, ERROR_KINDS)  # type: ignore[arg-type]


__all__ = ["BuildSummary", "STAGES", "build", "read_items"]
