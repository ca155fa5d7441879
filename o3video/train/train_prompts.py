"""STGR record -> the prompt the model sees during training: frames (+ inserted key frames) through the
shared prompt builder, and the size of the frames, which every box in the targets and rewards is in.

Video records: `num_frames` uniform frames decoded once per video (the on-disk frame cache makes every
later epoch a file read), plus the record's annotated key frames inserted in time order (the released
key-frame images when the record lists their `path`, else the frames decoded at those times). Visual
QA records: their one image, resized the way Qwen2.5-VL's processor would. The prompt itself always
comes from `o3video.video.prompt.build_messages` — one frame-prompt format for training, evaluation
and inference (docs/design.md §3).

Two optional per-record fields (extra fields are allowed in STGR records and kept as they are):
`instruction` replaces the task's answer-format line (a benchmark's own wording), and
`insert_key_frames: false` keeps the record's key frames for the rewards but out of the prompt.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from o3video.errors import InputError
from o3video.geometry import BoxConvention
from o3video.tasks import Task, parse_task
from o3video.train.train_config import DataConfig


class RecordMediaError(InputError):
    """A record whose video or image cannot be read; the message names the record and the file."""


@dataclass
class RecordPrompt:
    """The prompt of one record: chat messages (system + user) and what boxes need: the sizes, and the
    model's box convention (which the system prompt states, and targets and rewards write boxes in)."""

    messages: list[dict[str, Any]]
    input_size: tuple[int, int]  # (W, H) of every image in the prompt: the model-input pixel space
    source_size: tuple[int, int]  # (W, H) of the video or image as stored
    duration: float | None  # seconds (None for an image)
    frames: Any = None  # the SampledFrames (video) or the PIL image (visual QA), for pictures
    box_convention: BoxConvention = BoxConvention.PIXELS


def record_name(record: dict[str, Any]) -> str:
    return str(record.get("id") or record.get("video_path") or record.get("image_path") or "?")


class PromptBuilder:
    """Builds (and remembers, up to `memory` records) the prompt of each record.

    `root` is the folder media paths are relative to. `frame_kwargs` are the processor's resize rule
    (`o3video.models.frame_settings`: factor 28 for Qwen2.5-VL, 32 for Qwen3-VL, its pixel bounds), so
    frames reach the model at exactly the size their boxes are expressed in; without them, Qwen2.5-VL's
    rule. Frames are bounded by `data.max_pixels`, visual-QA images by `data.image_max_pixels`.
    `box_convention` is the model's (`o3video.models.box_convention_of`). The
    memory matters for RL, where each prompt is asked several times per step (one per generation)."""

    def __init__(self, data: DataConfig, root: str | Path, *, frame_kwargs: dict[str, int] | None = None,
                 memory: int = 4096, box_convention: BoxConvention | str = BoxConvention.PIXELS) -> None:
        self.data = data
        self.root = Path(root)
        self.box_convention = BoxConvention(box_convention)
        self.frame_kwargs = bounded(frame_kwargs, data.max_pixels)
        self.image_kwargs = bounded(frame_kwargs, data.image_max_pixels or data.max_pixels)
        self.memory = memory
        self._built: OrderedDict[str, RecordPrompt] = OrderedDict()

    def __call__(self, record: dict[str, Any]) -> RecordPrompt:
        key = f"{id(record)}:{record_name(record)}"
        hit = self._built.get(key)
        if hit is not None:
            self._built.move_to_end(key)
            return hit
        built = self.build(record)
        self._built[key] = built
        if len(self._built) > self.memory:
            self._built.popitem(last=False)
        return built

    def build(self, record: dict[str, Any]) -> RecordPrompt:
        from o3video.video import VideoError, blank_frames, blank_image
        from o3video.video.prompt import build_messages

        task = parse_task(record.get("task"))
        instruction = record.get("instruction")
        try:
            if task.uses_image:
                image, source = self._image(record)
                image = blank_image(image) if self.data.blank_frames else image
                messages = build_messages(image, record["question"], task, instruction=instruction,
                                          box_convention=self.box_convention)
                return RecordPrompt(messages, image.size, source, None, image, self.box_convention)
            frames = self._frames(record)
            frames = blank_frames(frames) if self.data.blank_frames else frames
        except (VideoError, OSError, UnidentifiedImageError, ValueError) as err:
            raise RecordMediaError(f"record {record_name(record)}: {err}") from None
        messages = build_messages(frames, record["question"], task, duration=frames.duration, instruction=instruction,
                                  box_convention=self.box_convention)
        return RecordPrompt(messages, tuple(frames.input_size), tuple(frames.source_size), frames.duration, frames,
                            self.box_convention)

    def _image(self, record: dict[str, Any]) -> tuple[Image.Image, tuple[int, int]]:
        from o3video.video.resize import input_size, resize_image

        path = self.root / record["image_path"]
        with Image.open(path) as image:
            image.load()
            source = image.size
            size = input_size(source, **self.image_kwargs)
            return resize_image(image, size), source

    def _frames(self, record: dict[str, Any]):
        from o3video.video import insert_key_frames, sample_frames

        path = self.root / record["video_path"]
        key_frames = record.get("key_frames") or []
        insert = self.data.insert_key_frames and record.get("insert_key_frames", True) and key_frames
        common = dict(mode=self.data.frame_mode, cache_dir=self.data.cache_dir, **self.frame_kwargs)
        if insert and not all(k.get("path") for k in key_frames):
            return sample_frames(path, self.data.num_frames, key_times=[float(k["time"]) for k in key_frames], **common)
        frames = sample_frames(path, self.data.num_frames, **common)
        return insert_key_frames(frames, key_frames, self.root) if insert else frames


def bounded(frame_kwargs: dict[str, int] | None, max_pixels: int) -> dict[str, int]:
    """The processor's resize rule with its area bound lowered to `max_pixels` (frames and visual-QA images
    have their own bounds, and the processor's is the larger of the two)."""
    kwargs = dict(frame_kwargs or {})
    kwargs["max_pixels"] = min(kwargs.get("max_pixels", max_pixels), max_pixels)
    return kwargs


def media_problem(record: dict[str, Any], root: Path, checked: dict[str, str | None] | None = None,
                  cache_dir: str | Path | None = None) -> str | None:
    """Why the record's media cannot be read (not a readable video, or image), else None; `checked`
    remembers each file's answer across records, and a video's probe is read from (or kept in) the frame
    cache `cache_dir` (`o3video frames-cache` fills it before training).

    Checked before training, so a bad file is reported (or skipped) up front rather than stopping the
    run at the step that first draws its record."""
    from o3video.video import VideoError, cached_probe

    checked = {} if checked is None else checked
    task = parse_task(record.get("task"))
    paths = [root / record["image_path" if task.uses_image else "video_path"]]
    paths += [root / k["path"] for k in record.get("key_frames") or [] if isinstance(k, dict) and k.get("path")]
    for index, path in enumerate(paths):
        if str(path) not in checked:
            try:
                if index == 0 and not task.uses_image:
                    cached_probe(path, cache_dir)
                else:
                    with Image.open(path) as image:
                        image.verify()
                checked[str(path)] = None
            except (VideoError, OSError, UnidentifiedImageError, ValueError) as err:
                checked[str(path)] = f"{path}: {err}"
        if checked[str(path)] is not None:
            return checked[str(path)]
    return None


def task_of(record: dict[str, Any]) -> Task:
    return parse_task(record.get("task"))


__all__ = ["PromptBuilder", "RecordMediaError", "RecordPrompt", "media_problem", "record_name", "task_of"]
