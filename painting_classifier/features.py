"""Backbone features of paintings, computed once and cached on disk for training the head (stage 1)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import models
from .config import Config
from .data import Dataset, tf_image_dataset

FEATURES_VERSION = "2"  # bump when feature extraction changes so stale caches are not reused


def features_key(config: Config) -> str:
    """Cache folder name: everything in ``config`` that changes the features."""
    weights_id = config.weights
    if weights_id not in ("imagenet", "none") and Path(weights_id).is_file():
        weights_id = hashlib.sha1(Path(weights_id).read_bytes()).hexdigest()
    spec = [FEATURES_VERSION, config.backbone, weights_id, config.effective_view_size, config.scales,
            config.style_stats, config.pooled_features, config.border]
    return f"{config.backbone}-" + hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:16]


def cached_features(extractor, paths: list[str], sha1s, config: Config, cache_dir: Path,
                    flip: bool = False, progress: bool = True) -> np.ndarray:
    """Backbone features of each image file (or its mirror image), computed once and cached on
    disk under ``cache_dir/features/<backbone key>/<file sha1>[_flip].npy``."""
    folder = cache_dir / "features" / features_key(config)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "_flip" if flip else ""
    files = [folder / f"{sha}{suffix}.npy" for sha in sha1s]
    missing = [i for i, f in enumerate(files) if not f.is_file()]
    if missing:
        desc = "Computing features" + (" (mirrored)" if flip else "")
        _compute_features(extractor, [str(paths[i]) for i in missing], [files[i] for i in missing],
                          config.input_size, flip, desc, progress)
    return np.stack([np.load(f) for f in files]) if files else np.zeros((0, 0), np.float32)


def _compute_features(extractor, paths: list[str], targets: list[Path], input_size: int, flip: bool, desc: str,
                      progress: bool) -> None:
    import tensorflow as tf

    batches = tf_image_dataset(paths, None, input_size, 1, batch_size=4)
    forward = models.compiled_forward(extractor)
    written = iter(targets)
    with tqdm(total=len(paths), desc=desc, unit="img", disable=not progress) as bar:
        for images, _ in batches:
            if flip:
                images = tf.image.flip_left_right(images)
            for row in forward(images).numpy():
                target = next(written)
                tmp = target.with_suffix(".tmp.npy")
                np.save(tmp, row.astype(np.float32))
                tmp.replace(target)  # atomic: a killed run never leaves half a file
            bar.update(len(images))


class HeadFeatures:
    """The head's training data: cached features of a run's paintings, with one-hot labels."""

    def __init__(self, model, dataset: Dataset, config: Config, cache_dir: Path, progress: bool):
        self.extractor = models.feature_extractor(model)
        self.dataset, self.config, self.cache_dir, self.progress = dataset, config, cache_dir, progress
        self.one_hot = np.eye(len(dataset.classes), dtype=np.float32)

    def of(self, paintings: pd.DataFrame, flip: bool = False) -> np.ndarray:
        """Features of ``paintings`` (or of their mirror images)."""
        return cached_features(self.extractor, self.dataset.files(paintings), paintings["sha1"], self.config,
                               self.cache_dir, flip, self.progress)

    def labelled(self, paintings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(features, one-hot labels) of ``paintings`` as they are."""
        return self.of(paintings), self.one_hot[paintings["label"]]

    def training_set(self, paintings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(features, one-hot labels) to train on: plus the mirror images with ``config.augment``."""
        x, y = self.labelled(paintings)
        if self.config.augment:
            x, y = np.concatenate([x, self.of(paintings, flip=True)]), np.concatenate([y, y])
        return x, y
