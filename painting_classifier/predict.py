"""Serving a bundle: top-k artists for one image, and Grad-CAM "where the model looked"."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .bundle import Bundle, load_bundle
from .images import load_array


class Predictor:
    """Top-k artist predictions for images of any kind (path, bytes or PIL image).

    The model is called directly through a compiled ``tf.function`` (no per-call
    ``model.predict`` overhead) and warmed up on construction.
    """

    def __init__(self, bundle: Bundle, tta: bool | None = None, warm_up: bool = True):
        import tensorflow as tf

        self.bundle = bundle
        self.model = bundle.model
        self.input_size = bundle.input_size
        self.tta = bundle.config.tta if tta is None else tta
        self.names = bundle.display_names
        from .models import compiled_forward

        self._forward = compiled_forward(self.model)
        self._gradcam_model = None
        if warm_up:
            self._forward(tf.zeros((2 if self.tta else 1, self.input_size, self.input_size, 3)))

    @classmethod
    def from_bundle(cls, path: str | Path, **kwargs) -> "Predictor":
        return cls(load_bundle(path), **kwargs)

    def prepare(self, image) -> np.ndarray:
        """The uint8 square array the model sees; ``ValueError`` for what is not a usable image."""
        return load_array(image, self.input_size)

    def probabilities(self, image) -> np.ndarray:
        """Probability of every artist (bundle order) for one image."""
        array = self.prepare(image).astype(np.float32)[None]
        if self.tta:
            array = np.concatenate([array, array[:, :, ::-1]])
        return np.asarray(self._forward(array)).mean(axis=0)

    def predict(self, image, top_k: int = 5) -> list[tuple[str, float]]:
        """``[(artist name, probability), ...]`` for the ``top_k`` most likely artists, best first."""
        probs = self.probabilities(image)
        order = np.argsort(-probs)[: max(1, int(top_k))]
        return [(self.names[i], float(probs[i])) for i in order]

    def gradcam(self, image, class_index: int | None = None) -> np.ndarray:
        """Grad-CAM heatmap in [0, 1] (input_size x input_size) for ``class_index`` (default: the top class).

        With multi-scale views, each view's map is put back where its tile came
        from and the scales are averaged, so fine tiles sharpen the global map.
        """
        import keras
        import tensorflow as tf

        from .models import FEATURE_MAP_POOL

        if self._gradcam_model is None:
            feature_map = self.model.get_layer(FEATURE_MAP_POOL).input
            self._gradcam_model = keras.Model(self.model.inputs, [feature_map, self.model.output])
        array = tf.constant(self.prepare(image).astype(np.float32)[None])
        with tf.GradientTape() as tape:
            maps, probs = self._gradcam_model(array, training=False)
            index = int(tf.argmax(probs[0])) if class_index is None else int(class_index)
            score = probs[0, index]
        grads = tape.gradient(score, maps).numpy()
        maps = maps.numpy()
        weights = grads.mean(axis=(1, 2), keepdims=True)
        cams = np.maximum((weights * maps).sum(axis=-1), 0)  # (n_views, h, w)
        size = self.input_size
        scales = self.bundle.config.scales
        total = np.zeros((size, size), np.float32)
        start = 0
        for k in scales:
            h, w = cams.shape[1:]
            tiles = cams[start:start + k * k].reshape(k, k, h, w).transpose(0, 2, 1, 3).reshape(k * h, k * w)
            start += k * k
            total += np.asarray(Image.fromarray(tiles.astype(np.float32)).resize((size, size), Image.Resampling.BILINEAR))
        peak = total.max()
        return total / peak if peak > 0 else total
