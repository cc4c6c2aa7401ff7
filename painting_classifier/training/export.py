"""The bundle's LiteRT model: what the app needs from one forward pass, in one flat output row.

    image  ->  the Keras model  ->  [ probabilities (C) | features (D) | class map (n_views x G x G) ]

- **probabilities**: the head's calibrated softmax;
- **features**: what the head reads (the scope score's input);
- **class map**: a class activation map of the top class, computed without gradients. The head is linear
  in the view features (standardisation, then one Dense layer), and each view feature is a mean over
  the positions of a backbone map: a channel mean (pooled features, style means) or a standard deviation,
  whose square decomposes as a mean of squared deviations. So the top class's score before the softmax is,
  up to a constant, the sum over views and positions of

      sum_c a_c * x[p, c]               (means)      and      sum_c a_c * (x[p, c] - m_c)^2 / s_c   (deviations)

  divided by the map's size, with ``a`` the head's weights divided by the feature scale and by the tiles per
  scale. Each map's share is pooled (sum-preserving) to a grid of G x G per view (stride 16) and summed:
  the map of a painting adds up exactly to what its features give the class. ``views.place_views`` puts
  the tiles back where they came from.

Written by training (``save_bundle``) and by ``python -m painting_classifier export`` for older bundles,
with float16 weights (half the size; measured against float32 in docs/experiments.md).
"""
from __future__ import annotations

import contextlib
import io
import math
import re

import keras
import numpy as np
from keras import layers, ops

from ..logs import native_stderr_silenced
from ..vision.views import scale_slices
from .models import FEATURE_MAP_POOL, FEATURES, HEAD, HEAD_PROBABILITIES, HEAD_STANDARDISE, STYLE_STATS

MEAN, DEVIATION = "mean", "deviation"


class UnsupportedModel(RuntimeError):
    """A model LiteRT cannot run (an operation it lacks)."""


def _map_grid(view_size: int) -> int:
    """Cells per side of the class map of one view: the backbone's stride-16 resolution."""
    return max(1, math.ceil(view_size / 16))


def _view_maps(model: keras.Model) -> list[tuple[object, str]]:
    """The backbone maps behind each block of a view's features, in feature order: (tensor, MEAN or DEVIATION)."""
    names = {layer.name for layer in model.layers}
    segments = []
    if FEATURE_MAP_POOL in names:
        segments.append((model.get_layer(FEATURE_MAP_POOL).input, MEAN))
    if STYLE_STATS in names:
        for stage_map in model.get_layer(STYLE_STATS).input:
            segments += [(stage_map, MEAN), (stage_map, DEVIATION)]
    return segments


def class_weights_per_view(model: keras.Model, scales: list[int]) -> np.ndarray | None:
    """The head's weights folded onto one view's features: (classes, n_scales, view features), already divided by
    the feature scale and the tiles per scale. None for a head that is not linear (a hidden layer)."""
    head = model.get_layer(HEAD)
    head_layers = {layer.name: layer for layer in head.layers}
    if any(isinstance(layer, layers.Dense) and name != HEAD_PROBABILITIES for name, layer in head_layers.items()):
        return None
    kernel = np.asarray(head_layers[HEAD_PROBABILITIES].kernel, np.float64)  # (D, C)
    if HEAD_STANDARDISE in head_layers:
        variance = np.asarray(head_layers[HEAD_STANDARDISE].variance, np.float64).reshape(-1)
        kernel = kernel / np.maximum(np.sqrt(variance), keras.config.epsilon())[:, None]
    per_scale = kernel.reshape(len(scales), -1, kernel.shape[1])  # PoolViews concatenates the scales
    per_scale = per_scale / np.array([k * k for k in scales], np.float64)[:, None, None]  # mean over k*k tiles
    return per_scale.transpose(2, 0, 1).astype(np.float32)


