"""The Data view: an STGR file (`o3video.data.stgr.load_stgr`: its valid records, and those it skips with
their problems), or a construction output (`o3video build`'s folder: every item with the stage that kept or
dropped it and why, from `stages/<stage>.jsonl`), filterable by stage, status and reason. Per sample: its
key frames with their boxes, and its reasoning with every reference checked against the key frames and
items (`o3video.construction.consistency.coverage_rejections`, the build's own check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from o3video.construction.annotation import Annotation, KeyFrame, KeyObject
from o3video.errors import InputError

COLUMNS = ("id", "status", "stage", "reasons", "task", "question")


@dataclass
class Sample:
    id: str
    status: str  # kept | rejected | error | invalid (an STGR record that does not validate)
    stage: str  # the stage that kept it last or dropped it: a build stage, "stgr" (a record of the file), "read"
    reasons: list[str] = field(default_factory=list)  # rejection codes, or the problems' fields
    details: list[str] = field(default_factory=list)
    annotation: Annotation | None = None  # key frames (normalised boxes) and reasoning (normalised boxes)
    task: str = ""
    root: Path = Path(".")  # key-frame paths are relative to it


@dataclass
class DataSet:
    path: Path
    kind: str  # stgr | construction
    samples: list[Sample]

    def sample(self, sample_id: str) -> Sample:
        found = next((s for s in self.samples if s.id == sample_id), None)
        if found is None:
            raise InputError(f"{self.path}: no sample {sample_id!r}")
        return found


def annotation_of_record(record: dict[str, Any]) -> Annotation:
    """An STGR record's key frames, key items and reasoning as the build keeps them (normalised corners)."""
    from o3video.data.stgr import reasoning_for_model
    from o3video.geometry import BoxConvention

    items = record.get("key_items") or {}
    frames = []
    for entry in record.get("key_frames") or []:
        objects = []
        for name, boxes in (items.get(str(entry["idx"])) or {}).items():
            boxes = [boxes] if boxes and not isinstance(boxes[0], list) else boxes
            objects += [KeyObject(name, [float(v) for v in box]) for box in boxes]
        frames.append(KeyFrame(float(entry["time"]), int(entry["idx"]), str(entry.get("path", "")), objects))
    # boxes on a 1 x 1 frame in pixels are normalised corners, whatever the record's own box format
    reasoning = reasoning_for_model(record, (1.0, 1.0), BoxConvention.PIXELS, decimals=4)
    return Annotation(str(record["question"]), str(record["answer"]), reasoning, frames)


def open_stgr(path: Path) -> DataSet:
    from o3video.data.stgr import load_stgr

    loaded = load_stgr(path, on_error="skip")
    samples = [Sample(str(r.get("id", i)), "kept", "stgr", annotation=annotation_of_record(r), task=str(r["task"]),
                      root=path.parent) for i, r in enumerate(loaded.records)]
    for skipped in loaded.skipped:
        where = f"line {skipped.line}" if skipped.line else f"record {skipped.index}"
        samples.append(Sample(where, "invalid", "read", sorted({p.split(":")[0] for p in skipped.problems}),
                              skipped.problems, root=path.parent))
    return DataSet(path, "stgr", samples)


def _stage_entries(out: Path, stage: str) -> dict[str, dict[str, Any]]:
    """The last entry per item of one stage's log (a retried item's last line counts)."""
    from o3video.io import read_json_records

    log = out / "stages" / f"{stage}.jsonl"
    if not log.is_file():
        return {}
    entries: dict[str, dict[str, Any]] = {}
    for entry in read_json_records(log):
        if entry.error is not None:
            raise InputError(f"{log}:{entry.line}: {entry.error}")
        if not isinstance(entry.value, dict) or "id" not in entry.value:
            raise InputError(f"{log}: {entry.where}: must be an object with an id")
        entries[str(entry.value["id"])] = entry.value
    return entries


def _item_sample(item_id: str, logs: dict[str, dict[str, dict[str, Any]]], out: Path) -> Sample:
    """Where one item got to: the last stage with an entry for it, and the annotation it carried."""
    sample, annotation = Sample(item_id, "kept", "source_filter", root=out), None
    for stage, entries in logs.items():
        entry = entries.get(item_id)
        if entry is None:
            break
        if entry.get("annotation"):
            annotation = Annotation.from_dict(entry["annotation"])
        sample.stage, sample.status = stage, str(entry.get("status"))
        sample.reasons = [r["code"] for r in entry.get("rejections", [])]
        sample.details = [f"{r['code']}: {r['detail']}" for r in entry.get("rejections", [])]
        if entry.get("error"):
            sample.details.append(str(entry["error"]))
        if sample.status != "kept":
            break
    sample.annotation = annotation
    sample.task = "spatio-temporal" if annotation else ""
    return sample


