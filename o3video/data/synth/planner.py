"""Plan a scene: pick objects, then script their timelines so that the events questions ask about
really happen, and fill the rest with random moves and holds.

Two interactions are scripted (the events themselves are later *derived from geometry*, never
copied from this script): object 0 stands still while object 1 comes up alongside it and stays in
contact for 1.5-2.5 s ("touch"); in presets that allow overlap, object 2 later stops over part of
object 0 ("passes in front of" / "partly hidden"). Other motion is random. In presets without
overlap, random moves and holds that would overlap an already-planned object are rejected, so
objects rarely cover each other. A preset stages only the interactions its `script` names; in a preset with
`view_share` (the ladder's lower rungs) every object is in view for one span of its own instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from o3video.data.synth.presets import WorldPreset
from o3video.data.synth.scene_plan import ObjectPlan, ScenePlan, positions

Point = tuple[int, int]


@dataclass(frozen=True)
class Anchor:
    """A place an object must be at, standing still, from frame `start` to frame `end`."""

    start: int
    end: int
    at: Point


@dataclass
class _Planned:
    pos: np.ndarray
    appear: int
    vanish: int
    size: int


def _even(v: float) -> int:
    return int(2 * round(v / 2))


class _Planner:
    def __init__(self, rng: np.random.Generator, preset: WorldPreset, num_frames: int) -> None:
        self.rng = rng
        self.preset = preset
        self.w, self.h = preset.width, preset.height
        self.n = num_frames
        self.fps = preset.fps
        self.speed = float(rng.uniform(*preset.speed_fraction)) * self.w / self.fps  # px per frame
        self.min_hold = max(1, round(preset.hold_s[0] * self.fps))
        self.max_hold = max(self.min_hold, round(preset.hold_s[1] * self.fps))
        self.planned: list[_Planned] = []

    # --- geometry helpers -------------------------------------------------------------------------

    def random_point(self, size: int) -> Point:
        return (_even(self.rng.uniform(0, self.w - size)), _even(self.rng.uniform(0, self.h - size)))

    def outside_point(self, size: int, near: Point | None = None) -> Point:
        """A point just outside the frame (the object entirely off-canvas), on a random edge, or on
        the edge nearest `near`."""
        if near is None:
            edge = int(self.rng.integers(4))
            x, y = self.random_point(size)
        else:
            x, y = near
            edge = int(np.argmin([x, self.w - size - x, y, self.h - size - y]))
        return [(-size, y), (self.w, y), (x, -size), (x, self.h)][edge]

    def travel(self, a: Point, b: Point) -> int:
        return max(1, math.ceil(math.dist(a, b) / self.speed))

    def inside(self, p: Point, size: int) -> bool:
        return 0 <= p[0] <= self.w - size and 0 <= p[1] <= self.h - size

    def collides(self, t0: int, p0: Point, t1: int, p1: Point, size: int) -> bool:
        """Would moving (or holding) from (t0, p0) to (t1, p1) overlap an already planned object?"""
        if self.preset.allow_overlap or not self.planned:
            return False
        frames = np.arange(t0, t1 + 1)
        xs = 2 * np.round(np.interp(frames, [t0, t1], [p0[0], p1[0]]) / 2)
        ys = 2 * np.round(np.interp(frames, [t0, t1], [p0[1], p1[1]]) / 2)
        for other in self.planned:
            live = (frames >= other.appear) & (frames < other.vanish)
            if not live.any():
                continue
            ox, oy = other.pos[frames[live], 0], other.pos[frames[live], 1]
            x, y = xs[live], ys[live]
            overlap = (x < ox + other.size) & (ox < x + size) & (y < oy + other.size) & (oy < y + size)
            if overlap.any():
                return True
        return False

    # --- timelines --------------------------------------------------------------------------------

    def fill_gap(self, wps: list, size: int, t1: int, p1: Point) -> None:
        """Random holds and moves from the last waypoint, then straight to `p1`, arriving at `t1`."""
        t, p = wps[-1][0], (wps[-1][1], wps[-1][2])
        for attempt in range(30):
            direct = self.travel(p, p1)
            slack = t1 - t - direct
            if slack < self.min_hold:
                break
            if (attempt > 0 or len(wps) > 1) and self.rng.random() < 0.5:
                hold = int(self.rng.integers(self.min_hold, min(self.max_hold, slack) + 1))
                if not self.collides(t, p, t + hold, p, size):
                    t += hold
                    wps.append((t, *p))
            else:
                q = self.random_point(size)
                step = self.travel(p, q)
                if step + self.travel(q, p1) <= t1 - t and not self.collides(t, p, t + step, q, size):
                    t, p = t + step, q
                    wps.append((t, *p))
        direct = min(self.travel(p, p1), t1 - t)
        if t1 - direct - t >= self.min_hold:  # wait, then go; a shorter wait becomes a slower move
            wps.append((t1 - direct, *p))
        if t1 > wps[-1][0]:
            wps.append((t1, *p1))

    def fill_free(self, wps: list, size: int, t_end: int) -> None:
        """Random holds and moves from the last waypoint until frame `t_end`."""
        t, p = wps[-1][0], (wps[-1][1], wps[-1][2])
        for _ in range(200):
            if t >= t_end:
                break
            remaining = t_end - t
            move_first = len(wps) == 1 or self.rng.random() < 0.5  # objects start out moving
            if move_first:
                q = self.random_point(size)
                step = self.travel(p, q)
                if step <= remaining and not self.collides(t, p, t + step, q, size):
                    t, p = t + step, q
                    wps.append((t, *p))
                    continue
            hold = int(self.rng.integers(self.min_hold, self.max_hold + 1))
            hold = min(hold, remaining)
            t += hold
            wps.append((t, *p))
        if wps[-1][0] < t_end:
            wps.append((t_end, *p))

    def walk(self, size: int, appear: int, vanish: int, anchors: list[Anchor], entering: bool,
             leaving: bool) -> list[tuple[int, int, int]]:
        if entering:
            first = anchors[0].at if anchors else self.random_point(size)
            wps = [(appear, *self.outside_point(size, near=first))]
            if not anchors:
                t_in = min(vanish - 1, appear + self.travel(wps[0][1:], first))
                wps.append((t_in, *first))
        else:
            start = self.random_point(size)
            for _ in range(20):
                if not self.collides(appear, start, appear, start, size):
                    break
                start = self.random_point(size)
            if anchors and anchors[0].start - appear < self.travel(start, anchors[0].at) + self.min_hold:
                start = anchors[0].at  # no time to come from elsewhere: start where it must be
            wps = [(appear, *start)]
        for anchor in anchors:
            self.fill_gap(wps, size, anchor.start, anchor.at)
            if anchor.end > wps[-1][0]:
                wps.append((anchor.end, *anchor.at))
        last = vanish - 1
        if leaving:
            here = (wps[-1][1], wps[-1][2])
            exit_at = self.outside_point(size, near=here)
            self.fill_gap(wps, size, last, exit_at)
        else:
            self.fill_free(wps, size, last)
        return _strictly_increasing(wps)

    def add(self, obj: ObjectPlan) -> None:
        self.planned.append(_Planned(positions(obj, self.n), obj.appear, obj.vanish, obj.size))


def _strictly_increasing(wps: list) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    for f, x, y in wps:
        f, x, y = int(f), int(x), int(y)
        if out and f <= out[-1][0]:
            out[-1] = (out[-1][0], x, y) if f == out[-1][0] else out[-1]
            continue
        out.append((f, x, y))
    return out


# --- scripted interactions ---------------------------------------------------------------------------


def _touch_anchors(pl: _Planner, size_a: int, size_b: int) -> tuple[list[Anchor], list[Anchor]]:
    """Object A stands still; B comes straight in along one side, stays in contact, backs away."""
    fps, n = pl.fps, pl.n
    contact = round(pl.rng.uniform(1.0, 2.0) * fps)
    for _ in range(50):
        a = pl.random_point(size_a)
        side = int(pl.rng.integers(4))
        mid_y = a[1] + (size_a - size_b) // 2 // 2 * 2
        mid_x = a[0] + (size_a - size_b) // 2 // 2 * 2
        b = [(a[0] - size_b, mid_y), (a[0] + size_a, mid_y), (mid_x, a[1] - size_b), (mid_x, a[1] + size_a)][side]
        normal = [(-1, 0), (1, 0), (0, -1), (0, 1)][side]
        reach = _even(min(pl.speed * fps, 1.5 * size_b))
        approach = (b[0] + normal[0] * reach, b[1] + normal[1] * reach)
        if pl.inside(b, size_b) and pl.inside(approach, size_b):
            break
    step = pl.travel(approach, b)
    # anywhere in the video, so that the question alone does not tell when (it did: 0.2-0.5 of it)
    earliest = max(round(0.05 * n), step + 2)  # room to come in and to back away
    latest = min(round(0.9 * n), n - 2 - step) - contact
    arrive = int(pl.rng.integers(earliest, max(earliest + 1, latest)))
    arrive = max(2, min(arrive, n - 2 - contact))  # a video too short for that: as early as the approach allows
    margin = step + round(pl.rng.uniform(0.0, 0.5) * fps)
    a_anchor = Anchor(max(1, arrive - margin), min(n - 2, arrive + contact + margin), a)
    b_anchors = [
        Anchor(max(1, arrive - step), max(1, arrive - step), approach),
        Anchor(arrive, min(n - 2, arrive + contact), b),
        Anchor(min(n - 2, arrive + contact + step), min(n - 2, arrive + contact + step), approach),
    ]
    return [a_anchor], _dedupe(b_anchors)


def _cover_anchors(pl: _Planner, size_a: int, size_c: int, after: Anchor) -> tuple[Anchor, Anchor] | None:
    """Object C (drawn above A) stops over about half of A while A stands still, after A's anchor
    `after` and with time for A to get there at its normal speed; None if the video is too short."""
    fps, n = pl.fps, pl.n
    hold = round(pl.rng.uniform(1.5, 2.5) * fps)
    margin = round(0.5 * fps)
    for _ in range(50):
        a = pl.random_point(size_a)
        dx = size_a // 2 // 2 * 2 if pl.rng.random() < 0.5 else -(size_c - size_a // 2 // 2 * 2)
        c = (a[0] + dx, a[1] + (size_a - size_c) // 2 // 2 * 2)
        earliest = after.end + pl.travel(after.at, a) + margin + fps
        latest = n - hold - margin - 2
        if pl.inside(c, size_c) and earliest <= latest:
            start = int(pl.rng.integers(earliest, latest + 1))
            return Anchor(start - margin, min(n - 2, start + hold + margin), a), Anchor(start, start + hold, c)
    return None


def _dedupe(anchors: list[Anchor]) -> list[Anchor]:
    out: list[Anchor] = []
    for anchor in anchors:
        if out and anchor.start <= out[-1].end:
            continue
        out.append(anchor)
    return out


# --- the scene -----------------------------------------------------------------------------------------


def _attributes(rng: np.random.Generator, preset: WorldPreset, count: int) -> list[tuple[str, str]]:
    shapes, colours = list(preset.shapes), list(preset.colours)
    if preset.unique_attributes:
        s = rng.permutation(len(shapes))[:count]
        c = rng.permutation(len(colours))[:count]
        return [(shapes[i], colours[j]) for i, j in zip(s, c)]
    pairs = [(s, c) for s in shapes for c in colours]
    return [pairs[i] for i in rng.permutation(len(pairs))[:count]]


def _colour_changes(rng: np.random.Generator, preset: WorldPreset, objects: list[ObjectPlan],
                    busy: dict[int, list[Anchor]]) -> None:
    """Give some objects a change of colour, and most of those their first colour back later, at
    times drawn over the object's life (so a colour's span is not given away by the question), keeping
    every (colour, shape) name unique in the scene and clear of the object's scripted anchors."""

    def clear(frames: range, anchors: list[Anchor]) -> int:
        """A random frame of `frames` away from `anchors` (10 tries; the last one otherwise)."""
        for _ in range(10):
            frame = int(rng.integers(frames.start, frames.stop))
            if not any(a.start - 1 <= frame <= a.end + 1 for a in anchors):
                break
        return frame

    for obj in objects:
        if rng.random() >= preset.colour_change_prob:
            continue
        used = {(c, o.shape) for o in objects for _, c in o.colours}
        used_colours = {c for o in objects for _, c in o.colours}
        choices = [
            c for c in preset.colours
            if (c, obj.shape) not in used and not (preset.unique_attributes and c in used_colours)
        ]
        if not choices:
            continue
        life, second, anchors = obj.vanish - obj.appear, preset.fps, busy.get(obj.id, [])
        early, late = round(0.15 * life), max(round(0.8 * life), round(0.15 * life) + 1)
        frame = clear(range(obj.appear + early, obj.appear + late), anchors)
        first = obj.colours[0][1]
        obj.colours.append((frame, choices[int(rng.integers(len(choices)))]))
        if rng.random() < preset.colour_return_prob and frame + second < obj.vanish - second:
            back = clear(range(frame + second, min(frame + 3 * second, obj.vanish - second)), anchors)
            obj.colours.append((back, first))


