import math

import pytest

from o3video.geometry import (
    BoxFormat,
    GeometryError,
    box_area,
    box_iou,
    clamp_box,
    from_pixels,
    rescale_box,
    temporal_iou,
    to_pixels,
)


def test_iou_hand_computed():
    assert box_iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert box_iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0
    assert box_iou([0, 0, 4, 4], [1, 1, 3, 3]) == pytest.approx(4 / 16)


@pytest.mark.parametrize(
    "bad",
    [[10, 0, 0, 10], [0, 0, 0, 10], [0, 0, 10], [0, 0, 10, 10, 1], [0, 0, math.nan, 10], [0, 0, math.inf, 10], "abcd", None],
)
def test_degenerate_boxes_score_zero(bad):
    assert box_iou(bad, [0, 0, 10, 10]) == 0.0
    assert box_iou([0, 0, 10, 10], bad) == 0.0
    assert box_area(bad) == 0.0


def test_temporal_iou():
    assert temporal_iou([0, 10], [5, 15]) == pytest.approx(5 / 15)
    assert temporal_iou([3.5, 7.0], [3.5, 7.0]) == 1.0
    assert temporal_iou([10, 5], [5, 10]) == 0.0  # reversed
    assert temporal_iou([5, 5], [5, 5]) == 0.0  # empty
    assert temporal_iou([0, math.nan], [0, 1]) == 0.0
    assert temporal_iou(None, [0, 1]) == 0.0
    assert temporal_iou([0, 1], [2, 3]) == 0.0


def test_conventions_to_pixels():
    size = (200, 100)
    assert to_pixels([0.1, 0.2, 0.5, 0.8], BoxFormat.XYXY_NORM, size) == pytest.approx([20, 20, 100, 80])
    assert to_pixels([100, 200, 500, 800], BoxFormat.XYXY_1000, size) == pytest.approx([20, 20, 100, 80])
    # VideoEspresso centre-size on 0–1000: centre (300, 500) → (60, 50) px, size (400, 600) → (80, 60) px
    assert to_pixels([300, 500, 400, 600], BoxFormat.CXCYWH_1000, size) == pytest.approx([20, 20, 100, 80])
    assert to_pixels([1, 2, 3, 4], "xyxy_px", size) == [1, 2, 3, 4]


@pytest.mark.parametrize("fmt", list(BoxFormat))
def test_from_pixels_inverts_to_pixels(fmt):
    size = (640, 360)
    box = [12.0, 30.0, 200.0, 301.0]
    assert to_pixels(from_pixels(box, fmt, size), fmt, size) == pytest.approx(box)


def test_rescale_and_clamp():
    assert rescale_box([200, 150, 300, 260], (640, 480), (448, 336)) == pytest.approx([140, 105, 210, 182])
    assert clamp_box([-5, 10, 700, 500], (640, 480)) == [0, 10, 640, 480]


@pytest.mark.parametrize("call", [
    lambda: to_pixels([1, 2, 3], "xyxy_norm", (10, 10)),
    lambda: to_pixels([1, 2, 3, math.nan], "xyxy_norm", (10, 10)),
    lambda: to_pixels([1, 2, 3, 4], "xyxy_norm", (0, 10)),
    lambda: rescale_box([1, 2, 3, 4], (10, -1), (5, 5)),
    lambda: clamp_box("box", (10, 10)),
])
def test_conversions_raise_clear_errors(call):
    with pytest.raises(GeometryError, match="box|size"):
        call()


def test_unknown_format_rejected():
    with pytest.raises(ValueError):
        to_pixels([0, 0, 1, 1], "yxyx", (10, 10))