def open_construction(out: Path) -> DataSet:
    from o3video.construction.pipeline import STAGES

    logs = {stage: _stage_entries(out, stage) for stage in STAGES}
    if not logs["source_filter"]:
        raise InputError(f"{out}: not a construction output (no stages/source_filter.jsonl)")
    return DataSet(out, "construction", [_item_sample(i, logs, out) for i in logs["source_filter"]])


def open_data(path: str | Path) -> DataSet:
    """An STGR file (.json / .jsonl) or a construction output folder."""
    path = Path(path)
    if path.is_dir():
        return open_construction(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file or folder")
    return open_stgr(path)


@dataclass(frozen=True)
class SampleFilter:
    stage: str | None = None
    status: str | None = None
    reason: str | None = None

    def keeps(self, s: Sample) -> bool:
        return ((self.stage is None or s.stage == self.stage) and (self.status is None or s.status == self.status)
                and (self.reason is None or self.reason in s.reasons))


def table(data: DataSet, where: SampleFilter = SampleFilter()) -> list[list[Any]]:
    """Rows (`COLUMNS`) of the samples `where` keeps, in file order."""
    return [[s.id, s.status, s.stage, ", ".join(s.reasons), s.task, s.annotation.question if s.annotation else ""]
            for s in data.samples if where.keeps(s)]


def choices(data: DataSet, what: str) -> list[str]:
    """The stages, statuses or reasons present, for the filters."""
    if what == "reason":
        return sorted({r for s in data.samples for r in s.reasons})
    return sorted({getattr(s, what) for s in data.samples})


@dataclass
class SampleDetail:
    id: str
    frames: list[tuple[Image.Image, str]]  # each key frame with its key items' boxes
    claims: list[list[Any]]  # object, time (s), boxes (normalised) of each reasoning claim
    problems: list[str]  # references the key frames and items do not cover ([] = all checked and covered)
    reasoning_html: str
    notes: list[str] = field(default_factory=list)


def key_frame_picture(frame: KeyFrame, root: Path, colors: dict[str, Any]) -> Image.Image:
    """The key frame's image with each key item's box in its object's colour."""
    from o3video.geometry import BoxFormat, to_pixels
    from o3video.viz.compare import LabelledBox, draw_boxes
    from o3video.viz.palette import object_key

    with Image.open(root / frame.path) as image:
        image.load()
        rgb = image.convert("RGB")
    boxes = [LabelledBox(o.name, to_pixels(o.box, BoxFormat.XYXY_NORM, rgb.size), colors[object_key(o.name)])
             for o in frame.objects]
    return draw_boxes(rgb, boxes)


def sample_detail(data: DataSet, sample_id: str) -> SampleDetail:
    """Key frames with boxes, the reasoning's claims and what of them the key frames and items do not cover."""
    from o3video.app.ask_view import reasoning_html
    from o3video.construction.build_config import CheckConfig
    from o3video.construction.consistency import coverage_rejections, parse_reasoning
    from o3video.viz.palette import assign_colors

    sample = data.sample(sample_id)
    annotation = sample.annotation
    if annotation is None:
        return SampleDetail(sample.id, [], [], [], "", notes=["no annotation (dropped before annotating, a temporal "
                                                              "QA record, or an invalid record)", *sample.details])
    claims = parse_reasoning(annotation.reasoning).claims
    names = [c.object for c in claims] + [o.name for f in annotation.key_frames for o in f.objects]
    colors = assign_colors(names)
    frames, notes = [], list(sample.details)
    for frame in annotation.key_frames:
        try:
            frames.append((key_frame_picture(frame, sample.root, colors), f"key frame {frame.idx} at {frame.time:g} s"))
        except OSError as err:
            notes.append(f"key frame {frame.idx}: cannot read {sample.root / frame.path} ({err.strerror or err})")
    rows = [[c.object, c.time, [list(b) for b in c.boxes]] for c in claims]
    problems = [f"{r.code}: {r.detail}" for r in coverage_rejections(annotation, CheckConfig())]
    text = f"<think>{annotation.reasoning}</think><answer>{annotation.answer}</answer>"
    return SampleDetail(sample.id, frames, rows, problems, reasoning_html(text, colors), notes)


__all__ = ["COLUMNS", "DataSet", "Sample", "SampleDetail", "SampleFilter", "annotation_of_record", "choices",
           "key_frame_picture", "open_data", "sample_detail", "table"]
