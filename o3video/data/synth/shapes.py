"""Binary masks of the world's shapes. Every mask touches all four sides of its square, so the
full (unoccluded, on-canvas) ground-truth box of an object is exactly its square."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def _centres(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = np.arange(size) + 0.5
    return c[None, :], c[:, None]  # x, y of pixel centres


@lru_cache(maxsize=256)
def shape_mask(shape: str, size: int) -> np.ndarray:
    """(size, size) bool mask of `shape`, read-only (shared by the cache)."""
    x, y = _centres(size)
    r = size / 2
    if shape == "square":
        mask = np.ones((size, size), dtype=bool)
    elif shape == "circle":
        mask = (x - r) ** 2 + (y - r) ** 2 <= r * r
    elif shape == "triangle":
        # apex at the top centre, base on the bottom row; the top two rows are kept 2 px wide so the
        # apex survives 4:2:0 chroma subsampling.
        half_width = np.maximum(r * y / size, 1.0)
        mask = np.abs(x - r) <= half_width
    elif shape == "cross":
        arm = max(2, int(round(size / 3 / 2)) * 2)
        lo = (size - arm) // 2
        mask = np.zeros((size, size), dtype=bool)
        mask[lo : lo + arm, :] = True
        mask[:, lo : lo + arm] = True
    else:
        raise ValueError(f"unknown shape {shape!r}")
    mask = np.broadcast_to(mask, (size, size)).copy()
    mask.setflags(write=False)
    return mask
