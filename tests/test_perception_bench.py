"""Perception pre-training (o3video/lab/perception/pretrain.py) and its benchmark (bench/perception.py): scenes, scoring,
that a few seconds of training learn something measurable, and that the pre-training command resumes exactly."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from o3video.data.synth.vocab import COLOURS, object_name
from o3video.geometry import BoxConvention, box_iou, convention_to_pixels
from o3video.grammar import Claim, render_claim, render_completion
from o3video.lab.perception import learner as perception_learner
from o3video.lab.perception import pretrain as perception_pretrain
from o3video.lab.perception import questions as perception_questions
from o3video.lab.perception import replay as perception_replay
from o3video.lab.perception import scenes as perception_scenes
from o3video.lab.perception import scoring as perception_scoring
from o3video.lab.perception import world_scenes as perception_world_scenes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("perception_bench", ROOT / "bench" / "perception.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["perception_bench"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("perception")


def test_scenes_answers_and_scores(bench) -> None:
    world = perception_scenes.World()
    rng = random.Random(0)
    scenes = [perception_scenes.make_scene(rng, world, n) for n in (1, 2, 3) for _ in range(20)]
    for s in scenes:
        boxes = [b for _, _, b in s.objects]
        assert all(0 <= x1 < x2 <= world.width and 0 <= y1 < y2 <= world.height for x1, y1, x2, y2 in boxes)
        assert len({(c, sh) for c, sh, _ in s.objects}) == s.n  # every object is named uniquely
        assert all(box_iou(a, b) == 0 for i, a in enumerate(boxes) for b in boxes[i + 1:])
        pixels = np.asarray(s.image)
        assert (s.owner == s.target).any() and (pixels[s.owner == s.target] != pixels[0, 0]).any()
        for convention in (BoxConvention.RELATIVE_1000, "pixels"):
            back = perception_scoring.answer_box(perception_questions.answer_text(s, convention, (world.width, world.height)), convention,
                                    (world.width, world.height))
            assert box_iou(back, s.box) > 0.95
    blank = perception_scenes.make_scene(random.Random(0), world, 3, blank=True)
    assert len(np.unique(np.asarray(blank.image))) == 1  # the blind model's frames carry nothing

    perfect = perception_scoring.score([list(s.box) for s in scenes], scenes)
    assert perfect["iou"] == 1.0 and perfect["bind"] == 1.0 and perfect["parse"] == 1.0
    wrong = [list(next(b for i, (_, _, b) in enumerate(s.objects) if i != s.target)) for s in scenes if s.n > 1]
    assert perception_scoring.score(wrong, [s for s in scenes if s.n > 1])["bind"] == 0.0
    assert perception_scoring.score([None] * len(scenes), scenes)["parse"] == 0.0
    chance = bench.random_object_iou(scenes)
    assert chance["1"] == 1.0 and abs(chance["2"] - 0.5) < 1e-6 and abs(chance["3"] - 1 / 3) < 1e-3


def test_a_unique_world_never_repeats_a_colour_or_a_shape_in_a_frame() -> None:
    def repeats(world: perception_scenes.World) -> int:
        rng = random.Random(3)
        scenes = [perception_scenes.make_scene(rng, world, 3) for _ in range(200)]
        return sum(len({c for c, _, _ in s.objects}) < 3 or len({sh for _, sh, _ in s.objects}) < 3 for s in scenes)

    assert repeats(perception_scenes.World()) > 50  # the default world shares attributes between objects...
    assert repeats(perception_scenes.World(unique=True)) == 0  # ...the easy preset's rule does not


@pytest.mark.slow
def test_reverse_questions_ask_for_the_named_objects_box_and_keep_its_answer(bench, work) -> None:
    from o3video.grammar import parse_box

    world = perception_scenes.World()
    model, processor = bench.build("qwen3_vl", "small", 0, world, work, attn=False)
    recipe = perception_learner.Recipe(batch=64, objects=(1, 3))
    scenes = bench.AuxLearner(model, processor, world, recipe, reverse=0.5).batch()
    size = (world.width, world.height)
    reverse = [s for s in scenes if s.question.startswith("What is at <box>[")]
    assert 10 < len(reverse) < 54 and all(s.question.startswith("Where is the ") for s in scenes if s not in reverse)
    for s in reverse:
        asked = convention_to_pixels(parse_box(s.question.split("<box>")[1].split("</box>")[0]),
                                                BoxConvention.RELATIVE_1000, size)
        assert box_iou(asked, s.box) > 0.95
        assert perception_questions.example(s, BoxConvention.RELATIVE_1000, size)["messages"][-1]["content"][0]["text"] == \
            perception_questions.answer_text(s, BoxConvention.RELATIVE_1000, size)
    assert not any(s.ask_box for s in bench.AuxLearner(model, processor, world, recipe).batch())


@pytest.mark.slow
def test_video_form_questions_show_the_image_as_labelled_frames_and_supervise_every_frame(bench, work) -> None:
    from o3video.video.prompt import frame_label

    world = perception_scenes.World()
    model, processor = bench.build("qwen3_vl", "small", 0, world, work, attn=True)
    recipe = perception_learner.Recipe(batch=32, objects=(1, 3), attention_supervision=1.0, video=0.5)
    learner = bench.AuxLearner(model, processor, world, recipe, dense=1.0)
    scenes = learner.batch()
    assert 0 < sum(s.frames > 0 for s in scenes) < 32 and all(0 <= s.frames <= 8 for s in scenes)
    videos = [s for s in scenes if s.frames > 0]
    # the frames' spacing varies (0.25-2 s), so the labels' text varies too
    assert all(0.25 * s.frames - 0.05 <= s.duration <= 2 * s.frames + 0.05 for s in videos)
    assert len({round(s.duration / s.frames, 2) for s in videos}) > 1
    scene = next(s for s in scenes if s.frames > 1)
    content = perception_questions.messages(scene, BoxConvention.RELATIVE_1000)[1]["content"]
    images = [item for item in content if item["type"] == "image"]
    assert len(images) == scene.frames and all(item["image"] is scene.image for item in images)
    assert content[0]["text"].startswith(f"The video is {scene.duration:.1f} seconds long")
    last = (scene.frames - 1) * scene.duration / scene.frames
    assert [item["text"] for item in content if item["type"] == "text"][-2].strip() == frame_label(scene.frames, last)
    assert content[-1]["text"].startswith(f"\n{scene.question}")
    single = perception_scenes.Scene(scene.image, scene.objects, scene.target, scene.owner)
    size = (world.width, world.height)
    for form in (single, scene):  # one image, then the same image as several frames: each has a finite loss
        inputs = learner.collate([perception_questions.example(form, BoxConvention.RELATIVE_1000, size)])
        with torch.no_grad():
            out = model(**inputs, output_attentions=True)
        assert torch.isfinite(perception_learner.attention_loss(model, [form], inputs, out.attentions))
    learner.recipe.batch, learner.recipe.video = 4, 1.0
    assert learner.step() > 0  # a batch in the video form trains, its dense labels one set per frame
    learner.recipe.video, learner.recipe.context = 0.0, 1.0  # every question preceded by 1-4 context sentences
    for scene in learner.batch():
        sentences = [f"{part}." for part in scene.context.removesuffix(".").split(". ")]
        assert 1 <= len(sentences) <= 4 and set(sentences) <= set(perception_scenes.CONTEXT)
        asked = perception_questions.messages(scene, BoxConvention.RELATIVE_1000)[1]["content"][-1]["text"]
        assert asked.startswith(f"{scene.context}\n{scene.question}")


def test_where_layout_asks_vstars_chain_1_prompt_of_eight_labelled_frames_and_answers_the_named_box() -> None:
    from o3video.data.vstar import parse_spatial_answer
    from o3video.grammar import parse

    world, rng = perception_scenes.World(), random.Random(3)
    scenes = [perception_scenes.make_scene(rng, world, rng.randint(1, 3)) for _ in range(40)]
    for scene in scenes:
        perception_scenes.ask_where(scene, rng)
    spans = [s.span for s in scenes]
    assert len(set(spans)) > 5 and all(0 <= a <= b < s.duration and b - a < 4 for (a, b), s in zip(spans, scenes))
    for scene in scenes[:6]:
        first, last = scene.span
        content = perception_questions.messages(scene, BoxConvention.RELATIVE_1000)[1]["content"]
        assert [item["image"] for item in content if item["type"] == "image"] == [scene.image] * 8
        assert content[0]["text"].startswith(f"The video is {scene.duration:.1f} seconds long")
        asked = content[-1]["text"]
        assert f"Please answer the question about the video: {scene.question}" in asked
        assert f"within the time range {list(range(first, last + 1))} provided" in asked
        completion = perception_questions.example(scene, BoxConvention.RELATIVE_1000, (world.width, world.height))["messages"][-1]["content"][0]["text"]
        parsed = parse(completion)
        truth = [round(v * 1000 / side) for v, side in zip(scene.box, (128, 96, 128, 96))]
        answer = parse_spatial_answer(parsed.answer)
        assert list(answer) == [str(t) for t in range(first, last + 1)]
        assert all([round(v) for v in box] == truth for box in answer.values())
        assert [c.time for c in parsed.claims] == [float(t) for t in range(first, last + 1)]
        assert all([round(v) for v in c.boxes[0]] == truth for c in parsed.claims)
        assert perception_scoring.answer_box(completion, BoxConvention.RELATIVE_1000, (world.width, world.height)) == pytest.approx(scene.box, abs=1)
    with pytest.raises(ValueError, match="where layout"):
        perception_questions.where_record(perception_scenes.make_scene(rng, world, 1))


def test_moving_scenes_draw_each_frame_at_its_time_and_answer_each_asked_second_with_its_own_box() -> None:
    from o3video.data.synth.vocab import COLOURS, object_name
    from o3video.data.vstar import parse_spatial_answer
    from o3video.grammar import parse

    world, rng = perception_scenes.World(), random.Random(5)
    size = (world.width, world.height)
    scenes = []
    for _ in range(60):
        scene = perception_scenes.make_scene(rng, world, rng.randint(1, 3))
        perception_scenes.ask_where(scene, rng)
        perception_scenes.add_motion(scene, rng)
        scenes.append(scene)
    moved = [s for s in scenes if len({s.box_at(s.target, t) for t in range(s.span[0], s.span[1] + 1)}) > 1]
    recoloured = [s for s in scenes if s.motions[s.target].colour is not None]
    assert len(moved) > 5 and len(recoloured) > 10
    for scene in scenes:
        first, last = scene.span
        # the asked span is all one colour, the one the question names
        colours = {scene.colour_at(scene.target, t) for t in range(first, last + 1)}
        assert colours == {scene.colour_at(scene.target, first)}
        assert object_name(colours.pop(), scene.objects[scene.target][1]) in scene.question
        clip = scene.clip()
        assert len(clip) == 8
        for t, (image, owner) in zip(perception_scenes.frame_times(scene), clip):
            x1, y1, x2, y2 = scene.box_at(scene.target, t)
            ys, xs = np.nonzero(owner == scene.target)  # drawn last: the named object is whole in every frame
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x1, y1, x2, y2)
            pixel = np.asarray(image)[ys[len(ys) // 2], xs[len(xs) // 2]]
            assert tuple(pixel) == tuple(COLOURS[scene.colour_at(scene.target, t)])
    for scene in moved[:4] + recoloured[:4]:
        first, last = scene.span
        completion = perception_questions.example(scene, BoxConvention.RELATIVE_1000, size)["messages"][-1]["content"][0]["text"]
        answer = parse_spatial_answer(parse(completion).answer)
        for t in range(first, last + 1):
            truth = [round(v * 1000 / side) for v, side in zip(scene.box_at(scene.target, t), (128, 96, 128, 96))]
            assert [round(v) for v in answer[str(t)]] == truth
        assert perception_scoring.where_viou(completion, scene, BoxConvention.RELATIVE_1000, size) == pytest.approx(1.0, abs=0.05)
        content = perception_questions.messages(scene, BoxConvention.RELATIVE_1000)[1]["content"]
        images = [item["image"] for item in content if item["type"] == "image"]
        assert [np.asarray(i).tobytes() for i in images] == [np.asarray(i).tobytes() for i, _ in scene.clip()]
    still = next(s for s in scenes if s not in moved)
    assert perception_scoring.where_viou("<answer>{}</answer>", still, BoxConvention.RELATIVE_1000, size) == 0.0
    with pytest.raises(ValueError, match="where layout"):
        perception_scenes.add_motion(perception_scenes.make_scene(rng, world, 1), rng)


def test_world_scenes_show_the_worlds_own_frames_and_answer_its_visible_boxes_at_each_asked_second() -> None:
    from o3video.data.synth.render import Rasteriser
    from o3video.data.vstar import parse_spatial_answer
    from o3video.geometry import box_iou
    from o3video.grammar import parse
    from o3video.lab.perception.world_scenes import event_questions, world_scene

    world, rng = perception_scenes.World(), random.Random(6)
    size = (world.width, world.height)
    scenes = [world_scene(rng, world, events=0.5) for _ in range(24)]
    assert len({s.plan.background_seed for s in scenes}) == 24  # a new video each time
    asked_events = [s for s in scenes if s.clause]
    assert 3 < len(asked_events) < 24
    for scene in scenes:
        plan, first, last = scene.plan, *scene.span
        # the frames shown are the world's own, evenly spaced over the video, at the model's frame size
        times = perception_scenes.frame_times(scene)
        assert len(times) == 8 and times[0] == 0.0 and times[-1] == round((plan.num_frames - 1) / plan.fps, 2)
        for t, (image, owner) in zip(times, scene.clip()):
            drawn = Rasteriser(plan).draw(round(t * plan.fps)).image
            assert image.size == size and owner.shape == (world.height, world.width)
            assert np.abs(np.asarray(image.resize((plan.width, plan.height))).astype(int) - drawn).mean() < 12
            ys, xs = np.nonzero(owner == scene.target)  # the attention supervision's map: where the object shows
            if len(xs):
                assert box_iou([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], scene.box_at(scene.target, t)) > 0.8
        # the named object keeps one colour over the asked span and is named by it
        name = plan.objects[scene.target].name_at(first * plan.fps)
        assert scene.question.startswith(f"Where is the {name}")
        assert {plan.objects[scene.target].colour_at(t * plan.fps) for t in range(first, last + 1)} == \
               {plan.objects[scene.target].colour_at(first * plan.fps)}
        # each asked second's answer box is the object's visible box then, on the model's frame
        completion = perception_questions.example(scene, BoxConvention.RELATIVE_1000, size)["messages"][-1]["content"][0]["text"]
        answer = parse_spatial_answer(parse(completion).answer)
        assert list(answer) == [str(t) for t in range(first, last + 1)]
        for t in range(first, last + 1):
            x1, y1, x2, y2 = scene.truth.tracks[scene.target].box[t * plan.fps]
            sx, sy = world.width / plan.width, world.height / plan.height
            truth = [x1 * sx, y1 * sy, x2 * sx, y2 * sy]
            assert answer[str(t)] == pytest.approx([v * 1000 / side for v, side in zip(truth, (128, 96, 128, 96))],
                                                   abs=0.51)
    for scene in asked_events:  # the world's own event question about this video, clause and span
        assert (scene.target, scene.span, scene.clause) in event_questions(scene.plan, scene.truth)
        assert scene.clause.split()[0] in ("while", "when")
    blind = world_scene(random.Random(7), world, blank=True)
    assert all(len(np.unique(np.asarray(image))) == 1 for image, _ in blind.clip())
    assert any((owner == blind.target).any() for _, owner in blind.clip())  # supervision still knows where it is


def test_world_what_questions_are_the_worlds_own_asked_as_vstars_what_prompt_and_answered_with_its_answer() -> None:
    from o3video.data.synth.vocab import object_name
    from o3video.grammar import parse

    world, rng = perception_scenes.World(), random.Random(8)
    scenes = [perception_world_scenes.world_scene(rng, world, what=0.5) for _ in range(24)]
    asked = [s for s in scenes if s.record is not None]
    assert 3 < len(asked) < 24
    kinds = set()
    for scene in asked:
        obj, record = scene.plan.objects[scene.target], scene.record
        assert (scene.target, scene.vstar, record) in perception_world_scenes.practice_questions(scene.plan, scene.truth)
        assert scene.answer_span is None  # every frame may show what a what question asks
        question = record["question"]
        assert any(f"the {name}" in question for name in obj.names())  # the question names the asked object
        if "What colour does" in question:  # the colour it turns into, by the world's own timeline
            kinds.add("colour")
            turned = [c for (_, was), (_, c) in zip(obj.colours, obj.colours[1:])
                      if f"What colour does the {object_name(was, obj.shape)} turn?" in question]
            assert turned and record["answer"] == f"it turns {turned[0]}"
        elif "touch" in question or "in front of" in question:  # another object of the video, by its name
            kinds.add("other")
            others = {n for o in scene.plan.objects if o.id != obj.id for n in o.names()}
            assert record["answer"] in others
        user = perception_questions.messages(scene, BoxConvention.RELATIVE_1000)[-1]["content"]
        text = " ".join(part["text"] for part in user if part["type"] == "text")
        assert question in text and "Answer in a short sentence." in text
        assert sum(part["type"] == "image" for part in user) == 8
        completion = perception_questions.example(scene, BoxConvention.RELATIVE_1000, (world.width, world.height))["messages"][-1]["content"][0]["text"]
        assert parse(completion).answer == record["answer"]
    assert kinds == {"colour", "other"}
    assert all(s.record is None and s.question.startswith("Where is the") for s in scenes if s not in asked)


def test_what_scores_rate_answers_as_the_exact_judge_and_a_blank_check_sees_no_objects(bench, work,
                                                                                      monkeypatch) -> None:
    import o3video.models

    world = perception_scenes.World()
    model, processor = bench.build("qwen3_vl", "small", 0, world, work, attn=True)
    scenes = perception_world_scenes.world_eval_set(world, 6, seed=3, what=1.0)
    answers = iter([s.record["answer"] for s in scenes])
    seen = []

    def truthful(_model, _processor, batch, **_):
        seen.extend(part["image"] for messages in batch for part in messages[-1]["content"] if part["type"] == "image")
        return [[f"<think>I look.</think><answer>The {next(answers)}.</answer>"] for _ in batch]

    monkeypatch.setattr(o3video.models, "generate", truthful)
    assert perception_scoring.evaluate_what(model, processor, scenes, BoxConvention.RELATIVE_1000)["accuracy"] == 1.0
    assert sum(len(np.unique(np.asarray(image))) > 1 for image in seen) > 24  # the videos' own frames
    seen.clear()
    one = scenes[0].record["answer"]
    monkeypatch.setattr(o3video.models, "generate", lambda _m, _p, batch, **_: [[f"<answer>{one}</answer>"]] * len(batch))
    constant = perception_scoring.evaluate_what(model, processor, scenes, BoxConvention.RELATIVE_1000, blank=True)
    share = sum(s.record["answer"] == one for s in scenes) / len(scenes)
    assert constant["accuracy"] == pytest.approx(share, abs=1e-4) and constant["one_answer"] == 1.0
    assert constant["most_frequent"] >= share > 0
    monkeypatch.undo()
    # a what question trains with the attention supervision on the asked object, and a real model answers it
    recipe = perception_learner.Recipe(batch=2, objects=(1, 3), attention_supervision=1.0, world=1.0, what=1.0)
    learner = perception_learner.Learner(model, processor, world, recipe, seed=4)
    assert all(s.record is not None for s in learner.batch())
    assert learner.step() > 0
    scored = perception_scoring.evaluate_what(model, processor, scenes[:2], BoxConvention.RELATIVE_1000, max_new_tokens=8)
    assert 0.0 <= scored["accuracy"] <= 1.0 and scored["example"]


def test_world_when_questions_are_the_worlds_own_chain_1_when_and_supervise_only_the_frames_of_their_span() -> None:
    from o3video.data.vstar import parse_temporal_answer

    world, rng = perception_scenes.World(), random.Random(9)
    scenes = [perception_world_scenes.world_scene(rng, world, when=0.5) for _ in range(24)]
    asked = [s for s in scenes if s.record is not None]
    assert 3 < len(asked) < 24
    inside_and_outside = 0
    for scene in asked:
        record, vstar = scene.record, scene.vstar
        assert (scene.target, vstar, record) in perception_world_scenes.practice_questions(scene.plan, scene.truth, kind="when_1")
        assert record["vstar_kind"] == "when_1" and record["question"].endswith(vstar["temporal_question"])
        assert scene.answer_span == tuple(vstar["timestamps"])
        completion = perception_questions.example(scene, BoxConvention.RELATIVE_1000, (world.width, world.height))["messages"][-1]["content"][0]["text"]
        assert tuple(parse_temporal_answer(completion)) == scene.answer_span
        # attention goes to the asked object in the frames inside the span, and nowhere in the frames outside it
        tokens = perception_learner.attended_tokens(scene, 32).reshape(8, -1)
        start, end = scene.answer_span
        inside = [start <= t <= end for t in perception_scenes.frame_times(scene)]
        assert not tokens[[not k for k in inside]].any()
        assert all(tokens[k].any() for k in range(8) if inside[k] and scene.truth.tracks[scene.target].box[
            scene._frame(perception_scenes.frame_times(scene)[k])] is not None)
        inside_and_outside += 0 < sum(inside) < 8
    assert inside_and_outside >= 3
    assert all(s.answer_span is None and s.question.startswith("Where is the") for s in scenes if s not in asked)


def test_presence_questions_show_the_object_in_a_run_of_frames_and_answer_their_labels(bench, work) -> None:
    from o3video.data.vstar import parse_temporal_answer

    world, rng = perception_scenes.World(), random.Random(5)
    for _ in range(12):
        scene = bench.presence_scene(rng, world)
        first, last = scene.shows
        assert 0 <= first < last <= 7
        shown = [len(np.unique(np.asarray(image))) > 1 for image, _ in scene.clip()]
        assert shown == [first <= k <= last for k in range(8)]
        user = perception_questions.messages(scene, BoxConvention.RELATIVE_1000)[-1]["content"]
        labels = [part["text"] for part in user if part["type"] == "text"]
        start, end = scene.answer_span  # the labels of the first and last frames that show it
        assert f"Frame {first + 1} at {start}s: " in labels[first + 1] and f"Frame {last + 1} at {end}s: " in labels[last + 1]
        assert "When can the" in labels[-1] and object_name(*scene.objects[0][:2]) in labels[-1]
        completion = perception_questions.example(scene, BoxConvention.RELATIVE_1000, (world.width, world.height))["messages"][-1]["content"][0]["text"]
        assert tuple(parse_temporal_answer(completion)) == scene.answer_span
        tokens = perception_learner.attended_tokens(scene, 32).reshape(8, -1)
        assert [bool(row.any()) for row in tokens] == [first <= k <= last for k in range(8)]
    model, processor = bench.build("qwen3_vl", "small", 0, world, work, attn=False)
    learner = bench.AuxLearner(model, processor, world, perception_learner.Recipe(batch=4), presence=1.0, blank=True)
    batch = learner.batch()
    assert all(isinstance(s, bench.PresenceScene) and s.blank for s in batch)
    assert all(len(np.unique(np.asarray(image))) == 1 for s in batch for image, _ in s.clip())  # the blind sees none
    assert learner.step() > 0


def test_presence_questions_with_rivals_show_each_object_in_its_own_run_and_ask_the_named_one(bench) -> None:
    world, rng = perception_scenes.World(), random.Random(7)
    overlapping = 0
    for _ in range(12):
        scene = bench.presence_scene(rng, world, rivals=2)
        assert scene.n == 3 and len(scene.runs) == 3 and scene.shows == scene.runs[scene.target]
        for k, (image, owner) in enumerate(scene.clip()):
            shown = {i for i, (first, last) in enumerate(scene.runs) if first <= k <= last}
            assert set(np.unique(owner).tolist()) - {-1} == shown  # each object in its own run only
            pixels = np.asarray(image)
            for i in range(scene.n):  # drawn in its colour where shown, background where not
                inside = owner == i
                if i in shown:
                    assert (pixels[inside] == COLOURS[scene.objects[i][0]]).all()
                else:
                    assert not inside.any()
            assert (pixels[owner == -1] == scene.background).all()
        name = object_name(*scene.objects[scene.target][:2])
        assert f"When can the {name} be seen?" in scene.record["question"]
        assert list(scene.answer_span) == [scene.times[scene.shows[0]], scene.times[scene.shows[1]]]
        tokens = perception_learner.attended_tokens(scene, 32).reshape(8, -1)  # only the named object, only in its run
        first, last = scene.shows
        assert [bool(row.any()) for row in tokens] == [first <= k <= last for k in range(8)]
        overlapping += any(r[0] <= last and first <= r[1] for i, r in enumerate(scene.runs) if i != scene.target)
    assert overlapping >= 3  # a rival often shares frames with the named object, so its presence does not answer


def test_presence_answers_are_matched_to_the_named_objects_run_a_rivals_or_any_objects(bench) -> None:
    world, rng = perception_scenes.World(), random.Random(11)
    scenes = [bench.presence_scene(rng, world, rivals=1) for _ in range(12)]
    scenes = [s for s in scenes if s.runs[1 - s.target][0] < s.runs[1 - s.target][1]]  # a one-frame run spans no time
    assert len(scenes) >= 6
    span = lambda scene, run: [scene.times[run[0]], scene.times[run[1]]]
    rival = lambda scene: scene.runs[1 - scene.target]
    hull = lambda scene: (min(r[0] for r in scene.runs), max(r[1] for r in scene.runs))
    assert bench.presence_matches(scenes, [span(s, s.shows) for s in scenes])["named"] == 1.0
    assert bench.presence_matches(scenes, [span(s, rival(s)) for s in scenes])["rival"] == 1.0
    any_object = bench.presence_matches(scenes, [span(s, hull(s)) for s in scenes])
    assert any_object["any"] == 1.0 and any_object["named"] < 1.0  # "which frames show something" is not the answer
    assert bench.presence_matches(scenes, [None] * len(scenes)) == {"named": 0.0, "rival": 0.0, "any": 0.0}


def test_the_when_picture_of_rivals_runs_shows_whose_run_the_seeing_answers_match(bench, tmp_path, monkeypatch) -> None:
    def when(tiou: float, named: float, any_object: float) -> dict:
        return {"tiou": tiou, "whole": 0.29, "prior": 0.38, "by_event": {"presence": [tiou, 96]},
                "matches": {"named": named, "rival": 0.2, "any": any_object}}

    files = []
    for seed in range(3):  # three seeds: 3 x 2 lines in the tIoU panels, 3 x 3 in the match panel
        curve = [{"min": m, "model_when": when(0.1 * m, 0.1 * m, 0.5 + seed / 10), "blind_when": when(0.2, 0.2, 0.3)}
                 for m in (0.0, 3.0)]
        files.append(tmp_path / f"seed{seed}.json")
        files[-1].write_text(json.dumps({"curve": curve}))
    drawn = {}
    keep = lambda path, panels, **_: drawn.setdefault("panels", panels) and Path(path)
    monkeypatch.setattr(bench, "line_panels", keep)
    assert bench.main(["when", str(tmp_path / "when.png"), *map(str, files)]) == 0
    assert len(drawn["panels"]) == 2  # overall (the one event kind, presence, is no panel of its own), whose run
    match = drawn["panels"][-1]
    labels = [f"seed{s} {whose}" for s in range(3) for whose in ("named", "rival", "any")]
    assert [label for label, _, _ in match.lines] == labels
    assert match.lines[0][2] == pytest.approx([0.0, 0.3])  # seed0 named
    assert match.lines[5][2] == pytest.approx([0.6, 0.6])  # seed1 any
    # 15 labels in all, more than matplotlib's 10 default colours: each still gets a colour of its own
    from bench.pictures import line_panels

    colours = {}
    monkeypatch.setattr("matplotlib.axes.Axes.plot", lambda ax, *a, label, color, **k: colours.setdefault(label, color))
    line_panels(tmp_path / "when.png", drawn["panels"], sharey=True)
    assert len(colours) == 15 and len(set(colours.values())) == 15


def test_a_frame_reader_answers_from_halfway_to_the_neighbouring_frames() -> None:
    times = [0.0, 1.0, 2.0, 3.0]
    assert perception_scoring.frame_reader_span(times, (0.8, 2.4), 4.0) == (0.5, 2.5)
    assert perception_scoring.frame_reader_span(times, (2.5, 4.0), 4.0) == (2.5, 4.0)  # the last frame: to the video's end
    assert perception_scoring.frame_reader_span(times, (-1.0, 0.2), 4.0) == (0.0, 0.5)
    assert perception_scoring.frame_reader_span(times, (1.2, 1.4), 4.0) == (0.5, 1.5)  # no frame inside: around the nearest


def test_when_scores_are_vstars_tiou_by_event_with_the_whole_video_and_the_question_prior(bench, work,
                                                                                        monkeypatch) -> None:
    import inspect

    import o3video.models

    world = perception_scenes.World()
    model, processor = bench.build("qwen3_vl", "small", 0, world, work, attn=True)
    scenes = perception_world_scenes.world_eval_set(world, 8, seed=3, when=1.0)
    # the default answer budget holds the completions the model is trained to give (48 tokens cut them before the end)
    budget = inspect.signature(perception_scoring.evaluate_when).parameters["max_new_tokens"].default
    targets = [perception_questions.example(s, BoxConvention.RELATIVE_1000, (world.width, world.height))["messages"][-1]["content"][0]["text"]
               for s in scenes]
    assert max(len(processor.tokenizer(t)["input_ids"]) for t in targets) < budget
    answers = iter([s.record["answer"] for s in scenes])
    monkeypatch.setattr(o3video.models, "generate",
                        lambda _m, _p, batch, **_: [[f"<answer>{next(answers)}</answer>"] for _ in batch])
    truthful = perception_scoring.evaluate_when(model, processor, scenes, BoxConvention.RELATIVE_1000)
    assert truthful["tiou"] == 1.0 and truthful["parse"] == 1.0
    assert set(truthful["by_event"]) == {s.vstar["event"] for s in scenes}
    assert 0 < truthful["whole"] < truthful["prior"] < 1  # a span per kind fitted on 8 records beats the whole video
    assert truthful["whole"] < truthful["reader"] < 1  # 8 frames bound what a reader can answer
    assert truthful["spans"] == [[round(v, 2) for v in s.vstar["timestamps"]] for s in scenes]  # each answer's span
    seen, durations = [], iter([s.duration for s in scenes])

    def whole(_model, _processor, batch, **_):
        seen.extend(part["image"] for messages in batch for part in messages[-1]["content"] if part["type"] == "image")
        return [[f"<answer>[0.0, {next(durations)}]</answer>"] for _ in batch]

    monkeypatch.setattr(o3video.models, "generate", whole)
    answered = perception_scoring.evaluate_when(model, processor, scenes, BoxConvention.RELATIVE_1000, blank=True)
    assert answered["tiou"] == pytest.approx(truthful["whole"], abs=1e-4)
    assert all(len(np.unique(np.asarray(image))) == 1 for image in seen)  # blank frames
    monkeypatch.undo()
    # a when question trains with the attention supervision, and a real model answers it
    recipe = perception_learner.Recipe(batch=2, objects=(1, 3), attention_supervision=1.0, world=1.0, when=1.0)
    learner = perception_learner.Learner(model, processor, world, recipe, seed=4)
    assert all(s.answer_span is not None for s in learner.batch())
    assert learner.step() > 0
    scored = perception_scoring.evaluate_when(model, processor, scenes[:2], BoxConvention.RELATIVE_1000, max_new_tokens=8)
    assert 0.0 <= scored["tiou"] <= 1.0 and scored["example"]


def test_a_clause_after_the_name_keeps_the_asked_object_and_may_name_another_one_of_the_frame() -> None:
    from o3video.data.synth.vocab import object_name

    world, rng = perception_scenes.World(), random.Random(4)
    seen = set()
    for _ in range(200):
        scene = perception_scenes.make_scene(rng, world, rng.randint(1, 3))
        colour, shape, _ = scene.objects[scene.target]
        plain = scene.question
        perception_scenes.add_clause(scene, rng)
        assert scene.question.startswith(plain[:-1] + " ") and scene.question.endswith("?")
        clause = scene.clause
        seen.add(clause)
        named = [object_name(c, s) for c, s, _ in scene.objects]
        for template in (t for t in perception_scenes.CLAUSES if "{other}" in t):
            before, after = template.split("{other}")
            if clause.startswith(before) and clause.endswith(after) and "{" not in clause:
                other = clause[len(before):len(clause) - len(after)]  # never the asked object; the frame's if it has others
                assert other != object_name(colour, shape) and (other in named or scene.n == 1)
        if clause.startswith("while it is "):
            assert clause == f"while it is {colour}"
    assert len({c.split(' the ')[0] for c in seen}) >= 6  # the templates vary
    perception_scenes.ask_where(scene, rng)
    assert f"Please answer the question about the video: {scene.question}" in perception_questions.messages(scene, BoxConvention.RELATIVE_1000)[1]["content"][-1]["text"]


@pytest.mark.slow
def test_where_layout_questions_train_with_attention_on_the_named_object_in_every_frame(bench, work) -> None:
    world = perception_scenes.World()
    model, processor = bench.build("qwen3_vl", "small", 0, world, work, attn=True)
    recipe = perception_learner.Recipe(batch=16, objects=(1, 3), attention_supervision=1.0, video=0.5, where=0.5)
    learner = perception_learner.Learner(model, processor, world, recipe, seed=2)
    scenes = learner.batch()
    assert 0 < sum(s.span is not None for s in scenes) < 16 and any(s.frames and s.span is None for s in scenes)
    scene = next(s for s in scenes if s.span is not None)
    inputs = learner.collate([perception_questions.example(scene, BoxConvention.RELATIVE_1000, (world.width, world.height))])
    with torch.no_grad():
        out = model(**inputs, output_attentions=True)
    assert (inputs["input_ids"] == model.config.image_token_id).sum() == 8 * 12  # 8 frames of 12 tokens
    assert torch.isfinite(perception_learner.attention_loss(model, [scene], inputs, out.attentions))
    learner.recipe.batch, learner.recipe.where = 2, 1.0
    assert learner.step() > 0
    for clause in (False, True):
        scored = perception_scoring.evaluate(model, processor, perception_scenes.eval_set(world, [1, 2], 1), BoxConvention.RELATIVE_1000,
                                     (world.width, world.height), where=True, clause=clause)
        assert 0.0 <= scored["iou"] <= 1.0 and 0.0 <= scored["viou"] <= 1.0 and scored["example"]


@pytest.mark.slow
def test_moving_scenes_train_with_attention_on_the_named_object_where_each_frame_shows_it(bench, work) -> None:
    world = perception_scenes.World()
    model, processor = bench.build("qwen3_vl", "small", 0, world, work, attn=True)
    recipe = perception_learner.Recipe(batch=16, objects=(2, 3), attention_supervision=1.0, where=1.0, motion=1.0)
    learner = perception_learner.Learner(model, processor, world, recipe, seed=2)
    size = (world.width, world.height)

    def best_tokens(scene: perception_scenes.Scene) -> list[int]:  # per frame, the 32-pixel token holding most of it
        return [int(perception_learner.object_shares(owner, scene.n, 32)[scene.target].argmax()) for _, owner in scene.clip()]

    scene = next(s for s in learner.batch() if len(set(best_tokens(s))) > 1)  # it crosses tokens between frames
    inputs = learner.collate([perception_questions.example(scene, BoxConvention.RELATIVE_1000, size)])
    images = (inputs["input_ids"][0] == model.config.image_token_id).nonzero().squeeze(-1)
    assert len(images) == 8 * 12
    answer = (inputs["labels"][0] != -100).nonzero().squeeze(-1) - 1

    def loss_with_attention_on(tokens: list[int]) -> float:
        """The attention loss were every answer position to attend evenly to these image tokens."""
        attention = torch.zeros(1, 1, inputs["input_ids"].shape[1], inputs["input_ids"].shape[1])
        for token in tokens:
            attention[0, 0, answer, images[token]] += 1 / len(tokens)
        layers = model.config.text_config.num_hidden_layers
        return perception_learner.attention_loss(model, [scene], inputs, (attention,) * layers).item()

    where_it_is = [12 * k + token for k, token in enumerate(best_tokens(scene))]
    where_it_was = [12 * k + best_tokens(scene)[0] for k in range(8)]  # its first frame's place, in every frame
    assert loss_with_attention_on(where_it_is) < 1e-3
    assert loss_with_attention_on(where_it_was) > 0.1
    learner.recipe.batch = 2
    assert learner.step() > 0
    scored = perception_scoring.evaluate(model, processor, perception_scenes.eval_set(world, [1, 2], 1), BoxConvention.RELATIVE_1000,
                                 (world.width, world.height), where=True, motion=True)
    assert 0.0 <= scored["viou"] <= 1.0 and scored["example"]


@pytest.mark.slow
def test_a_few_seconds_of_training_lower_the_held_out_loss(bench, work) -> None:
    """Fifteen steps on single objects must lower the answer loss on a fixed held-out batch well below the untrained
    model's (broken labels, a frozen optimizer or a loss on the prompt would not), and attention supervision must
    pull the supervised heads onto the named object (its auxiliary loss falls)."""
    torch.manual_seed(0)
    world = perception_scenes.World()
    model, processor = bench.build("qwen3_vl", "small", 0, world, work, attn=True)
    learner = bench.AuxLearner(model, processor, world, perception_learner.Recipe(
        batch=6, objects=(1, 1), lr=3e-3, schedule="constant", warmup=1, attention_supervision=1.0))
    held_out = [perception_scenes.make_scene(random.Random(99 + i), world, 1) for i in range(6)]
    inputs = learner.collate([perception_questions.example(s, BoxConvention.RELATIVE_1000, (world.width, world.height)) for s in held_out])

    def losses() -> tuple[float, float]:
        with torch.no_grad():
            out = model(**inputs, output_attentions=True)
            return out.loss.item(), perception_learner.attention_loss(model, held_out, inputs, out.attentions).item()

    before, attention_before = losses()
    for _ in range(15):
        learner.step()
    after, attention_after = losses()
    assert after < 0.6 * before, (before, after)
    assert attention_after < attention_before - 0.2, (attention_before, attention_after)


@pytest.mark.slow
def test_benchmark_run_prints_a_curve_with_both_baselines(bench, work, capsys, monkeypatch) -> None:
    out = work / "curve.json"
    written = []  # what the file held after each write: the curve so far, after every evaluation
    real_write = bench.atomic_write_json
    def write(path, data):
        written.append((len(data["curve"]), data["finished"]))
        return real_write(path, data)

    monkeypatch.setattr(bench, "atomic_write_json", write)
    bench.main(["--minutes", "0.05", "--eval-every", "0.05", "--eval-per-count", "2", "--batch", "2",
                "--work", str(work), "--json", str(out)])
    points = written[-1][0]
    assert points >= 2 and written == [*((n, False) for n in range(1, points + 1)), (points, True)]
    printed = capsys.readouterr().out
    assert "blind" in printed and "mean-box" in printed
    result = json.loads(out.read_text())
    assert result["header"]["image_tokens"] == 12 and set(result["header"]["random_object_iou_by_n"]) == {"1", "2", "3"}
    last = result["curve"][-1]
    assert last["steps"] > 0 and last["blind_steps"] > 0
    for who in ("model", "blind", "mean_box"):
        assert set(last[who]["iou_by_n"]) == {"1", "2", "3"} and 0 <= last[who]["iou"] <= 1
    for row in result["curve"]:  # a curve whose model binds, so the picture has points to draw
        row["model"]["bind"] = 0.5
    out.write_text(json.dumps(result))
    assert bench.main(["plot", str(work / "curves.png"), str(out)]) == 0
    assert (work / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_a_when_run_scores_when_for_model_and_blind_and_draws_their_curves(bench, work, capsys, monkeypatch) -> None:
    out = work / "when.json"
    bench.main(["--world", "1", "--when", "1", "--minutes", "0.03", "--eval-every", "0.03", "--eval-per-count", "1",
                "--when-eval", "3", "--batch", "2", "--work", str(work), "--json", str(out)])
    assert "when tIoU: model" in capsys.readouterr().out
    curve = json.loads(out.read_text())["curve"]
    assert len(curve) >= 2 and curve[-1]["steps"] > 0 and curve[-1]["blind_steps"] > 0
    for row in curve:
        for who in ("model_when", "blind_when"):
            assert 0 <= row[who]["tiou"] <= 1 and 0 < row[who]["whole"] <= row[who]["prior"] <= 1
        assert row["model_when"]["by_event"].keys() == row["blind_when"]["by_event"].keys()
    drawn = {}
    monkeypatch.setattr(bench, "line_panels", lambda path, panels, **_: drawn.setdefault("panels", panels) and Path(path))
    assert bench.main(["when", str(work / "when.png"), str(out)]) == 0
    overall, *kinds = drawn["panels"]
    assert overall.reference == ("question prior (when)", curve[0]["model_when"]["prior"])
    assert [label for label, _, _ in overall.lines] == ["when seeing", "when blind"]
    assert overall.lines[1][2] == [row["blind_when"]["tiou"] for row in curve]
    by_event = curve[0]["model_when"]["by_event"]
    assert len(kinds) == (len(by_event) if len(by_event) > 1 else 0)  # a single kind would repeat the overall


@pytest.mark.slow
def test_benchmark_starts_from_a_saved_base_when_given_one(bench, tmp_path, capsys) -> None:
    from o3video.models import build_tiny_model, load_model

    base = tmp_path / "base"
    build_tiny_model(base, size="small", seed=7, arch="qwen3_vl", max_pixels=128 * 96)
    out = tmp_path / "curve.json"
    bench.main(["--base", str(base), "--minutes", "0.02", "--eval-every", "1", "--eval-per-count", "2", "--batch", "2",
                "--work", str(tmp_path / "work"), "--json", str(out)])
    result = json.loads(out.read_text())
    assert result["header"]["base"] == str(base) and result["header"]["arch"] == "qwen3_vl"
    # the first evaluation is the saved base's own answers, not a new model's
    model, processor = load_model(base, dtype="float32", max_pixels=128 * 96)
    world = perception_scenes.World()
    scenes = perception_scenes.eval_set(world, [1, 2, 3], 2)
    expected = perception_scoring.evaluate(model, processor, scenes, BoxConvention.RELATIVE_1000, (world.width, world.height))
    assert result["curve"][0]["model"]["example"] == expected["example"]
    assert result["curve"][0]["model"]["iou"] == expected["iou"]
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())  # no model built


@pytest.mark.slow
def test_perception_pretraining_saves_a_model_with_its_curve_and_resumes_exactly(work, monkeypatch) -> None:
    """Five stages (single objects; binding with attention supervision; half asked as videos; in the where layout;
    about the world's videos), killed in the first and resumed. (The sixth, what, is the base command test's: each
    stage's evaluations cost this test ~30 s.)"""
    from safetensors.torch import load_file

    from o3video.models import build_tiny_model, load_model

    base = build_tiny_model(work / "base_qwen3", seed=0, arch="qwen3_vl")
    run = dict(steps=6, binding_steps=2, video_steps=2, where_steps=1, world_steps=1, eval_every=3, eval_per_count=1)
    whole = perception_pretrain.pretrain_perception(base, work / "whole", **run)
    info = json.loads((whole / perception_pretrain.CURVE_FILE).read_text())
    assert info["finished"] and [row["steps"] for row in info["curve"]] == [0, 3, 6, 8, 9, 10, 11, 12]
    assert [row["stage"] for row in info["curve"]] == ["single"] * 3 + ["binding", "video", "video", "where", "world"]
    # the 8-frame form is scored from the video stage's start on, the where layout (still, with a clause, moving) from
    # the where stage's, the world's videos from the world stage's
    assert ["model_as_video" in row for row in info["curve"]] == [False] * 3 + [True] * 5
    assert ["model_as_where" in row for row in info["curve"]] == [False] * 5 + [True] * 3
    assert ["model_as_where_clause" in row for row in info["curve"]] == [False] * 5 + [True] * 3
    assert ["model_as_moving" in row for row in info["curve"]] == [False] * 5 + [True] * 3
    assert ["model_as_world_events" in row for row in info["curve"]] == [False] * 6 + [True] * 2
    assert not any("model_as_what" in row for row in info["curve"])  # no what stage, no what score
    assert all("viou" in info["curve"][-1][key] for key in ("model_as_moving", "model_as_world", "model_as_world_events"))
    assert info["recipe"]["where"]["where"] == 0.5 and info["recipe"]["video"]["where"] == 0
    assert info["recipe"]["world"]["world"] > 0 and info["recipe"]["world"]["events"] > 0
    assert info["recipe"]["where"]["world"] == 0
    assert info["recipe"]["single"]["objects"] == [1, 1] and info["recipe"]["binding"]["objects"] == [1, 3]
    assert info["recipe"]["binding"]["attention_supervision"] > 0 and info["recipe"]["video"]["attention_supervision"] > 0
    assert info["recipe"]["single"]["attention_supervision"] == 0
    assert info["recipe"]["video"]["video"] == 0.5 and info["recipe"]["binding"]["video"] == 0
    assert info["frame"] == [128, 96] and info["recipe"]["single"]["convention"] == "relative_1000" and info["seed"] == 0
    assert not (whole / perception_pretrain.STATE_FILE).exists()
    load_model(whole)  # a checkpoint like any other

    # killed after the evaluation at step 3, then run again: the same weights as the uninterrupted run
    real_step, calls = perception_learner.Learner.step, {"n": 0}

    def dies_after_three(self):
        if calls["n"] == 4:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real_step(self)

    monkeypatch.setattr(perception_learner.Learner, "step", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        perception_pretrain.pretrain_perception(base, work / "resumed", **run)
    assert (work / "resumed" / perception_pretrain.STATE_FILE).is_file()
    monkeypatch.setattr(perception_learner.Learner, "step", real_step)
    resumed = perception_pretrain.pretrain_perception(base, work / "resumed", **run)
    a, b = load_file(whole / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_the_perception_base_command_builds_once_into_the_cache_and_records_how(capsys, monkeypatch) -> None:
    from dataclasses import replace
    from functools import partial

    from o3video.cli import main
    from o3video.lab.perception.build_base import BaseRecipe, cached_base, embedded_base

    # 3 held-out frames per layout instead of 96: what is tested is the command, not the curve's precision (an
    # untrained model answers every where question in its full 160 tokens, ~13 evaluations of the curve)
    monkeypatch.setattr(perception_pretrain, "pretrain_perception",
                        partial(perception_pretrain.pretrain_perception, eval_per_count=1, eval_every=12))
    recipe = BaseRecipe(steps=24, binding_steps=1, video_steps=1, where_steps=1, world_steps=1, what_steps=1,
                        when_steps=1)
    command = ["perception-base", "--steps", "24", "--binding-steps", "1", "--video-steps", "1", "--where-steps", "1",
               "--world-steps", "1", "--what-steps", "1", "--when-steps", "1"]
    assert cached_base(recipe) is None
    assert main([*command, "--threads", "1"]) == 0
    folder = cached_base(recipe)
    assert folder is not None and f"perception base: {folder}" in capsys.readouterr().out
    info = json.loads((folder / "base.json").read_text())
    assert info["command"] == recipe.command() and info["seconds"] > 0
    assert info["final"]["steps"] == 30 and info["final"]["stage"] == "when"
    # the what questions from the what stage's start on, the when questions from the when stage's, each seeing and on
    # blank frames
    curve = json.loads((folder / perception_pretrain.CURVE_FILE).read_text())
    # a short run learns: the answers' loss falls from a random model's (the log of the vocabulary's size) every
    # 12 steps of the first stage
    vocabulary = len(json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"])
    losses = [row["loss"] for row in curve["curve"] if row["steps"] in (12, 24)]
    assert np.log(vocabulary) > losses[0] > losses[1] and losses[1] < 0.7 * np.log(vocabulary), losses
    assert ["model_as_what" in row for row in curve["curve"]][-3:] == [True, True, True]
    assert not any("model_as_what" in row for row in curve["curve"][:-3])
    assert ["model_as_when" in row for row in curve["curve"]][-3:] == [False, True, True]
    assert all(0 <= info["final"][key]["accuracy"] <= 1 for key in ("model_as_what", "model_as_what_blank"))
    assert all(0 <= info["final"][key]["tiou"] <= 1 for key in ("model_as_when", "model_as_when_blank"))
    assert curve["recipe"]["what"]["what"] > 0 and curve["recipe"]["world"]["what"] == 0
    assert curve["recipe"]["when"]["when"] > 0 and curve["recipe"]["when"]["what"] == 0
    assert json.loads((folder / "config.json").read_text())["model_type"] == "qwen3_vl"
    assert not list(folder.parent.glob(".*building"))  # the work folder is gone once the base is in place
    # built once: a second call finds it; another recipe is another entry
    assert main(command) == 0
    assert capsys.readouterr().out.strip().endswith(str(folder))
    assert cached_base(BaseRecipe(steps=2, binding_steps=1, video_steps=1, where_steps=1, world_steps=1)) is None

    # continued in a second part (--from, single objects only): both parts' commands, and what they trained together;
    # a note of how the first part was made stays with it
    info["how"] = "the checkpoint at step 30 of a longer build"
    (folder / "base.json").write_text(json.dumps(info))
    more = ["perception-base", "--from", str(folder), "--steps", "1", "--binding-steps", "0", "--video-steps", "0",
            "--where-steps", "0", "--world-steps", "0", "--threads", "1"]
    assert main(more) == 0
    continued = Path(capsys.readouterr().out.strip().split("perception base: ")[-1])
    assert continued != folder and (continued / "model.safetensors").is_file()
    second = json.loads((continued / "base.json").read_text())
    assert [part["command"] for part in second["parts"]] == [recipe.command(), second["command"]]
    assert second["parts"][0]["how"] == info["how"] and "how" not in second["parts"][1]
    assert f"--from {folder} --steps 1 --binding-steps 0" in second["command"]
    assert second["seconds"] == pytest.approx(info["seconds"] + second["parts"][1]["seconds"], abs=0.2)
    assert second["total"] == {"arch": "qwen3_vl", "size": "small", "seed": 0, "steps": 25, "binding_steps": 1,
                               "video_steps": 1, "where_steps": 1, "world_steps": 1, "what_steps": 1, "when_steps": 1}
    # a source checkout's embedded base is taken for the recipe its parts add up to, and for no other
    assert embedded_base(replace(recipe, steps=25), root=continued) == continued
    assert embedded_base(recipe, root=continued) is None and embedded_base(recipe, root=folder) == folder


def test_perception_replay_records_are_valid_stgr_whose_answer_boxes_the_named_object(tmp_path) -> None:
    from PIL import Image

    from o3video.data.stgr import load_stgr
    from o3video.data.synth.vocab import COLOURS
    from o3video.train.targets import target_completion

    path = perception_replay.perception_records(tmp_path, 12, seed=3, objects=(1, 3))
    records = load_stgr(path, media_root=tmp_path).records  # raises on an invalid record or a missing image
    assert len(records) == 12 and {r["task"] for r in records} == {"visual QA"}
    for record in records:
        image = np.asarray(Image.open(tmp_path / record["image_path"]).convert("RGB"))
        assert list(image.shape[1::-1]) == record["image_size"] == [112, 84]  # the easy world's frames
        name = record["question"].removeprefix("Where is the ").removesuffix("?")
        box = [int(v) for v in record["answer"].split("[")[1].split("]")[0].split(",")]
        assert record["answer"].startswith(f"<obj>{name}</obj>")
        x1, y1, x2, y2 = box
        colour = next(c for c in COLOURS if name.startswith(c))
        painted = (image[y1:y2, x1:x2] == COLOURS[colour]).all(-1)
        assert painted.mean() > 0.25  # the named object is drawn in its box
        # SFT's target is the grounded completion the base was pre-trained to give
        assert target_completion(record, (112, 84)) == f"<think>{record['answer']}</think><answer>{record['answer']}</answer>"
    assert perception_replay.perception_records(tmp_path, 99, seed=4) == path  # written once
    assert len(json.loads(path.read_text())) == 12


def test_video_replay_records_ask_a_still_video_and_cite_the_named_object_at_a_time(tmp_path) -> None:
    from o3video.data.stgr import load_stgr
    from o3video.data.synth.vocab import COLOURS
    from o3video.grammar import parse
    from o3video.train.targets import target_completion
    from o3video.video.sampling import sample_frames

    path = perception_replay.perception_records(tmp_path, 16, seed=3, objects=(1, 3), video=0.5)
    records = load_stgr(path, media_root=tmp_path).records  # valid STGR, every video readable
    videos = [r for r in records if r["task"] == "temporal-spatial free-form QA"]
    assert 0 < len(videos) < 16 and len(records) - len(videos) == sum(r["task"] == "visual QA" for r in records)
    for record in videos:
        claim = parse(f"<think>{record['reasoning_process']}</think>").claims[0]
        name, box, second = claim.object, claim.boxes[0], claim.time
        assert record["question"] == f"Where is the {name}?" and record["answer"].startswith("in the ")
        sampled = sample_frames(tmp_path / record["video_path"], 8, factor=28, max_pixels=112 * 84)
        assert sampled.frames[0].image.size == (112, 84) and 0 <= second < sampled.duration
        colour = np.array(COLOURS[name.split()[0]], float)
        x1, y1, x2, y2 = (int(v) for v in box)
        for frame in (sampled.frames[0], sampled.frames[-1]):  # a still video: the object in its box throughout
            pixels = np.asarray(frame.image.convert("RGB"), float)
            near = np.abs(pixels - colour).max(-1) < 40  # H.264 moves colours a little
            assert near[y1:y2, x1:x2].mean() > 0.25 and near.mean() < 0.3  # (another object may share its colour)
        # SFT's target: the cited box on the model's frame (0-1000 for Qwen3-VL), the time, then the region
        completion = target_completion(record, (128, 96), "relative_1000")
        cited = parse(completion).claims[0]
        expected = [round(v) for v in (box[0] / 112 * 1000, box[1] / 84 * 1000, box[2] / 112 * 1000, box[3] / 84 * 1000)]
        assert [round(v) for v in cited.boxes[0]] == expected and cited.time == second
        assert completion.endswith(f"<answer>{record['answer']}</answer>")


def test_where_replay_records_ask_vstars_chain_1_where_prompt_of_a_still_video(tmp_path) -> None:
    from o3video.data.stgr import load_stgr
    from o3video.data.synth.vocab import COLOURS
    from o3video.grammar import parse
    from o3video.train.targets import target_completion
    from o3video.video.sampling import sample_frames

    path = perception_replay.perception_records(tmp_path, 12, seed=5, objects=(1, 3), video=1.0, where=0.5)
    records = load_stgr(path, media_root=tmp_path).records
    where = [r for r in records if r.get("vstar_kind") == "where_1"]
    assert 0 < len(where) < 12 and all(r["task"] == "temporal-spatial free-form QA" for r in records)
    assert len({r["id"] for r in records}) == 12
    for record in where:
        answer = json.loads(record["answer"])
        seconds = [int(k) for k in answer]
        assert f"within the time range {seconds} provided" in record["instruction"]
        assert record["question"].startswith("Please answer the question about the video: Where is the ")
        claims = parse(f"<think>{record['reasoning_process']}</think>").claims
        assert [(c.time, list(c.boxes[0])) for c in claims] == [(float(k), box) for k, box in answer.items()]
        sampled = sample_frames(tmp_path / record["video_path"], 8, factor=28, max_pixels=112 * 84)
        assert max(seconds) < sampled.duration
        colour = np.array(COLOURS[claims[0].object.split()[0]], float)
        x1, y1, x2, y2 = (int(v) for v in answer[str(seconds[0])])
        near = np.abs(np.asarray(sampled.frames[0].image.convert("RGB"), float) - colour).max(-1) < 40
        assert near[y1:y2, x1:x2].mean() > 0.25  # the named object is in the answer's box
        # for a Qwen3-VL base: the answer's JSON repeats the reasoning's boxes on 0-1000
        completion = parse(target_completion(record, (128, 96), "relative_1000"))
        first = [round(v) for v in (x1 / 112 * 1000, y1 / 84 * 1000, x2 / 112 * 1000, y2 / 84 * 1000)]
        assert [round(v) for v in completion.claims[0].boxes[0]] == first
        assert [round(v) for v in json.loads(completion.answer)[str(seconds[0])]] == first


@pytest.mark.slow
def test_retention_bench_probes_along_sft_and_mixes_in_the_replay(tmp_path, capsys) -> None:
    from o3video.models import build_tiny_model

    spec = importlib.util.spec_from_file_location("sft_retention", ROOT / "bench" / "sft_retention.py")
    retention = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(retention)
    base = tmp_path / "base"
    build_tiny_model(base, size="small", seed=0, arch="qwen3_vl")
    out = tmp_path / "run"
    result = retention.run(retention.parse_args([
        "--base", str(base), "--out", str(out), "--probe-every", "1", "--probe-per-count", "2", "--threads", "1",
        "--replay", "8", "--no-vstar", "--json", str(tmp_path / "r.json"), "trainer.max_steps=2",
        "trainer.per_device_train_batch_size=2"]))
    assert [row["step"] for row in result["curve"]] == [0, 1, 2]  # the base, then every step
    assert all(0 <= row["iou"] <= 1 and set(row["iou_by_n"]) == {"1", "2", "3"} for row in result["curve"])
    assert all(0 <= row["iou_as_video"] <= 1 for row in result["curve"])  # the probe as 8 frames too
    assert json.loads((out / "probe.json").read_text()) == result["curve"]
    replay = json.loads((out / "data" / "perception" / "perception_sft.json").read_text())
    assert result["replay_video"] == result["replay_where"] == 0.5
    assert {r["task"] for r in replay} == {"visual QA", "temporal-spatial free-form QA"}
    config = (out / "models" / "sft" / "train_config.yaml").read_text()
    assert "perception_sft.json" in config and "max_steps: 2" in config  # the replay is in SFT's data
    picture = retention.plot(tmp_path / "curves.png", [out])
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stages_picture_draws_every_layout_a_pretraining_curve_scored(bench, tmp_path, monkeypatch) -> None:
    drawn = {}
    monkeypatch.setattr(bench, "line_panels", lambda path, panels: drawn.setdefault("panels", panels) and Path(path))

    def scored(iou, bind):
        return {"iou": iou, "bind": bind}

    curve = [{"cpu_min": 0.0, "model": scored(0.5, 0.7), "model_as_where": scored(0.05, None)},
             {"cpu_min": 20.0, "model": scored(0.4, 0.8), "model_as_where": scored(0.2, 0.6)}]
    (tmp_path / "perception.json").write_text(json.dumps({"mean_box": {"iou": 0.04}, "curve": curve}))
    assert bench.main(["stages", str(tmp_path / "out.png"), str(tmp_path / "perception.json")]) == 0
    iou, bind = drawn["panels"]
    assert iou.reference == ("mean box", 0.04)
    assert iou.lines == [("one image", [0.0, 20.0], [0.5, 0.4]), ("V-STaR where layout", [0.0, 20.0], [0.05, 0.2])]
    assert bind.lines == [("one image", [0.0, 20.0], [0.7, 0.8]), ("V-STaR where layout", [20.0], [0.6])]
    # a what stage adds its accuracy, seeing and on blank frames, against always answering the most frequent answer
    curve.append({"cpu_min": 30.0, "model": scored(0.4, 0.8),
                  "model_as_what": {"accuracy": 0.3, "most_frequent": 0.1},
                  "model_as_what_blank": {"accuracy": 0.05, "most_frequent": 0.1}})
    (tmp_path / "perception.json").write_text(json.dumps({"mean_box": {"iou": 0.04}, "curve": curve}))
    drawn.clear()
    assert bench.main(["stages", str(tmp_path / "out.png"), str(tmp_path / "perception.json")]) == 0
    what = drawn["panels"][2]
    assert what.reference == ("most frequent answer", 0.1)
    assert what.lines == [("seeing", [30.0], [0.3]), ("blank frames", [30.0], [0.05])]
    # a when stage adds its tIoU, seeing and on blank frames, against the question prior
    curve.append({"cpu_min": 40.0, "model": scored(0.4, 0.8),
                  "model_as_what": {"accuracy": 0.2}, "model_as_what_blank": {"accuracy": 0.1},
                  "model_as_when": {"tiou": 0.45, "prior": 0.4}, "model_as_when_blank": {"tiou": 0.3, "prior": 0.4}})
    (tmp_path / "perception.json").write_text(json.dumps({"mean_box": {"iou": 0.04}, "curve": curve}))
    drawn.clear()
    assert bench.main(["stages", str(tmp_path / "out.png"), str(tmp_path / "perception.json")]) == 0
    what, when = drawn["panels"][2:]
    assert what.lines == [("seeing", [30.0, 40.0], [0.3, 0.2]), ("blank frames", [30.0, 40.0], [0.05, 0.1])]
    assert when.reference == ("question prior", 0.4)
    assert when.lines == [("seeing", [40.0], [0.45]), ("blank frames", [40.0], [0.3])]


def test_layout_forms_move_the_image_in_the_prompt_and_keep_the_question(bench) -> None:
    from o3video.tasks import Task
    from o3video.video.prompt import answer_instruction

    world = perception_scenes.World()
    scene = perception_scenes.make_scene(random.Random(4), world, 3)
    forms = bench.layout_forms(BoxConvention.RELATIVE_1000, (world.width, world.height))
    blank = np.asarray(Image.new("RGB", (world.width, world.height), (perception_scenes.BLANK_GREY,) * 3))

    def parts(name):
        content = forms[name](scene)[1]["content"]
        images = [np.asarray(item["image"]) for item in content if item["type"] == "image"]
        texts = [item["text"] for item in content if item["type"] == "text"]
        return content, images, texts

    content, images, texts = parts("the image (trained)")
    assert content[0]["type"] == "image" and len(images) == 1 and texts[-1].startswith(scene.question)
    content, _, texts = parts("4 words before the image")
    assert content[0]["text"].split() == [bench.FILLER] * 4 and content[1]["type"] == "image"
    _, _, texts = parts("16 words after the image")
    assert texts[-1].split("\n")[0].split() == [bench.FILLER] * 16 and scene.question in texts[-1]
    assert len(parts("8 frames 1 s apart (trained)")[1]) == 8 and len(parts("12 frames 0.5 s apart")[1]) == 12
    _, images, _ = parts("1 of 8 frames, the rest blank")
    shown = [i for i, image in enumerate(images) if not np.array_equal(image, blank)]
    assert len(images) == 8 and shown == [scene.target * 3 % 8]
    _, images, texts = parts(bench.CITED)  # the replay's form: the spatio-temporal answer line
    assert len(images) == 8 and texts[-1] == f"\n{scene.question}\n{answer_instruction(Task.SPATIO_TEMPORAL)}"
    # its box is read from the first claim when the answer has none; a visual answer's own box comes first
    size = (world.width, world.height)
    cited = "<think>The <obj>red circle</obj><box>[100,200,300,400]</box>at<t>2</t>s is here.</think><answer>in the top</answer>"
    assert bench.first_box(cited, BoxConvention.RELATIVE_1000, size) == pytest.approx([12.8, 19.2, 38.4, 38.4])
    visual = "<think><box>[0,0,10,10]</box></think><answer><obj>red circle</obj><box>[100,200,300,400]</box></answer>"
    assert bench.first_box(visual, BoxConvention.RELATIVE_1000, size) == pytest.approx([12.8, 19.2, 38.4, 38.4])
    assert bench.first_box('<think>at once</think><answer>{"2": [100,200,300,400]}</answer>', BoxConvention.RELATIVE_1000, size) == \
        pytest.approx([12.8, 19.2, 38.4, 38.4])  # V-STaR's where answer: JSON boxes by second
    assert bench.first_box("<think>no box</think><answer>left</answer>", BoxConvention.RELATIVE_1000, size) is None


@pytest.mark.slow
def test_world_videos_score_the_answer_against_the_moving_object_in_the_models_frame(bench, synth_easy,
                                                                                   tiny_qwen3_model,
                                                                                   monkeypatch) -> None:
    """An answer that gives the object's ground-truth box (at its first second, rescaled to the model's frame and
    written on the 0-1000 scale) scores IoU ~1; one that gives no box scores 0."""
    import o3video.models
    from o3video.models import load_model

    model, processor = load_model(tiny_qwen3_model, dtype="float32")
    records = json.loads((synth_easy / "vstar_test.json").read_text())
    asked = iter(records)  # asked in the file's order (one object can be asked about twice)

    def truthful(_model, _processor, batch, **_):
        record = next(asked)
        assert f"Where is the {record['object']}?" in batch[0][1]["content"][-1]["text"]
        box = record["bboxes"][0]
        relative = [box["xmin"] / record["width"], box["ymin"] / record["height"], box["xmax"] / record["width"],
                    box["ymax"] / record["height"]]
        text = render_claim(Claim(record["object"], ([round(v * 1000) for v in relative],)))
        return [[render_completion(text, text)]]

    monkeypatch.setattr(o3video.models, "generate", truthful)
    result = bench.world_videos(model, processor, synth_easy, BoxConvention.RELATIVE_1000)
    assert result["records"] == len(records) and result["iou"] > 0.9 and result["iou50"] == 1.0
    assert 0 <= result["centre_box_iou"] < 0.9

    asked = iter(records)

    def json_boxes(_model, _processor, batch, **_):  # V-STaR's wording, answered in its JSON form
        record = next(asked)
        assert record["spatial_question"] in batch[0][1]["content"][-1]["text"]
        box = record["bboxes"][0]
        relative = [box["xmin"] / record["width"], box["ymin"] / record["height"], box["xmax"] / record["width"],
                    box["ymax"] / record["height"]]
        return [[json.dumps({str(box["timestamp"]): [round(v * 1000) for v in relative]})]]

    monkeypatch.setattr(o3video.models, "generate", json_boxes)
    assert bench.world_videos(model, processor, synth_easy, BoxConvention.RELATIVE_1000, wording="vstar")["iou"] > 0.9
    monkeypatch.setattr(o3video.models, "generate", lambda *_a, **_k: [["<answer>no box</answer>"]])
    assert bench.world_videos(model, processor, synth_easy, BoxConvention.RELATIVE_1000)["iou"] == 0.0


@pytest.mark.slow
def test_world_mode_asks_each_test_record_four_ways_and_as_the_demo_does(bench, synth_easy, tiny_qwen3_model,
                                                                          monkeypatch, capsys) -> None:
    """An answer giving the record's ground-truth boxes (found by the object and seconds the prompt asks about)
    scores ~1 in every row, whatever the wording and frames; one without boxes scores 0."""
    import o3video.models

    records = json.loads((synth_easy / "vstar_test.json").read_text())

    def truthful(_model, _processor, batch, **_):
        answers = []
        for messages in batch:
            asked = messages[1]["content"][-1]["text"]
            record = next(r for r in records if f"Where is the {r['object']}" in asked and
                          f"range {sorted({b['timestamp'] for b in r['bboxes']})}" in asked)
            sides = (record["width"], record["height"]) * 2
            boxes = {str(b["timestamp"]): [round(1000 * v / side) for v, side in
                                           zip((b["xmin"], b["ymin"], b["xmax"], b["ymax"]), sides)]
                     for b in record["bboxes"]}
            answers.append([f"<answer>{json.dumps(boxes)}</answer>"])
        return answers

    monkeypatch.setattr(o3video.models, "generate", truthful)
    result = bench.world_where(str(tiny_qwen3_model), [str(synth_easy)])
    assert result["records"] == len(records)
    assert all(result[row]["viou"] > 0.85 for row in bench.WORLD_ROWS), result
    assert result["decoded, V-STaR's prompt as the demo scores it"]["viou"] > 0.95
    assert "decoded, its clause" in capsys.readouterr().out
    monkeypatch.setattr(o3video.models, "generate", lambda _m, _p, batch, **_: [["<answer>no box</answer>"]] * len(batch))
    result = bench.world_where(str(tiny_qwen3_model), [str(synth_easy)])
    assert all(result[row]["viou"] == 0.0 for row in bench.WORLD_ROWS)


@pytest.mark.slow
def test_layouts_mode_scores_a_saved_model_in_every_layout(bench, tiny_qwen3_model, tmp_path, capsys) -> None:
    out = tmp_path / "layouts.json"
    assert bench.main(["layouts", str(tiny_qwen3_model), "--per-count", "1", "--json", str(out)]) == 0
    result, printed = json.loads(out.read_text()), capsys.readouterr().out
    assert result["frames"] == 3 and not any(key.startswith("world videos") for key in result)
    for name in bench.layout_forms(BoxConvention.RELATIVE_1000, (128, 96)):  # every layout scored, and printed on a line of its own
        assert 0 <= result[name]["iou"] <= 1 and result[name]["parse"] >= 0
        assert any(line.startswith(name) for line in printed.splitlines())


@pytest.mark.slow
def test_where_form_bench_trains_on_the_form_and_scores_held_out_answers_as_the_demo_does(tmp_path) -> None:
    from o3video.models import build_tiny_model

    spec = importlib.util.spec_from_file_location("where_form", ROOT / "bench" / "where_form.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    record = {"answer": '{"3":[10,20,30,40],"4":[12,20,32,40]}', "image_size": [112, 84]}
    assert bench.held_out_annotation(record)["timestamps"] == [3, 4]
    truthful = ('<think>The <obj>red circle</obj><box>[89,238,268,476]</box>at<t>3.0</t>s and the <obj>red circle'
                '</obj><box>[107,238,286,476]</box>at<t>4.0</t>s.</think><answer>{"3":[89,238,268,476],"4":[107,238,286,476]}'
                '</answer>')
    from o3video.eval.vstar_metrics import where_citations
    from o3video.eval.vstar_run import answer_fields

    prompt = bench.VStarPrompt("where_1", bench.Task.SPATIO_TEMPORAL, "q", "i")
    result = bench.held_out_annotation(record) | answer_fields([prompt], [truthful], (128, 96), (112, 84), "relative_1000")
    found = where_citations(result)
    assert found.copied == 1.0 and found.answer_viou == pytest.approx(1.0, abs=0.03)

    base = tmp_path / "base"
    build_tiny_model(base, size="small", seed=0, arch="qwen3_vl")
    result = bench.run(bench.parse_args(["--base", str(base), "--out", str(tmp_path / "run"), "--steps", "2",
                                         "--every", "1", "--train", "6", "--test", "3", "--threads", "1",
                                         "trainer.per_device_train_batch_size=2"]))
    assert [row["step"] for row in result["curve"]] == [0, 1, 2] and result["test"] >= 1
    assert all(0 <= row[k] <= 1 for row in result["curve"] for k in ("keys", "copied", "answer_viou", "cited_viou"))
    assert json.loads((tmp_path / "run" / "curve.json").read_text()) == result["curve"]
