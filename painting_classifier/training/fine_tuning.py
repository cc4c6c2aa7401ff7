"""Fine-tuning the top of the backbone together with the head, from the start, on cached activations.

Each painting has several training copies (``features.training_variants``). Every epoch draws one of them per
painting afresh, so an epoch costs one pass of the top blocks per painting while the copies still vary from epoch to
epoch. The backbone learns at a fraction of the head's learning rate (``BackboneScaledAdam``), so the head can
settle while the pretrained blocks move only a little.
"""
from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from ..config import MAX_TUNED_BLOCKS, Config
from . import models
from .activations import Activations, cached_activations, deeper_cut, first_tuned_block, set_tuned_blocks, upper_model
from .features import AS_IS, SQUASHED, HeadFeatures, Variant, larger_than_thumbnails, training_variants
from .stages import run_stage, stage_history, validate_head

log = logging.getLogger(__name__)


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
    compile_tuning(trainable, model, config, learning_rate, backbone_scale)
    return trainable


def compile_tuning(trainable: keras.Model, model: keras.Model, config: Config, learning_rate: float,
                   backbone_scale: float) -> None:
    """Compile (again) the part above the cut with a fresh optimizer."""
    head = {id(v) for v in model.get_layer(models.HEAD).weights}
    backbone = [v for v in trainable.trainable_weights if id(v) not in head]
    trainable.compile(
        optimizer=BackboneScaledAdam(backbone_scale, backbone, learning_rate=learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=5, name="top5")])


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


class TunedFeatures(HeadFeatures):
    """The head's features of a run's paintings through the model's (fine-tuned) top, computed from the activations
    cached below the lowest cut (``MAX_TUNED_BLOCKS``), so the scope score and the validation see the final model."""

    def __init__(self, model, dataset, config: Config, cache_dir: Path, progress: bool):
        super().__init__(model, dataset, config, cache_dir, progress)
        self.first = first_tuned_block(config, config.fine_tune_blocks)
        self.cached_at = first_tuned_block(config, MAX_TUNED_BLOCKS)

    def activations(self, files: list[str], sha1s, variant: Variant = AS_IS) -> Activations:
        """The activations entering the first tuned block of one ``variant`` of each file."""
        below = cached_activations(self.model, self.config, self.cached_at, files, sha1s, self.cache_dir, variant,
                                   self.progress)
        return deeper_cut(self.model, self.config, self.cached_at, self.first, below)

    def of(self, paintings: pd.DataFrame, variant: Variant = AS_IS) -> np.ndarray:
        return features_above(self.model, self.config, self.first,
                              self.activations(self.dataset.files(paintings), paintings["sha1"], variant))[1]

    def of_files(self, images: pd.DataFrame, variant: Variant = AS_IS) -> np.ndarray:
        return features_above(self.model, self.config, self.first,
                              self.activations(list(images["file"]), images["sha1"], variant))[1]

    def training_copies(self, paintings: pd.DataFrame) -> tuple[Activations, list[np.ndarray]]:
        """(the activations of every training copy of ``paintings``, the rows of each painting's copies)."""
        parts, owners = [], []
        for variant in training_variants(self.config):
            parts.append(self.activations(self.dataset.files(paintings), paintings["sha1"], variant))
            owners.append(np.arange(len(paintings)))
        if self.config.thumbnail_copies:
            larger = np.flatnonzero(larger_than_thumbnails(paintings))
            rows = paintings.iloc[larger]
            parts.append(self.activations(self.dataset.files(rows), rows["sha1"], SQUASHED))
            owners.append(larger)
        owner = np.concatenate(owners)
        order = np.argsort(owner, kind="stable")
        starts = np.searchsorted(owner[order], np.arange(len(paintings) + 1))
        return Activations.join(parts), [order[starts[i]:starts[i + 1]] for i in range(len(paintings))]


def tune_top(run) -> None:
    """The stage that fine-tunes the backbone's top ``fine_tune_blocks`` blocks with the head from the start (on
    drawn training copies, stopping on validation loss), then calibrates on validation and, with ``refit``, trains
    again from the same start on train + validation for the epochs validation chose."""
    config = run.config
    features = run.features = TunedFeatures(run.model, run.dataset, config, run.cache, run.progress)
    train = run.part("train")
    activations, copies = features.training_copies(train)
    head = run.model.get_layer(models.HEAD)
    one_each = activations.take(np.array([rows[0] for rows in copies]))  # one copy each is enough to standardise on
    models.adapt_head(head, features_above(run.model, config, features.first, one_each)[1])
    trainable = tuning_model(run.model, config, features.first, config.fine_tune_learning_rate,
                             config.backbone_learning_rate_scale)
    initial = run.state / "initial_tuned.weights.h5"
    if not initial.is_file():
        trainable.save_weights(initial)
    fit = {"x": CopyBatches(activations, copies, train["label"].to_numpy(), run.n_classes, config.batch_size,
                            run.fit_class_weights("train"), config.seed), "epochs": config.fine_tune_epochs}
    if run.has_val:
        val = run.part("val")
        held = features.activations(run.dataset.files(val), val["sha1"])
        fit["validation_data"] = ((held.maps.astype(np.float32), held.lower),
                                  np.eye(run.n_classes, dtype=np.float32)[val["label"]])
    log.info(f"Fine-tuning the top {config.fine_tune_blocks} backbone blocks with the head, on {len(activations)} "
             f"cached copies of {len(train)} paintings (one drawn per painting each epoch)")
    run_stage(run, "tune", trainable, fit, patience=config.fine_tune_patience)
    if run.has_val:
        run.validation = validate_head(run, head, features)
    if config.refit and run.has_val:
        _refit_tuned(run, trainable, features, initial)


def _refit_tuned(run, trainable: keras.Model, features: TunedFeatures, initial: Path) -> None:
    """Fine-tune again from the same start on train + validation, for the epochs validation chose."""
    config = run.config
    logged = stage_history(run.state, "tune")
    epochs = int(logged.loc[logged["val_loss"].idxmin(), "epoch"]) + 1  # CSVLogger counts from 0
    run.fitted_on = ("train", "val")
    paintings = run.part(*run.fitted_on)
    activations, copies = features.training_copies(paintings)
    trainable.load_weights(initial)
    compile_tuning(trainable, run.model, config, config.fine_tune_learning_rate, config.backbone_learning_rate_scale)
    log.info(f"Refit: fine-tuning again from the start on train + validation ({len(paintings)} paintings), "
             f"{epochs} epochs as chosen on validation")
    fit = {"x": CopyBatches(activations, copies, paintings["label"].to_numpy(), run.n_classes, config.batch_size,
                            run.fit_class_weights(*run.fitted_on), config.seed), "epochs": epochs}
    run_stage(run, "tune_refit", trainable, fit, keep_last=True)
    if run.validation and run.validation["temperature"] is not None:  # the refit head keeps that temperature
        models.set_temperature(run.model.get_layer(models.HEAD), run.validation["temperature"])
