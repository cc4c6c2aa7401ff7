"""Where the model looked: the top class's activation map from the forward pass itself (``export.py``), put
back over the painting. No gradients, no second pass, no TensorFlow."""
from __future__ import annotations

import numpy as np
from PIL import Image

from .views import place_views


def explanation_map(class_maps: np.ndarray, scales: list[int], input_size: int, border: int = 0) -> np.ndarray:
    """One image's per-view class maps (n_views, G, G) -> a map in [0, 1] over the model's input (input_size
    square): the positive evidence for the top class, each tile where it came from, scales averaged."""
    return place_views(np.maximum(class_maps, 0), scales, input_size, border)


def overlay(painting: Image.Image, heat: np.ndarray, max_side: int = 640, alpha: float = 0.45) -> Image.Image:
    """Blend a [0, 1] map (any square size) over the painting at its own aspect ratio (inferno colours)."""
    from matplotlib import colormaps

    image = painting.convert("RGB")
    image.thumbnail((max_side, max_side))
    heat_img = Image.fromarray(np.uint8(np.clip(heat, 0, 1) * 255)).resize(image.size, Image.Resampling.BILINEAR)
    coloured = colormaps["inferno"](np.asarray(heat_img) / 255.0)[..., :3]
    blended = (1 - alpha) * np.asarray(image, np.float32) / 255.0 + alpha * coloured
    return Image.fromarray(np.uint8(np.clip(blended, 0, 1) * 255))
