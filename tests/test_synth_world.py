"""The synthetic world: determinism, and ground truth checked against the *decoded* video."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from fractions import Fraction

import av
import numpy as np
import pytest

from o3video.data.synth import compute_truth, encode_video, get_preset, plan_scene
from o3video.data.synth.events import derive_events
from o3video.data.synth.shapes import shape_mask
from o3video.data.synth.vocab import COLOURS, SHAPES

# Smaller and shorter than the real presets, to keep the suite fast; every other knob as in the preset.
SMALL = {
    "easy": get_preset("easy"),
    "medium": replace(get_preset("medium"), width=160, height=120, duration_s=(8.0, 12.0)),
    "hard": replace(get_preset("hard"), width=192, height=144, duration_s=(8.0, 10.0), num_objects=(5, 6)),
}


def decode(path) -> tuple[np.ndarray, list[Fraction]]:
    """Every frame as RGB, and its presentation time, read back with PyAV."""
    frames, times = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(frame.pts * stream.time_base)
    return np.stack(frames), times


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(scope="module", params=sorted(SMALL))
def rendered(request, tmp_path_factory):
    preset = SMALL[request.param]
    plan = plan_scene(rng(3), preset, f"scene_{request.param}")
    path = encode_video(plan, tmp_path_factory.mktemp("world") / f"{plan.scene_id}.mp4", crf=preset.crf)
    frames, times = decode(path)
    return plan, compute_truth(plan), frames, times


def test_same_seed_same_plan_and_different_seed_different_plan():
    preset = SMALL["medium"]
    a, b, c = (plan_scene(rng(s), preset, "x").to_dict() for s in (5, 5, 6))
    assert a == b
    assert a != c


def test_video_has_every_frame_at_exact_presentation_times(rendered):
    plan, _, frames, times = rendered
    assert frames.shape == (plan.num_frames, plan.height, plan.width, 3)
    assert times == [Fraction(i, plan.fps) for i in range(plan.num_frames)]


def _similar_colour_nearby(plan, truth, obj, frame, window) -> bool:
    """Another visible object of a near colour inside the search window would confuse the colour test."""
    x0, y0, x1, y1 = window
    mine = np.array(COLOURS[truth.tracks[obj].colour[frame]])
    for other in truth.tracks:
        box = other.box[frame]
        if other.id == obj or box is None:
            continue
        near = np.linalg.norm(np.array(COLOURS[other.colour[frame]]) - mine) < 2 * 60
        overlaps = box[0] < x1 and x0 < box[2] and box[1] < y1 and y0 < box[3]
        if near and overlaps:
            return True
    return False


def test_decoded_pixels_lie_inside_and_fill_ground_truth_boxes(rendered):
    """For sampled frames, the pixels of each visible object's colour in the *decoded* video sit inside
    its ground-truth box (2 px tolerance for H.264's 4:2:0 chroma) and reach every side of it."""
    plan, truth, frames, _ = rendered
    tol, checked = 2, 0
    for f in np.linspace(0, plan.num_frames - 1, 8).astype(int):
        for track in truth.tracks:
            box = track.box[f]
            if box is None or min(box[2] - box[0], box[3] - box[1]) < 6:
                continue
            window = (max(box[0] - 4, 0), max(box[1] - 4, 0), min(box[2] + 4, plan.width), min(box[3] + 4, plan.height))
            if _similar_colour_nearby(plan, truth, track.id, f, window):
                continue
            x0, y0, x1, y1 = window
            patch = frames[f, y0:y1, x0:x1].astype(float)
            match = np.linalg.norm(patch - np.array(COLOURS[track.colour[f]]), axis=2) < 60
            ys, xs = np.nonzero(match)
            assert ys.size, f"frame {f}: no pixel of object {track.id}'s colour near its box {box}"
            extent = [x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1]
            assert all(abs(e - b) <= tol for e, b in zip(extent, box)), (f, track.id, extent, box)
            if track.visible_px[f] >= 64:  # the box is filled by about as many pixels as were drawn
                assert 0.8 <= ys.size / track.visible_px[f] <= 1.2, (f, track.id, ys.size, track.visible_px[f])
            checked += 1
    assert checked >= 8


def test_ground_truth_box_is_visible_extent_of_the_drawn_shape():
    """Unoccluded, on-canvas objects: box = the whole square; occluded ones: a strict part of it."""
    preset = SMALL["hard"]
    plan = plan_scene(rng(11), preset, "x")
    truth = compute_truth(plan)
    saw_whole = saw_partial = False
    for track in truth.tracks:
        for f, (box, full) in enumerate(zip(track.box, track.full_box)):
            if box is None:
                continue
            assert full[0] <= box[0] < box[2] <= full[2] and full[1] <= box[1] < box[3] <= full[3]
            if track.visible_px[f] == track.shape_px:
                assert box == full
                saw_whole = True
            elif track.hidden_fraction(f) > 0.3 and track.canvas_px[f] == track.shape_px:
                assert (box[2] - box[0]) * (box[3] - box[1]) < (full[2] - full[0]) * (full[3] - full[1])
                saw_partial = True
    assert saw_whole and saw_partial


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_touches_all_sides_of_its_square(shape):
    mask = shape_mask(shape, 24)
    assert mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()


@pytest.mark.parametrize("preset", ["easy", "medium"])
def test_scripted_interactions_show_up_as_derived_events(preset):
    """The planner scripts a touch (and, with overlap allowed, a cover); events are derived from the
    drawn geometry alone, so finding each scripted interaction over its whole scripted span checks
    that script, drawing and derivation agree."""
    seen = Counter()
    for seed in range(6):
        plan = plan_scene(rng(seed), SMALL[preset], "x")
        events = derive_events(compute_truth(plan))
        for item in plan.script:
            kind = {"touch": "touch", "cover": "covered"}[item["kind"]]
            start, end = item["frames"]
            a, b = item["objects"]
            if kind == "touch":
                found = [e for e in events if e.kind == kind and {e.subject, e.other} == {a, b}]
            else:
                found = [e for e in events if e.kind == kind and e.subject == b and e.other == a]
            assert any(e.start <= start and end <= e.end for e in found), (seed, item, found)
            seen[kind] += 1
    assert seen["touch"] == 6
    assert seen["covered"] >= (1 if preset == "medium" else 0)


def test_names_are_unique_in_a_scene_at_all_times():
    for name, preset in SMALL.items():
        for seed in range(10):
            plan = plan_scene(rng(seed), preset, "x")
            names = [n for o in plan.objects for n in o.names()]
            assert len(names) == len(set(names)), (name, seed, names)
