"""Copies of one painting that a global embedding misses: a detail and its whole, a squashed thumbnail, another
crop. The recognition's own check finds them: each painting, looked up in a gallery of all the others (visual-word
votes, then a RANSAC homography of its keypoints), is paired with every other painting verified in it. Splits then
keep such pairs on one side (``near_duplicates.group_ids``), so no painting is tested on a detail of itself.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..serving.cpus import usable_cpus
from ..serving.gallery import MIN_INLIERS, Gallery
from ..serving.gallery_index import build_gallery
from ..vision.images import load_rgb
from ..vision.local_features import PHOTO_KEYPOINTS, PHOTO_SIDE, local_features

CANDIDATES = 6  # paintings checked per painting: the most voted for, itself aside


def verified_pairs(gallery: Gallery, folders: dict[str, Path], progress: bool = True) -> pd.DataFrame:
    """Every pair of gallery paintings (``a`` < ``b``, rows of its paintings.csv) one of which is verified in the
    other, with the inliers; ``folders``: data folder name -> where it is."""
    def pairs_of(row: int) -> list[tuple[int, int, int]]:
        entry = gallery.paintings.iloc[row]
        try:
            seen = local_features(load_rgb(folders[entry["source"]] / entry["file"]), PHOTO_KEYPOINTS, PHOTO_SIDE)
        except (OSError, ValueError):
            return []
        return [(min(row, other), max(row, other), match.inliers)
                for other, match in gallery.verified(seen, MIN_INLIERS, CANDIDATES + 1) if other != row]

    gallery.load()
    with ThreadPoolExecutor(usable_cpus()) as pool:
        found = list(tqdm(pool.map(pairs_of, range(len(gallery))), total=len(gallery), desc="Verified copies",
                          unit="img", disable=not progress))
    table = pd.DataFrame([pair for pairs in found for pair in pairs], columns=["a", "b", "inliers"])
    return table.sort_values("inliers", ascending=False).drop_duplicates(["a", "b"]).sort_values(["a", "b"])


def copies_in(folders: list[Path], work: Path, progress: bool = True) -> pd.DataFrame:
    """The verified pairs among the paintings of ``folders``, as (source, path) of both and the inliers; the
    gallery it needs is indexed in ``work`` (kept: indexing again gives the same files)."""
    folders = [Path(f) for f in folders]
    if not (work / "gallery.json").is_file():
        build_gallery(folders, work, progress=progress)
    gallery = Gallery(work)
    pairs = verified_pairs(gallery, {f.name: f for f in folders}, progress)
    where = gallery.paintings[["source", "file"]].to_numpy()
    return pd.DataFrame({"source_a": where[pairs["a"], 0], "path_a": where[pairs["a"], 1],
                         "source_b": where[pairs["b"], 0], "path_b": where[pairs["b"], 1],
                         "inliers": pairs["inliers"].to_numpy()}) if len(pairs) else \
        pd.DataFrame(columns=["source_a", "path_a", "source_b", "path_b", "inliers"])


def pair_rows(paintings: pd.DataFrame, copies: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The verified copies as row pairs of ``paintings`` (a data set's table: source, path); pairs of which one
    painting is not in the table are left out."""
    row_of = {key: i for i, key in enumerate(zip(paintings["source"], paintings["path"]))}
    rows = [(row_of.get((a, b)), row_of.get((c, d))) for a, b, c, d in
            zip(copies["source_a"], copies["path_a"], copies["source_b"], copies["path_b"])]
    kept = [(i, j) for i, j in rows if i is not None and j is not None]
    return (np.array([i for i, _ in kept], int), np.array([j for _, j in kept], int)) if kept else \
        (np.zeros(0, int), np.zeros(0, int))
