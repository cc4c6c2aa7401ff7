"""Backbone features of paintings, computed once and cached on disk for training the head (stage 1).

A painting's features exist in several variants: as it is, mirrored, and as degraded copies
(``augment.py``: what real uploads look like). Each variant is cached under its own file name.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from PIL import ImageOps
from tqdm.auto import tqdm

from ..config import Config
from ..vision import photo_effects
from ..vision.images import load_rgb, resize_square
from . import augment, models
from .data import Dataset

FEATURES_VERSION = "2"  # bump when feature extraction changes so stale caches are not reused


def features_key(config: Config) -> str:
    """Cache folder name: everything in ``config`` that changes the features."""
    weights_id = config.weights
    if weights_id not in ("imagenet", "none") and Path(weights_id).is_file():
        weights_id = hashlib.sha1(Path(weights_id).read_bytes()).hexdigest()
    spec = [FEATURES_VERSION, config.backbone, weights_id, config.effective_view_size, config.scales,
            config.style_stats, config.pooled_features, config.border]
    return f"{config.backbone}-" + hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Variant:
    """How a painting file becomes the model's input: as it is, mirrored, or degraded copy ``copy``
    drawn with ``seed``."""

    mirrored: bool = False
    copy: int | None = None
    seed: int = 0
    recoded: bool = False  # stored as every training source is (``photo_effects.recoded``); not with ``copy``
    squashed: bool = False  # a squashed web thumbnail (``photo_effects.squashed``); alone only
    grayscale: bool = False  # in black and white
    museum: bool = False  # photographed in a museum (``augment.museum_photo``, drawn with ``seed``); alone only

    @property
    def suffix(self) -> str:
        """What the cache file name adds to the painting's sha1."""
        degraded = "" if self.copy is None else f"_deg{augment.AUGMENT_VERSION}s{self.seed}c{self.copy}"
        recoded = f"_r{photo_effects.RECODED_SIDE}q{photo_effects.RECODED_QUALITY}" if self.recoded else ""
        squashed = f"_sq{photo_effects.SQUASHED_SIDE}q{photo_effects.SQUASHED_QUALITY}" if self.squashed else ""
        museum = f"_mus{augment.AUGMENT_VERSION}s{self.seed}" if self.museum else ""
        return (degraded + recoded + squashed + museum + ("_gray" if self.grayscale else "")
                + ("_flip" if self.mirrored else ""))

    def load(self, path: str, sha1: str, size: int) -> np.ndarray:
        """The uint8 ``size`` x ``size`` input for this variant of one painting."""
        if self.squashed:
            img = photo_effects.squashed(load_rgb(path))  # fully decoded, as benchmarks/experiments/thumbnail_probe.py chose it
        elif self.museum:
            img = augment.museum_photo(load_rgb(path, min_side=size), augment.copy_rng(self.seed, sha1, 0))
        elif self.copy is not None:
            img = augment.degraded_copy(load_rgb(path, min_side=size), augment.copy_rng(self.seed, sha1, self.copy))
        elif self.recoded:
            img = photo_effects.recoded(load_rgb(path))
        else:
            img = load_rgb(path, min_side=size)
        if self.grayscale:
            img = ImageOps.grayscale(img).convert("RGB")
        array = resize_square(img, size)
        return np.ascontiguousarray(array[:, ::-1]) if self.mirrored else array


AS_IS, MIRRORED = Variant(), Variant(mirrored=True)
RECODED, RECODED_MIRRORED = Variant(recoded=True), Variant(mirrored=True, recoded=True)
SQUASHED = Variant(squashed=True)
IN_MUSEUM = Variant(museum=True)


def cached_features(extractor: Callable, paths: list[str], sha1s, config: Config, cache_dir: Path,
                    variant: Variant = AS_IS, progress: bool = True) -> np.ndarray:
    """Backbone features of one ``variant`` of each image file, computed once and cached on disk under
    ``cache_dir/features/<backbone key>/<file sha1><variant suffix>.npy``.

    ``extractor`` is a function that builds the feature model; it is called only when some
    features are missing.
    """
    folder = cache_dir / "features" / features_key(config)
    folder.mkdir(parents=True, exist_ok=True)
    sha1s = list(sha1s)
    files = [folder / f"{sha}{variant.suffix}.npy" for sha in sha1s]
    missing = [i for i, f in enumerate(files) if not f.is_file()]
    if missing:
        desc = "Computing features" + (f" ({variant.suffix.strip('_')})" if variant.suffix else "")
        _compute_features(extractor(), variant, [(str(paths[i]), sha1s[i]) for i in missing],
                          [files[i] for i in missing], config.input_size, desc, progress)
    return np.stack([np.load(f) for f in files]) if files else np.zeros((0, 0), np.float32)


