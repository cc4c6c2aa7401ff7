"""The verified copies among a gallery's paintings (a detail and its whole, a squashed thumbnail), found once with
the recognition's check (``training/geometric_duplicates.verified_pairs``, about 10 min on 2 cores) and cached
under the user's cache dir by the gallery's paintings."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def verified_gallery_pairs(gallery, folders: dict[str, Path] | None = None) -> pd.DataFrame:
    """(a, b, inliers) rows of ``gallery`` verified in one another; ``folders``: data folder name -> where it is
    (default: the folders the gallery was indexed from)."""
    from painting_classifier.config import default_cache_dir
    from painting_classifier.serving.similar import paintings_key
    from painting_classifier.training.geometric_duplicates import verified_pairs

    cached = default_cache_dir() / "verified-pairs" / f"{paintings_key(gallery)}.csv"
    if cached.is_file():
        return pd.read_csv(cached)
    pairs = verified_pairs(gallery, gallery.source_folders if folders is None else folders)
    cached.parent.mkdir(parents=True, exist_ok=True)
    pairs.to_csv(cached, index=False)
    return pairs


def gallery_table(gallery, bundle) -> pd.DataFrame:
    """The gallery's paintings with the bundle's ``split`` ("other" for paintings it did not train on) and
    near-duplicate ``group`` (the painting's own sha1 where it has none)."""
    table = gallery.paintings.copy()
    split = bundle.split.drop_duplicates("sha1").set_index("sha1")
    table["split"] = table["sha1"].map(split["split"]).fillna("other")
    table["group"] = table["sha1"].map(split["group"]).fillna(table["sha1"])
    return table


def honest_groups(table: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """Each gallery row's group (``gallery_table``'s ``group``), joined through the verified copies ``pairs``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(table)
    first = table.groupby("group", sort=False).ngroup().to_numpy()
    i = np.concatenate([np.arange(n), pairs["a"].to_numpy()])
    j = np.concatenate([pd.Series(np.arange(n)).groupby(first).transform("min").to_numpy(), pairs["b"].to_numpy()])
    return connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)[1]


def unseen_predictor(model: Path, split: str):
    """The bundle's predictor answering its ``split`` paintings as paintings the project does not hold: no
    recognition (the gallery holds them), and similar paintings from the gallery without them, their
    near-duplicates and their verified copies."""
    from painting_classifier import Predictor

    predictor = Predictor.from_bundle(model)
    gallery, similar = predictor.gallery, predictor.similar
    predictor.gallery = None
    if similar is not None:
        table = gallery_table(gallery, predictor.bundle)
        groups = honest_groups(table, verified_gallery_pairs(gallery))
        held = np.isin(groups, groups[(table["split"] == split).to_numpy()])
        predictor.similar = similar.leaving_out(gallery, held)
    return predictor
