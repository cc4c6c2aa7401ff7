"""Near-duplicate paintings: the same picture at another size, crop, colour or compression.

Two paintings count as one when the cosine similarity of their EfficientNet-Lite0 (ImageNet)
embeddings -- the whole painting at 224 px, globally average-pooled -- is at least a threshold
(``Config.duplicate_similarity``);
groups are the connected components of that relation (identical files always group). Embeddings
are cached by file content, like the head's training features. Splits keep a group on one side.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..config import Config
from .data import Dataset
from .features import cached_features

EMBEDDING = Config(backbone="lite0", scales=[1])  # the model whose pooled features compare paintings
BLOCK = 1024  # rows of the similarity matrix computed at once (memory stays flat with the data set's size)


def embeddings(paths: list[str], sha1s, cache_dir: Path, progress: bool = True) -> np.ndarray:
    """L2-normalised Lite0 embeddings of image files (cached under ``cache_dir/features``)."""
    from .models import build_model, feature_extractor

    vectors = cached_features(lambda: feature_extractor(build_model(EMBEDDING, n_classes=1)), paths, sha1s,
                              EMBEDDING, cache_dir, progress=progress)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def similar_pairs(vectors: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) whose cosine similarity is at least ``threshold``."""
    rows, cols = [], []
    for start in range(0, len(vectors), BLOCK):
        block = vectors[start:start + BLOCK] @ vectors.T
        i, j = np.nonzero(block >= threshold)
        i = i + start
        keep = i < j
        rows.append(i[keep])
        cols.append(j[keep])
    return (np.concatenate(rows), np.concatenate(cols)) if rows else (np.zeros(0, int), np.zeros(0, int))


def group_ids(paintings: pd.DataFrame, vectors: np.ndarray, threshold: float,
              verified: tuple[np.ndarray, np.ndarray] | None = None) -> pd.Series:
    """A group id per painting: the sha1 of the group's first painting (a lone painting keeps its own).
    ``verified``: row pairs also to group, whatever their embeddings (``geometric_duplicates.pair_rows``)."""
    n = len(paintings)
    i, j = similar_pairs(vectors, threshold)
    if verified is not None:
        i, j = np.concatenate([i, verified[0]]), np.concatenate([j, verified[1]])
    first_of_file = paintings.groupby("sha1", sort=False).cumcount() == 0
    same_file = paintings["sha1"].map(dict(zip(paintings["sha1"][first_of_file], np.flatnonzero(first_of_file))))
    i = np.concatenate([i, np.arange(n)])
    j = np.concatenate([j, same_file.to_numpy()])
    _, component = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)
    first = pd.Series(np.arange(n)).groupby(component).transform("min").to_numpy()
    return pd.Series(paintings["sha1"].to_numpy()[first], index=paintings.index, name="group")


def find_groups(dataset: Dataset, cache_dir: Path, threshold: float, progress: bool = True,
                geometric: bool = False) -> pd.Series:
    """Near-duplicate group of every painting of ``dataset`` (``group_ids`` of their embeddings); with
    ``geometric``, paintings verified in one another are grouped too (``geometric_duplicates.py``; the gallery
    that needs is indexed under ``cache_dir/galleries``)."""
    paintings = dataset.paintings
    vectors = embeddings(dataset.files(paintings), paintings["sha1"], cache_dir, progress)
    verified = None
    if geometric:
        from .geometric_duplicates import copies_in, pair_rows

        folders = list(dataset.sources.values())
        key = hashlib.sha1("".join(sorted(paintings["sha1"])).encode()).hexdigest()[:16]
        verified = pair_rows(paintings, copies_in(folders, Path(cache_dir) / "galleries" / key, progress))
    return group_ids(paintings, vectors, threshold, verified)


def groups_table(table: pd.DataFrame) -> pd.DataFrame:
    """The groups of two or more paintings: group, source, path, artist, split (for the bundle)."""
    sizes = table.groupby("group")["group"].transform("size")
    return table.loc[sizes > 1, ["group", "source", "path", "artist", "split"]].sort_values(["group", "path"])
