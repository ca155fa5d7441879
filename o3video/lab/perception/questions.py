"""A perception scene as a question: its chat messages through the project's prompt builder, and its training
example with the grounded answer the grammar writes (or the V-STaR practice record's answer)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from o3video.data.synth.vocab import object_name
from o3video.geometry import BoxConvention, pixels_to_convention
from o3video.grammar import Claim, render_claim, render_completion
from o3video.lab.perception.scenes import Scene, frame_times, video_duration
from o3video.tasks import Task, parse_task
from o3video.video.prompt import answer_instruction, build_messages
from o3video.video.sampling import Frame

# `convention` names the project's box conventions (o3video.geometry.BoxConvention) by short names.


def answer_text(scene: Scene, convention: BoxConvention, size: tuple[int, int]) -> str:
    """The grounded visual-QA completion naming the asked object and its box (in `convention`)."""
    colour, shape, box = scene.objects[scene.target]
    claim = render_claim(Claim(object_name(colour, shape), (pixels_to_convention(box, convention, size),)))
    return render_completion(claim, claim)


def messages(scene: Scene, convention: BoxConvention, record: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chat messages asking `scene`'s question in its layout (for the where layout, of its `where_record`,
    built here unless given)."""
    if scene.span is not None:
        record = asked_record(scene) if record is None else record
        return build_messages(_frames_of(scene), record["question"], parse_task(record["task"]),
                              duration=scene.duration, instruction=record["instruction"], box_convention=convention)
    question = f"{scene.context}\n{scene.question}" if scene.context else scene.question
    if not scene.frames:
        return build_messages(scene.image, question, Task.VISUAL, box_convention=convention)
    return build_messages(_frames_of(scene), question, Task.SPATIO_TEMPORAL, duration=video_duration(scene),
                          instruction=answer_instruction(Task.VISUAL), box_convention=convention)


def _frames_of(scene: Scene) -> list[Frame]:
    """The video form's labelled frames (`scene.image` each, unless the scene moves)."""
    return [Frame(t, image, index=k) for k, (t, (image, _)) in enumerate(zip(frame_times(scene), scene.clip()))]


def example(scene: Scene, convention: BoxConvention, size: tuple[int, int]) -> dict[str, Any]:
    """The SFT example of `scene`: its question as asked, answered as the grammar (or its practice record) writes it."""
    from o3video.train.sft_data import conversation

    record = None
    if scene.span is not None:
        from o3video.train.targets import target_completion

        record = asked_record(scene)
        text = target_completion(record, size, convention)
    else:
        text = answer_text(scene, convention, size)
    return conversation(messages(scene, convention, record), text)


def where_practice_record(scene: Scene, span: tuple[int, int], *, video: str, fps: int, length: int) -> dict[str, Any]:
    """The chain-1 *where* practice record (`o3video.lab.vstar_practice`, the one writer of that form) asking for
    `scene`'s named object over the whole seconds `span` (first, last) of `video`, `length` s of the scene standing
    still at `fps`; boxes in pixels of the scene's own frame."""
    from o3video.lab.vstar_practice import practice_records

    width, height = scene.record_size
    start, end = span
    name = object_name(scene.colour_at(scene.target, start), scene.objects[scene.target][1])
    boxes = [{"timestamp": t, "frame_index": t * fps, **dict(zip(("xmin", "ymin", "xmax", "ymax"),
                                                              scene.record_box(scene.target, t)))}
             for t in range(start, end + 1)]
    annotation = {"vid": Path(video).stem, "video_path": video, "width": width, "height": height, "fps": fps,
                  "frame_count": length * fps, "object": name, "timestamps": [start, end], "question": scene.question,
                  "answer": "", "temporal_question": "", "spatial_question": scene.question, "bboxes": boxes}
    return practice_records([annotation], kinds=("where_1",), frame_kwargs=unresized_frame_kwargs(width, height))[0]


def unresized_frame_kwargs(width: int, height: int) -> dict[str, int]:
    """The resize rule under which a `width` x `height` frame stays as it is: practice records written in its pixels."""
    return {"factor": math.gcd(width, height), "min_pixels": width * height, "max_pixels": width * height}


def where_record(scene: Scene) -> dict[str, Any]:
    """The practice record of a scene asked in the where layout (`scene.span`, `ask_where`)."""
    if scene.span is None:
        raise ValueError("where_record needs a scene asked in the where layout (scene.span)")
    return where_practice_record(scene, scene.span, video="still.mp4", fps=1, length=math.ceil(video_duration(scene)))


def asked_record(scene: Scene) -> dict[str, Any]:
    """The practice record a scene in the where layout is asked by: its own (`Scene.record`, a *what* question) or
    its `where_record`."""
    return scene.record or where_record(scene)