def plan_scene(rng: np.random.Generator, preset: WorldPreset, scene_id: str) -> ScenePlan:
    """A random scene of `preset`, fully determined by the state of `rng`."""
    fps = preset.fps
    num_frames = round(float(rng.uniform(*preset.duration_s)) * fps)
    count = int(rng.integers(preset.num_objects[0], preset.num_objects[1] + 1))
    attrs = _attributes(rng, preset, count)
    base = min(preset.width, preset.height)
    sizes = [max(4, _even(rng.uniform(*preset.size_fraction) * base)) for _ in range(count)]
    layers = [int(v) for v in rng.permutation(count)]
    pl = _Planner(rng, preset, num_frames)

    anchors: dict[int, list[Anchor]] = {i: [] for i in range(count)}
    script = []
    if "touch" in preset.script:
        touch_a, touch_b = _touch_anchors(pl, sizes[0], sizes[1])
        anchors[0] += touch_a
        anchors[1] += touch_b
        contact = next(a for a in touch_b if a.end > a.start)
        script.append({"kind": "touch", "objects": [0, 1], "frames": [contact.start, contact.end]})
    if "cover" in preset.script and preset.allow_overlap and count >= 3:
        cover = _cover_anchors(pl, sizes[0], sizes[2], after=anchors[0][-1])
        if cover is not None:
            anchors[0].append(cover[0])
            anchors[2].append(cover[1])
            script.append({"kind": "cover", "objects": [2, 0], "frames": [cover[1].start, cover[1].end]})
            if layers[2] < layers[0]:
                layers[0], layers[2] = layers[2], layers[0]

    objects: list[ObjectPlan] = []
    for i, (shape, colour) in enumerate(attrs):
        if preset.view_share is None:
            appear, vanish, entering, leaving = _lifetime(rng, preset, num_frames, anchors[i], i == 0)
        else:
            appear, vanish, entering, leaving = _sighting(rng, preset, num_frames)
        waypoints = pl.walk(sizes[i], appear, vanish, anchors[i], entering, leaving)
        obj = ObjectPlan(i, shape, sizes[i], layers[i], appear, vanish, waypoints, [(appear, colour)])
        objects.append(obj)
        pl.add(obj)
    _colour_changes(rng, preset, objects, anchors)
    return ScenePlan(
        scene_id=scene_id,
        preset=preset.name,
        width=preset.width,
        height=preset.height,
        fps=fps,
        num_frames=num_frames,
        background=preset.background,
        background_seed=int(rng.integers(2**31)),
        objects=objects,
        script=script,
    )


