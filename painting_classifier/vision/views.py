"""How a model input is cut into views (whole painting, k x k tiles), and how per-view maps are put back.

Pure NumPy, so serving needs no TensorFlow; ``models.py`` builds the same views inside the Keras graph.
"""
from __future__ import annotations

import numpy as np
from PIL import Image


def scale_slices(scales: list[int]) -> list[tuple[int, slice]]:
    """For each scale k, in order: (k, the slice of a painting's views that holds its k*k tiles)."""
    slices, start = [], 0
    for k in scales:
        slices.append((k, slice(start, start + k * k)))
        start += k * k
    return slices


def mosaic(tiles: np.ndarray, k: int) -> np.ndarray:
    """(k*k, h, w) tiles, row by row -> one (k*h, k*w) map: the inverse of cutting a k x k grid."""
    _, h, w = tiles.shape
    return tiles.reshape(k, k, h, w).transpose(0, 2, 1, 3).reshape(k * h, k * w)


def place_views(maps: np.ndarray, scales: list[int], size: int, border: int = 0) -> np.ndarray:
    """Per-view maps (n_views, h, w) -> one map over a ``size`` x ``size`` input: each tile where it came from,
    scales averaged, scaled to [0, 1] (all zeros when nothing is positive)."""
    inner = size - 2 * border  # the views cover the input minus its border
    total = np.zeros((size, size), np.float32)
    for k, views in scale_slices(scales):
        whole = Image.fromarray(mosaic(np.asarray(maps[views], np.float32), k))
        total[border:border + inner, border:border + inner] += np.asarray(
            whole.resize((inner, inner), Image.Resampling.BILINEAR))
    total = np.maximum(total, 0)
    peak = total.max()
    return total / peak if peak > 0 else total
