"""Fine-tuning the top of the backbone together with the head, from the start, on cached activations.

Each painting has several training copies (``features.training_variants``). Every epoch draws one of them per
painting afresh, so an epoch costs one pass of the top blocks per painting while the copies still vary from epoch to
epoch. The backbone learns at a fraction of the head's learning rate (``BackboneScaledAdam``), so the head can
settle while the pretrained blocks move only a little.
"""
from __future__ import annotations

import keras
import numpy as np

from ..config import Config
from . import models
from .activations import Activations, set_tuned_blocks, upper_model


class BackboneScaledAdam(keras.optimizers.Adam):
    """Adam whose steps for ``scaled_variables`` are ``scale`` times the learning rate."""

    def __init__(self, scale: float, scaled_variables, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)
        self._scaled_keys = {self._var_key(v) for v in scaled_variables}

    def update_step(self, gradient, variable, learning_rate):
        if self._var_key(variable) in self._scaled_keys:
            learning_rate = learning_rate * self.scale
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


class CopyBatches(keras.utils.PyDataset):
    """Batches of (cached map, lower statistics) -> one-hot artist, with sample weights: one training copy per
    painting, drawn anew (seeded) at every epoch, paintings shuffled."""

    def __init__(self, activations: Activations, copies: list[np.ndarray], labels: np.ndarray, n_classes: int,
                 batch_size: int, class_weights: dict[int, float] | None, seed: int):
        super().__init__()
        self.activations, self.copies, self.batch_size = activations, copies, batch_size
        self.one_hot = np.eye(n_classes, dtype=np.float32)[labels]
        self.weights = (np.array([class_weights[int(label)] for label in labels], np.float32) if class_weights
                        else np.ones(len(labels), np.float32))
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.copies))
        self.drawn = np.array([rows[self.rng.integers(len(rows))] for rows in self.copies])

    def __len__(self) -> int:
        return int(np.ceil(len(self.copies) / self.batch_size))

    def __getitem__(self, index: int):
        paintings = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        rows = self.drawn[paintings]
        x = (self.activations.maps[rows].astype(np.float32), self.activations.lower[rows])
        return x, self.one_hot[paintings], self.weights[paintings]


def tuning_model(model: keras.Model, config: Config, first_block: int, learning_rate: float,
                 backbone_scale: float) -> keras.Model:
    """The trainable part above the cut, compiled: probabilities out, backbone steps scaled by ``backbone_scale``."""
    set_tuned_blocks(model, config, first_block)
    upper = upper_model(model, config, first_block)
    trainable = keras.Model(upper.inputs, upper.outputs[0], name="fine_tuning")
    head = {id(v) for v in model.get_layer(models.HEAD).weights}
    backbone = [v for v in trainable.trainable_weights if id(v) not in head]
    trainable.compile(
        optimizer=BackboneScaledAdam(backbone_scale, backbone, learning_rate=learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=5, name="top5")])
    return trainable


def features_above(model: keras.Model, config: Config, first_block: int, activations: Activations,
                   batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, head features) of cached activations through the model's current top."""
    upper = upper_model(model, config, first_block)
    probabilities, features = [], []
    for start in range(0, len(activations), batch_size):
        part = activations.take(slice(start, start + batch_size))
        p, f = upper((part.maps.astype(np.float32), part.lower), training=False)
        probabilities.append(np.asarray(p))
        features.append(np.asarray(f))
    return np.concatenate(probabilities), np.concatenate(features)
