"""Perception questions as STGR records for SFT (replay): what the base learned, asked again while SFT teaches
the other tasks."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from o3video.data.synth.vocab import object_name
from o3video.geometry import BoxFormat, from_pixels
from o3video.grammar import Claim, render_claim
from o3video.lab.perception.questions import where_practice_record
from o3video.lab.perception.scenes import Scene, World, make_scene
from o3video.tasks import Task

REPLAY_FILE = "perception_sft.json"


def perception_records(out: str | Path, n: int, *, seed: int, objects: tuple[int, int] = (1, 1),
                       preset: str = "easy", video: float = 0.0, where: float = 0.0) -> Path:
    """`n` perception questions as STGR records for SFT (`out/perception_sft.json`, media in `out/images/` and
    `out/videos/`): frames of the synthetic preset's size, so the processor resizes them as it resizes the world's.
    Mixed into SFT, they keep asking what the base learned while the other tasks are learned (replay).

    A share `video` of them are asked of a still video of the frame (2-8 s at the preset's fps, rendered by the
    world's own encoder) as spatio-temporal QA, answered as the world's *where* questions are: the object cited
    with its box at a time, `The <obj>…</obj><box>[…]</box>at<t>T</t>s is in the top left.`, then the region in
    plain text. Why: with visual-QA replay alone, SFT on the world's video tasks erased the base's video-form
    localisation; still videos keep more of it (docs/experiments/).
    A share `where` of those still videos is asked as V-STaR's chain-1 *where* prompt instead, written by
    `o3video.lab.vstar_practice` (the one writer of that form): the seconds of a span listed in the question, the
    reasoning citing the box at each, the answer their JSON. Why: after SFT the demo's *where* answers did not copy
    the boxes their reasoning cites, nor the seconds the question lists (bench/where_answers.py); this asks for
    exactly that copy on videos whose answer is known to the base.
    The others are visual QA of the image, answered as the base was taught.
    Written once; an existing file is returned as it is."""
    from o3video.data.synth import get_preset
    from o3video.io import atomic_write_json

    out = Path(out)
    path = out / REPLAY_FILE
    if path.is_file():
        return path
    frames = get_preset(preset)
    world = World(frames.width, frames.height)
    rng = random.Random(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(n):
        scene = make_scene(rng, world, rng.randint(*objects))
        colour, shape, box = scene.objects[scene.target]
        name = object_name(colour, shape)
        record = {"id": f"perception-{index:05d}", "source": "synth-perception", "question": scene.question,
                  "image_size": [world.width, world.height]}
        if video > 0 and rng.random() < video:
            video_path, length = f"videos/{index:05d}.mp4", rng.randint(2, 8)
            _encode_still_video(scene, out, video_path, frames.fps, length, rng)
            asked = _where_record if where > 0 and rng.random() < where else _still_video_record
            record |= asked(scene, video_path, frames.fps, length, rng)
        else:
            image = f"images/{index:05d}.png"
            scene.image.save(out / image)
            claim = render_claim(Claim(name, (box,)))
            record |= {"task": Task.VISUAL.value, "answer": claim, "reasoning_process": claim, "image_path": image}
        records.append(record)
    atomic_write_json(path, records)
    return path


def _encode_still_video(scene: Scene, out: Path, video: str, fps: int, seconds: int, rng: random.Random) -> None:
    """`seconds` of `scene` standing still, written to `out/video` by the synthetic world's encoder (the objects
    drawn where the scene has them)."""
    from o3video.data.synth.render import encode_video
    from o3video.data.synth.scene_plan import ObjectPlan, ScenePlan

    width, height = scene.image.size
    count = seconds * fps
    plans = [ObjectPlan(i, s, b[2] - b[0], i, 0, count, [(0, b[0], b[1]), (count - 1, b[0], b[1])], [(0, c)])
             for i, (c, s, b) in enumerate(scene.objects)]
    plan = ScenePlan(Path(video).stem, "perception", width, height, fps, count, "plain", rng.randrange(2**31), plans)
    (out / video).parent.mkdir(parents=True, exist_ok=True)
    encode_video(plan, out / video)


def _still_video_record(scene: Scene, video: str, fps: int, seconds: int, rng: random.Random) -> dict[str, Any]:
    """The fields of a spatio-temporal record asking `scene`'s question of its still video `video`."""
    from o3video.data.synth.vocab import region_answer, region_of

    width, height = scene.image.size
    colour, shape, box = scene.objects[scene.target]
    second = rng.randrange(seconds)
    name = object_name(colour, shape)
    region = region_of((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, width, height)
    claim = render_claim(Claim(name, (box,), float(second)))
    relative = from_pixels(box, BoxFormat.XYXY_NORM, (width, height))
    return {"task": Task.SPATIO_TEMPORAL.value, "video_path": video, "box_format": "xyxy_px",
            "reasoning_process": f"The {claim} is in the {region}.", "answer": region_answer(region),
            "key_frames": [{"idx": second * fps, "time": float(second)}],
            "key_items": {str(second * fps): {name: [relative]}}, "insert_key_frames": False}


def _where_record(scene: Scene, video: str, fps: int, length: int, rng: random.Random) -> dict[str, Any]:
    """The fields of a record asking V-STaR's chain-1 *where* prompt of the still video `video` (`length` s of
    `scene`) about a span of 1-4 of its whole seconds."""
    start = rng.randrange(length)
    span = (start, min(length - 1, start + rng.randrange(4)))
    record = where_practice_record(scene, span, video=video, fps=fps, length=length)
    return {k: v for k, v in record.items() if k not in ("id", "source")}
