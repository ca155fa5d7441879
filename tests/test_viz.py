"""Evidence pictures: render synthetic frames with known content and check the pixels, the GIF and the page."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from html.parser import HTMLParser

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from o3video.grammar import parse
from o3video.viz import draw_evidence, render_evidence, save_evidence
from o3video.viz.segments import Kind, segments
from o3video.viz.shown_claims import collect_evidence

W, H = 112, 84
GREY = (128, 128, 128)
RED = (255, 0, 0)
SQUARE = 16
DURATION = 4.0


@dataclass
class Frame:
    timestamp: float
    image: Image.Image


def square_origin(i: int) -> tuple[int, int]:
    """Top-left of the red square in frame i: it moves 20 px right per frame."""
    return 10 + 20 * i, 30


def make_frames(n: int = 4) -> list[Frame]:
    frames = []
    for i in range(n):
        pixels = np.full((H, W, 3), GREY, np.uint8)
        x, y = square_origin(i)
        pixels[y : y + SQUARE, x : x + SQUARE] = RED
        frames.append(Frame(float(i), Image.fromarray(pixels)))
    return frames


BALL_BOX = (20, 20, 60, 60)  # around the square of frame 1
CUP_BOX = (45, 25, 80, 55)  # around the square of frame 2
TWO_CLAIMS = (
    "<think>The <obj>ball</obj><box>[20,20,60,60]</box>at<t>1.0</t>s rolls right; then the "
    "<obj>cup</obj><box>[45,25,80,55]</box>at<t>2.2</t>s is hit.</think><answer>The ball hits the cup.</answer>"
)


@pytest.fixture(scope="module")
def frames() -> list[Frame]:
    return make_frames()


@pytest.fixture(scope="module")
def rendered(frames):
    return draw_evidence(frames, TWO_CLAIMS, question="What does the ball hit?", duration=DURATION)


def pixel(image: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    return image.getpixel((int(round(x)), int(round(y))))


def on_vertical_edge(image: Image.Image, x: float, y: float, color, inward: int) -> bool:
    """The 3 px outline of a box edge at canvas x lies at x..x±2 (drawn inward): its middle pixel has the
    colour, and the pixels 3 px outside and 5 px inside the edge do not."""
    edge = round(x) if inward > 0 else round(x) - 1
    return (
        image.getpixel((edge + inward, round(y))) == color
        and image.getpixel((edge - 3 * inward, round(y))) != color
        and image.getpixel((edge + 5 * inward, round(y))) != color
    )


def on_horizontal_edge(image: Image.Image, x: float, y: float, color, inward: int, *, outside: bool = True) -> bool:
    """As `on_vertical_edge`; `outside=False` where the label tag (same colour) sits just outside the edge."""
    edge = round(y) if inward > 0 else round(y) - 1
    return (
        image.getpixel((round(x), edge + inward)) == color
        and (not outside or image.getpixel((round(x), edge - 3 * inward)) != color)
        and image.getpixel((round(x), edge + 5 * inward)) != color
    )


def test_picture_has_a_sane_size(rendered):
    width, height = rendered.image.size
    assert rendered.image.mode == "RGB"
    assert width == 1056 and 300 < height < 2000
    assert rendered.layout.size == rendered.image.size


def test_each_claim_gets_its_nearest_frame_and_a_distinct_colour(rendered):
    panels = rendered.layout.panels
    assert [p.item.claim.object for p in panels] == ["ball", "cup"]
    assert [p.frame_index for p in panels] == [1, 2]  # t=1.0 -> frame 1, t=2.2 -> frame 2
    assert panels[0].item.color != panels[1].item.color
    image = rendered.image
    for panel in panels:
        # the red square of the frame actually shown is where that frame has it; the other frames' squares are not
        for i in range(4):
            x, y = square_origin(i)
            shown = pixel(image, *panel.to_canvas(x + SQUARE / 2, y + SQUARE / 2))
            assert (shown == RED) == (i == panel.frame_index)


@pytest.mark.parametrize("index, box", [(0, BALL_BOX), (1, CUP_BOX)])
def test_box_outline_is_drawn_along_the_claimed_edges(rendered, index, box):
    panel, image = rendered.layout.panels[index], rendered.image
    color = panel.item.color
    (left, top), (right, bottom) = panel.to_canvas(box[0], box[1]), panel.to_canvas(box[2], box[3])
    for f in np.linspace(0.15, 0.85, 8):
        y = top + f * (bottom - top)
        x = left + f * (right - left)
        assert on_vertical_edge(image, left, y, color, +1), f"left edge at y={y}"
        assert on_vertical_edge(image, right, y, color, -1), f"right edge at y={y}"
        assert on_horizontal_edge(image, x, top, color, +1, outside=False), f"top edge at x={x}"
        assert on_horizontal_edge(image, x, bottom, color, -1), f"bottom edge at x={x}"
    # an outline, not a fill: the inside keeps the frame's pixels, and so does the area just outside
    inside = pixel(image, (left + right) / 2, top + 0.8 * (bottom - top))
    assert inside in (GREY, RED)
    assert pixel(image, left - 8, (top + bottom) / 2) in (GREY, RED)


def test_timeline_marks_each_cited_time_proportionally(rendered):
    timeline = rendered.layout.timeline
    g = timeline.geometry
    rows = range(timeline.rect.y0, timeline.rect.y1)

    def column_has(x: float, color) -> bool:
        return any(pixel(rendered.image, x, y) == color for y in rows)

    expected = {}
    for panel in rendered.layout.panels:
        t = panel.item.claim.time
        expected[panel.item.color] = timeline.rect.x0 + g.x0 + t / DURATION * (g.x1 - g.x0)
    assert len(expected) == 2
    for color, x in expected.items():
        assert column_has(x, color)
        assert not column_has(timeline.rect.x0 + g.x0 + 5, color)  # nothing cited near 0 s
        for other_color, other_x in expected.items():
            if other_color != color:
                assert not column_has(other_x, color)
    assert g.x1 - g.x0 > 0.8 * rendered.image.width  # the strip spans the page


def test_reasoning_mentions_are_underlined_in_their_object_colour(rendered):
    mentions = {m.key: m.rect for m in rendered.layout.mentions}
    assert set(mentions) == {"ball", "cup"}
    colors = {p.item.key: p.item.color for p in rendered.layout.panels}
    for key, (x0, y0, x1, y1) in mentions.items():
        assert rendered.layout.timeline.rect.y1 < y0 < rendered.image.height
        assert pixel(rendered.image, (x0 + x1) / 2, y1 - 1) == colors[key]


def test_boxes_partly_or_wholly_outside_the_frame_are_clipped(frames):
    text = "<think><obj>dog</obj><box>[90,60,130,100]</box><box>[200,200,300,300]</box>at<t>0</t>s</think><answer>x</answer>"
    result = draw_evidence(frames, text, question="q", duration=DURATION)
    boxes = result.evidence.items[0].boxes
    assert boxes[0].drawn == (90, 60, W, H) and boxes[0].clipped
    assert boxes[1].drawn is None
    panel = result.layout.panels[0]
    left, top = panel.to_canvas(90, 60)
    bottom = panel.frame_rect.y1 - 3
    assert on_vertical_edge(result.image, left, (top + bottom) / 2, panel.item.color, +1)
    # nothing was drawn past the frame: the pixel right of the frame is page background
    assert pixel(result.image, panel.frame_rect.x1 + 2, (top + bottom) / 2) == (255, 255, 255)


def test_source_size_gives_original_pixel_boxes(frames):
    evidence = collect_evidence(frames, TWO_CLAIMS, duration=DURATION, source_size=(1120, 840))
    assert evidence.items[0].boxes[0].source == (200, 200, 600, 600)


def test_no_claims_shows_the_sampled_frames(frames):
    result = draw_evidence(frames, "<think>Nothing to see.</think><answer>No.</answer>", question="q", duration=DURATION)
    assert [p.item for p in result.layout.panels] == [None] * 4
    assert [p.frame_index for p in result.layout.panels] == [0, 1, 2, 3]
    for panel in result.layout.panels:
        x, y = square_origin(panel.frame_index)
        assert pixel(result.image, *panel.to_canvas(x + SQUARE / 2, y + SQUARE / 2)) == RED
    assert result.layout.mentions == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no tags at all",
        "<think>The <obj>car</obj><box>[1,2,3]</box> at <t>oops</t>s <obj>broken",
        "<think><obj></obj><box>[nan,1,2,3]</box>at<t>-5</t>s</think><answer></answer><answer>",
        "<think><obj>x</obj><box>[1e308,-1e308,5,5]</box>at<t>1e9</t>s</think>",
    ],
)
def test_malformed_completions_still_render(frames, text):
    image = render_evidence(frames, text, question="q", duration=DURATION)
    assert image.width == 1056 and image.height > 100


def test_a_claim_without_time_is_placed_only_when_there_is_one_frame(frames):
    text = "<think>A <obj>cup</obj><box>[10,10,40,40]</box> is here.</think><answer>cup</answer>"
    many = draw_evidence(frames, text, question="q", duration=DURATION)
    assert many.evidence.unplaced and [p.item for p in many.layout.panels] == [None] * 4
    one = draw_evidence(frames[:1], text, question="q", duration=0.0)
    assert one.layout.panels[0].item.claim.object == "cup" and one.layout.timeline is None


def test_accepts_a_parsed_completion_and_an_answer_override(frames):
    image = render_evidence(frames, parse(TWO_CLAIMS), question="q", duration=DURATION, answer="From <t>1</t>s to <t>3</t>s")
    assert image.width == 1056


def test_bad_frames_and_duration_are_named(frames):
    with pytest.raises(ValueError, match="no frames"):
        render_evidence([], TWO_CLAIMS, question="q", duration=DURATION)
    with pytest.raises(ValueError, match="frame 1"):
        render_evidence([frames[0], Frame(1.0, None)], TWO_CLAIMS, question="q", duration=DURATION)
    with pytest.raises(ValueError, match="duration"):
        render_evidence(frames, TWO_CLAIMS, question="q", duration=float("nan"))


def test_segments_read_as_prose_and_carry_their_object():
    parts = segments("The <obj>Red  Car</obj><box>[1,2,3,4]</box>at<t>12.50</t>s turns; at <t>3</t>s it stops.")
    assert "".join(p.text for p in parts) == "The Red Car [1, 2, 3, 4] at 12.5 s turns; at 3 s it stops."
    keyed = [(p.kind, p.key) for p in parts if p.kind is not Kind.TEXT]
    assert keyed == [(Kind.OBJECT, "red car"), (Kind.BOX, "red car"), (Kind.TIME, "red car"), (Kind.TIME, None)]


def test_png_is_saved_by_suffix(frames, tmp_path):
    path = save_evidence(tmp_path / "sub" / "e.PNG", frames, TWO_CLAIMS, question="q", duration=DURATION)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width == 1056


def test_gif_has_one_frame_per_claim_plus_the_summary(frames, tmp_path):
    # the same claim twice in a row: Pillow merges identical consecutive GIF frames, the pictures must differ
    text = TWO_CLAIMS.replace("rolls right;", "rolls right, the <obj>ball</obj><box>[20,20,60,60]</box>at<t>1.0</t>s;")
    path = save_evidence(tmp_path / "e.gif", frames, text, question="q", duration=DURATION)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4
        assert gif.info["duration"] == 800
        sizes = set()
        for k in range(gif.n_frames):
            gif.seek(k)
            sizes.add(gif.size)
        assert len(sizes) == 1


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.marks, self.tags, self.text = [], 0, [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag == "mark":
            self.marks += 1

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_escapes_model_text(frames, tmp_path):
    text = TWO_CLAIMS.replace("is hit.", "is hit. <script>alert(1)</script>")
    question = 'What <img src=x onerror="alert(2)"> happens?'
    path = save_evidence(tmp_path / "e.html", frames, text, question=question, duration=DURATION)
    page = path.read_text(encoding="utf-8")
    parser = _PageParser()
    parser.feed(page)
    assert "script" not in parser.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert len(parser.images) == 3  # the summary and one figure per claim; the question's <img> is text
    formats = []
    for src in parser.images:
        header, payload = src.split(",", 1)
        assert header in ("data:image/png;base64", "data:image/jpeg;base64")
        with Image.open(io.BytesIO(base64.b64decode(payload))) as image:
            image.load()
            formats.append(image.format)
    assert formats[0] == "PNG" and set(formats[1:]) == {"JPEG"}
    assert parser.marks >= 4  # two objects and their two times
    assert "ball" in "".join(parser.text) and "onerror" in "".join(parser.text)
    assert page.count("<tr>") == 3  # header row and one per claim


def test_unknown_suffix_is_an_error_naming_the_path(frames, tmp_path):
    target = tmp_path / "evidence.jpg"
    with pytest.raises(ValueError, match="evidence.jpg"):
        save_evidence(target, frames, TWO_CLAIMS, question="q", duration=DURATION)
    assert not target.exists()


fragments = st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "<obj>", "</obj>", "<box>", "</box>",
                             "<t>", "</t>", "s", "at", "[", "]", ",", " ", "\n", "cup", "<script>"])
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6)).map(str)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(fragments, numbers, st.text(max_size=4)), max_size=30).map("".join))
def test_any_text_renders(text):
    result = draw_evidence(make_frames(2), text, question="q", duration=2.0)
    assert result.image.width == 1056
    assert all(p.frame_rect.x1 <= result.image.width and p.frame_rect.y1 <= result.image.height for p in result.layout.panels)


SOURCE = (2 * W, 2 * H)  # the original video: twice the frames' size
TRUTH_BOX = (40, 40, 200, 150)  # original pixels at 2.0 s; (20, 20, 100, 75) on frame 2


@pytest.fixture(scope="module")
def with_truth(frames):
    from o3video.viz import GroundTruth, TimedBox

    truth = GroundTruth(span=(1.0, 3.0), boxes=(TimedBox(2.0, TRUTH_BOX),), size=SOURCE)
    return draw_evidence(frames, TWO_CLAIMS, question="What does the ball hit?", duration=DURATION, truth=truth)


def test_the_ground_truth_box_is_drawn_in_green_beside_the_box_cited_on_that_frame(with_truth, rendered):
    from o3video.viz.compare import PREDICTED, TRUTH

    assert rendered.layout.truth_panels == [] and rendered.layout.truth_spans is None  # no truth, no block
    [panel] = with_truth.layout.truth_panels
    assert panel.frame_index == 2 and panel.item is None  # the frame nearest 2.0 s, which the cup's claim cites
    image = with_truth.image
    (left, top), (right, bottom) = panel.to_canvas(20, 20), panel.to_canvas(100, 75)
    for f in np.linspace(0.2, 0.8, 5):
        assert on_vertical_edge(image, left, top + f * (bottom - top), TRUTH, +1)
        assert on_vertical_edge(image, right, top + f * (bottom - top), TRUTH, -1)
    (cup_left, cup_top), (_, cup_bottom) = panel.to_canvas(*CUP_BOX[:2]), panel.to_canvas(*CUP_BOX[2:])
    assert on_vertical_edge(image, cup_left, cup_top + 0.6 * (cup_bottom - cup_top), PREDICTED[0], +1)
    assert with_truth.image.height > rendered.image.height


def test_the_ground_truth_span_is_drawn_on_one_axis_with_the_cited_times(with_truth):
    from o3video.viz.compare import PREDICTED, TRUTH, span_row_y, span_x

    rect = with_truth.layout.truth_spans
    image = with_truth.image

    def at(seconds: float, row: int):
        return image.getpixel((round(rect.x0 + span_x(seconds, DURATION, rect.width)), rect.y0 + span_row_y(row)))

    assert [at(t, 0) == TRUTH for t in (0.5, 1.5, 2.9, 3.5)] == [False, True, True, False]  # truth 1 … 3 s
    # the answer states no span, so the row shows the cited times, 1.0 (ball) … 2.2 s (cup)
    assert [at(t, 1) == PREDICTED[0] for t in (0.5, 1.5, 2.1, 3.0)] == [False, True, True, False]


def test_a_vstar_records_ground_truth_is_read_from_its_fields():
    from o3video.viz import GroundTruth, TimedBox, vstar_truth

    record = {"timestamps": [2, 5], "width": 640, "height": 360,
              "bboxes": [{"timestamp": 3, "xmin": 1, "ymin": 2, "xmax": 30, "ymax": 40},
                         {"4": {"xmin": 5, "ymin": 6, "xmax": 50, "ymax": 60}}]}
    boxes = (TimedBox(3.0, (1, 2, 30, 40)), TimedBox(4.0, (5, 6, 50, 60)))
    assert vstar_truth(record) == GroundTruth((2.0, 5.0), boxes, (640, 360))
    assert vstar_truth({"question": "q"}).empty


def test_the_ground_truth_travels_into_every_format(frames, tmp_path):
    from o3video.viz import GroundTruth

    truth = GroundTruth(span=(1.0, 3.0))
    plain = save_evidence(tmp_path / "plain.png", frames, TWO_CLAIMS, question="q", duration=DURATION)
    marked = save_evidence(tmp_path / "truth.png", frames, TWO_CLAIMS, question="q", duration=DURATION, truth=truth)
    with Image.open(plain) as a, Image.open(marked) as b:
        assert b.height > a.height
    page = save_evidence(tmp_path / "truth.html", frames, TWO_CLAIMS, question="q", duration=DURATION, truth=truth)
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    summary = Image.open(io.BytesIO(base64.b64decode(parser.images[0].split(",", 1)[1])))
    assert summary.size == Image.open(marked).size