def _lifetime(rng: np.random.Generator, preset: WorldPreset, n: int, anchors: list[Anchor],
              pinned: bool) -> tuple[int, int, bool, bool]:
    """(appear, vanish, entering, leaving): entering objects slide in after the start, leaving ones
    slide out before the end, with room left around their anchors."""
    fps = preset.fps
    first = anchors[0].start if anchors else n
    last = anchors[-1].end if anchors else 0
    entering = not pinned and rng.random() < preset.enter_prob
    leaving = not pinned and rng.random() < preset.leave_prob
    appear, vanish = 0, n
    if entering:
        latest = min(first - 3 * fps, round(0.4 * n))
        if latest > fps:
            appear = int(rng.integers(fps, latest + 1))
        else:
            entering = False
    if leaving:
        earliest = max(last + 3 * fps, round(0.6 * n), appear + 4 * fps)
        if earliest < n - fps:
            vanish = int(rng.integers(earliest, n - fps + 1))
        else:
            leaving = False
    return appear, vanish, entering, leaving


def _sighting(rng: np.random.Generator, preset: WorldPreset, n: int) -> tuple[int, int, bool, bool]:
    """(appear, vanish, entering, leaving) of an object in view for one span: `view_share` of the video long,
    centred anywhere in it and cut where the video starts or ends (at least a second and a frame kept), so that
    the question does not tell when. It comes in late, goes early, or both; each end is a slide through an edge,
    or (`pop_prob`) an appearance or disappearance in place."""
    length = round(float(rng.uniform(*preset.view_share)) * n)
    centre = int(rng.integers(0, n))
    shortest = min(n - 1, preset.fps + 1)
    appear = max(0, min(centre - length // 2, n - shortest))
    vanish = min(n, max(centre - length // 2 + length, appear + shortest))
    if appear == 0 and vanish == n:
        vanish = n - 1
    entering = appear > 0 and rng.random() >= preset.pop_prob
    leaving = vanish < n and rng.random() >= preset.pop_prob
    return appear, vanish, entering, leaving