class ClassActivationMap(layers.Layer):
    """The top class's activation map of every view of each image (see the module docstring):
    [probabilities (N, C), *maps (N * n_views, H_i, W_i, C_i)] -> (N, n_views * G * G)."""

    def __init__(self, weights: np.ndarray, kinds: list[str], view_scale: list[int], grid: int, **kwargs):
        super().__init__(**kwargs)
        self.kinds, self.view_scale, self.grid = kinds, view_scale, grid
        self._folded = np.asarray(weights, np.float32)

    def build(self, input_shape):
        self.folded = self.add_weight(shape=self._folded.shape, initializer="zeros", trainable=False, name="folded")
        self.folded.assign(self._folded)

    def _to_grid(self, share):
        """(B, H, W) -> (B, G, G), keeping each cell's sum."""
        h, g = share.shape[1], self.grid
        if h == g:
            return share
        if h > g and h % g == 0:
            f = h // g
            return ops.average_pool(share[..., None], f, f, padding="valid")[..., 0] * (f * f)
        if h < g and g % h == 0:
            f = g // h
            return ops.repeat(ops.repeat(share, f, axis=1), f, axis=2) / (f * f)
        return ops.image.resize(share[..., None], (g, g), interpolation="bilinear")[..., 0] * (h * h / (g * g))

    def call(self, inputs):
        probabilities, maps = inputs[0], inputs[1:]
        n_views = len(self.view_scale)
        # the top class as a one-hot row (argmax's TensorFlow lowering has an operation LiteRT lacks)
        top = ops.cast(ops.equal(probabilities, ops.max(probabilities, axis=-1, keepdims=True)), "float32")
        top = top / ops.sum(top, axis=-1, keepdims=True)
        classes, n_scales, dim = self._folded.shape
        weights = ops.reshape(ops.matmul(top, ops.reshape(self.folded, (classes, n_scales * dim))), (-1, n_scales, dim))
        weights = ops.take(weights, self.view_scale, axis=1)  # (N, n_views, D)
        weights = ops.reshape(weights, (-1, weights.shape[-1]))  # (N * n_views, D), views of an image consecutive
        total, start = 0.0, 0
        for x, kind in zip(maps, self.kinds):
            channels, size = x.shape[-1], x.shape[1] * x.shape[2]
            a = weights[:, start:start + channels][:, None, None, :]
            start += channels
            if kind == MEAN:
                share = ops.sum(x * a, axis=-1) / size
            else:
                deviation = x - ops.mean(x, axis=(1, 2), keepdims=True)
                scale = ops.sqrt(ops.mean(ops.square(deviation), axis=(1, 2), keepdims=True) + 1e-6)
                share = ops.sum(ops.square(deviation) * a / scale, axis=-1) / size
            total = total + self._to_grid(share)
        return ops.reshape(total, (-1, n_views * self.grid * self.grid))


def single_output_model(model: keras.Model, scales: list[int], view_size: int) -> tuple[keras.Model, dict]:
    """The model with one output row per image: probabilities, features and (for a linear head) the class map;
    and the layout of that row (``outputs``: sizes of each part, in order). A model without this package's
    feature and head layers gives its probabilities only."""
    names = {layer.name for layer in model.layers}
    parts, layout = [model.output], {"probabilities": int(model.output.shape[-1]), "features": 0}
    if FEATURES in names:
        parts.append(model.get_layer(FEATURES).output)
        layout["features"] = int(parts[-1].shape[-1])
    folded = class_weights_per_view(model, scales) if HEAD in names and FEATURES in names else None
    if folded is not None:
        segments = _view_maps(model)
        view_scale = [i for i, (k, _) in enumerate(scale_slices(scales)) for _ in range(k * k)]
        grid = _map_grid(view_size)
        cam = ClassActivationMap(folded, [kind for _, kind in segments], view_scale, grid, name="class_map")
        parts.append(cam([model.output] + [tensor for tensor, _ in segments]))
        layout["class_map"] = [len(view_scale), grid, grid]
    output = layers.Concatenate(name="served")(parts) if len(parts) > 1 else parts[0]
    return keras.Model(model.inputs, output, name="served"), layout


def litert_flatbuffer(model: keras.Model, scales: list[int], view_size: int,
                      float16: bool = True) -> tuple[bytes, dict]:
    """The serving model as a LiteRT (TFLite) flatbuffer, weights in float16 unless ``float16`` is False, and its
    output layout. Raises ``UnsupportedModel`` for a model LiteRT cannot express."""
    import tensorflow as tf

    served, layout = single_output_model(model, scales, view_size)
    converter = tf.lite.TFLiteConverter.from_keras_model(served)
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    try:
        with contextlib.redirect_stdout(io.StringIO()), native_stderr_silenced():  # the export lists every variable
            flatbuffer = converter.convert()
    except Exception as error:  # the converter raises several unrelated error types
        ops_missing = re.search(r"Custom ops: (.*)", str(error))
        reason = (f"uses operations LiteRT lacks ({ops_missing.group(1)})" if ops_missing
                  else str(error).splitlines()[0][:200])
        raise UnsupportedModel(f"LiteRT cannot convert this model: {reason}") from None
    return flatbuffer, {"outputs": layout, "weights": "float16" if float16 else "float32",
                        "tensorflow": tf.__version__}
