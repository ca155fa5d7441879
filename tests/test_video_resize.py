"""Model-input size: transformers' smart_resize with clear errors, and the real processor leaves our frames alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from transformers import Qwen2VLImageProcessor
from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize as hf_smart_resize

from o3video.video.resize import MAX_PIXELS, MIN_PIXELS, input_size, resize_image, smart_resize


@settings(max_examples=300, deadline=None)
@given(
    height=st.integers(1, 4000),
    width=st.integers(1, 4000),
    factor=st.sampled_from([28, 32]),
    budget=st.sampled_from([(4 * 28 * 28, 128 * 28 * 28), (56 * 56, 28 * 28 * 1280), (4 * 32 * 32, 128 * 32 * 32)]),
)
def test_smart_resize_matches_transformers(height, width, factor, budget):
    min_pixels, max_pixels = budget
    if max(height, width) / min(height, width) > 200:
        with pytest.raises(ValueError):
            smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
        return
    ours = smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    assert ours == hf_smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    assert ours[0] % factor == 0 and ours[1] % factor == 0


def test_paper_budget_for_common_sizes():
    assert input_size((1280, 720)) == (420, 224)
    assert input_size((1920, 1080)) == (420, 224)
    assert input_size((640, 480)) == (364, 252)
    for w, h in [(1280, 720), (720, 1280), (320, 240), (3840, 2160)]:
        iw, ih = input_size((w, h))
        assert iw * ih <= MAX_PIXELS and iw * ih >= MIN_PIXELS
        assert abs(iw / ih - w / h) / (w / h) < 0.12


@pytest.mark.parametrize("factor,patch", [(28, 14), (32, 16)])
@pytest.mark.parametrize("source", [(1280, 720), (128, 96), (100, 400), (64, 48)])
def test_the_qwen_image_processor_leaves_our_frames_unchanged(factor, patch, source):
    budget = {"min_pixels": 4 * factor * factor, "max_pixels": 128 * factor * factor}
    w, h = input_size(source, factor=factor, **budget)
    frame = resize_image(Image.new("RGB", source, (200, 30, 90)), (w, h))
    assert frame.size == (w, h)
    processors = [  # the processor at our budget, and at its own (much larger) defaults
        Qwen2VLImageProcessor(patch_size=patch, merge_size=2, size={"shortest_edge": budget["min_pixels"], "longest_edge": budget["max_pixels"]}),
        Qwen2VLImageProcessor(patch_size=patch, merge_size=2),
    ]
    for processor in processors:
        grid = processor(images=[frame], return_tensors="np")["image_grid_thw"]
        assert grid.tolist() == [[1, h // patch, w // patch]]


def test_resize_image_converts_to_rgb():
    gray = Image.fromarray(np.full((30, 40), 128, np.uint8))
    out = resize_image(gray, (56, 28))
    assert out.mode == "RGB" and out.size == (56, 28)
    assert resize_image(out, (56, 28)).size == (56, 28)
