"""Model-input frame size: Qwen-VL's `smart_resize`, and the one resampling every frame goes through.

Qwen2.5-VL's image processor resizes every image to sides that are multiples of `factor`
(patch 14 x merge 2 = 28; Qwen3-VL: 16 x 2 = 32) with a pixel count inside [min_pixels, max_pixels].
We apply the same rule *before* the processor so that (a) the processor leaves our frames unchanged
and (b) we know the exact size the model sees, which box conversion needs. `tests/test_video_resize.py`
checks this function against transformers' own `smart_resize` and the real processor.
"""

from __future__ import annotations

from PIL import Image

from o3video.geometry import MAX_PIXELS, MIN_PIXELS

QWEN25_FACTOR = 28  # Qwen2.5-VL: patch 14 x spatial merge 2
QWEN3_FACTOR = 32  # Qwen3-VL: patch 16 x spatial merge 2


def smart_resize(
    height: int,
    width: int,
    *,
    factor: int = QWEN25_FACTOR,
    min_pixels: int = MIN_PIXELS,
    max_pixels: int = MAX_PIXELS,
) -> tuple[int, int]:
    """(height, width) with both sides multiples of `factor`, area in [min_pixels, max_pixels], aspect kept.

    This is transformers' own Qwen2-VL `smart_resize` (imported lazily: it pulls in torch), so our
    frames get exactly the size the processor would give them; we only add clear errors."""
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize as qwen_smart_resize

    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio must be below 200, got {width}x{height}")
    if min_pixels > max_pixels:
        raise ValueError(f"min_pixels {min_pixels} exceeds max_pixels {max_pixels}")
    return qwen_smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)


def input_size(
    source_size: tuple[int, int],
    *,
    factor: int = QWEN25_FACTOR,
    min_pixels: int = MIN_PIXELS,
    max_pixels: int = MAX_PIXELS,
) -> tuple[int, int]:
    """Model-input (W, H) for a source (W, H) — the project's size convention is (width, height)."""
    width, height = source_size
    h, w = smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    return w, h


def resize_image(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` as RGB at `size` (W, H), bicubic with antialiasing (PIL scales the kernel when shrinking)."""
    image = image.convert("RGB")
    if image.size == tuple(size):
        return image
    return image.resize(tuple(size), Image.Resampling.BICUBIC)