def variant_batches(variant: Variant, items: list[tuple[str, str]], input_size: int):
    """A tf.data stream of the model inputs of one ``variant`` of each (path, sha1) in ``items``, decoded in parallel,
    in batches of four."""
    import tensorflow as tf

    def load(index):
        path, sha1 = items[int(index)]
        return variant.load(path, sha1, input_size)

    def decode(index):
        image = tf.numpy_function(load, [index], tf.uint8, stateful=False)
        image.set_shape((input_size, input_size, 3))
        return tf.cast(image, tf.float32)

    return (tf.data.Dataset.range(len(items)).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(4).prefetch(tf.data.AUTOTUNE))


def _compute_features(extractor, variant: Variant, items: list[tuple[str, str]], targets: list[Path],
                      input_size: int, desc: str, progress: bool) -> None:
    batches = variant_batches(variant, items, input_size)
    forward = models.compiled_forward(extractor)
    written = iter(targets)
    with tqdm(total=len(items), desc=desc, unit="img", disable=not progress) as bar:
        for images in batches:
            for row in forward(images).numpy():
                target = next(written)
                tmp = target.with_suffix(".tmp.npy")
                np.save(tmp, row.astype(np.float32))
                tmp.replace(target)  # atomic: a killed run never leaves half a file
            bar.update(len(images))


class HeadFeatures:
    """The head's training data: cached features of a run's paintings, with one-hot labels."""

    def __init__(self, model, dataset: Dataset, config: Config, cache_dir: Path, progress: bool):
        self.model, self.dataset, self.config, self.cache_dir, self.progress = model, dataset, config, cache_dir, progress
        self.one_hot = np.eye(len(dataset.classes), dtype=np.float32)

    @cached_property
    def extractor(self):
        """The model up to its features (built when features are first missing)."""
        return models.feature_extractor(self.model)

    def of(self, paintings: pd.DataFrame, variant: Variant = AS_IS) -> np.ndarray:
        """Features of one ``variant`` of ``paintings``."""
        return cached_features(lambda: self.extractor, self.dataset.files(paintings),
                               paintings["sha1"], self.config, self.cache_dir, variant, self.progress)

    def of_files(self, images: pd.DataFrame, variant: Variant = AS_IS) -> np.ndarray:
        """Features of one ``variant`` of images outside the data set (columns ``file`` and ``sha1``)."""
        return cached_features(lambda: self.extractor, list(images["file"]), images["sha1"], self.config,
                               self.cache_dir, variant, self.progress)

    def labelled(self, paintings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(features, one-hot labels) of ``paintings`` as they are."""
        return self.of(paintings), self.one_hot[paintings["label"]]

    def training_variants(self) -> list[Variant]:
        """The variants the head trains on (``training_variants``)."""
        return training_variants(self.config)

    def training_set(self, paintings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(features, one-hot labels) to train on: every training variant of ``paintings``, and with
        ``thumbnail_copies`` a squashed thumbnail of each painting stored larger than one."""
        blocks = self._training_blocks(paintings, self.of)
        return (np.concatenate([x for x, _ in blocks]),
                np.concatenate([self.one_hot[rows["label"]] for _, rows in blocks]))

    def training_set_of_files(self, images: pd.DataFrame) -> np.ndarray:
        """Features to train on of images outside the data set (columns ``file``, ``sha1``, ``width`` and
        ``height``), with the same variants as ``training_set``."""
        return np.concatenate([x for x, _ in self._training_blocks(images, self.of_files)])

    def _training_blocks(self, table: pd.DataFrame, features_of: Callable) -> list[tuple[np.ndarray, pd.DataFrame]]:
        """(features, the rows of ``table`` they belong to) for each training variant, ``features_of(rows, variant)``
        computing them."""
        blocks = [(features_of(table, variant), table) for variant in self.training_variants()]
        if self.config.thumbnail_copies:
            larger = table[larger_than_thumbnails(table)]
            blocks.append((features_of(larger, SQUASHED), larger))
        return blocks


def training_variants(config: Config) -> list[Variant]:
    """The variants a painting is trained on: as is (re-encoded with ``recode``), mirrored with ``augment``,
    ``degraded_copies`` copies, in black and white with ``grayscale_copies``, and photographed in a museum with
    ``museum_copies`` (and a squashed thumbnail with ``thumbnail_copies``, for paintings stored larger than one)."""
    clean, mirrored = (RECODED, RECODED_MIRRORED) if config.recode else (AS_IS, MIRRORED)
    return ([clean] + [mirrored] * config.augment
            + [Variant(copy=i, seed=config.seed) for i in range(config.degraded_copies)]
            + [Variant(recoded=config.recode, grayscale=True)] * config.grayscale_copies
            + [IN_MUSEUM] * config.museum_copies)


def larger_than_thumbnails(images: pd.DataFrame) -> np.ndarray:
    """Which images (columns ``width`` and ``height``: their stored size) are larger than a squashed thumbnail
    (long side above ``photo_effects.SQUASHED_SIDE``): those get a thumbnail copy with ``thumbnail_copies``."""
    return (images[["width", "height"]].max(axis=1) > photo_effects.SQUASHED_SIDE).to_numpy()
