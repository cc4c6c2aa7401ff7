"""The reference gallery: paintings the project holds, recognised in a photo as a museum guide does.

A gallery is a folder (``gallery_index.py`` writes one):

    gallery.json         format, how the keypoints were found, the files and their sha256
    paintings.csv        per painting: file, source (data folder), artist, title, year, museum, sha1
    offsets.npy          where each painting's keypoints start (int64, one more than paintings)
    points.npy           every keypoint's place, as shares of its painting's width and height (uint16, 1 = 65535)
    descriptors-NN.npy   their SIFT descriptors (uint8), in files under 10 MB
    features-<model>.npy the model's features of every painting, projected and normalised (float16): the
    projection-<model>.npz  shortlist, one file pair per model (named by the first 12 digits of its checksum)

The local features depend only on the paintings, so a retrain rewrites only the small model files. Recognition
has two steps (``recognise``): the gallery paintings nearest to what the model saw (cosine similarity of its
features, a shortlist), then the geometric check of ``vision.local_features`` on each; the match with the most
inliers above the threshold wins.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..artists import normalise_name
from ..vision.local_features import LocalFeatures, Match, photo_features, verified_match

GALLERY_FORMAT = 1
log = logging.getLogger(__name__)
SHORTLIST = 12  # gallery paintings checked per view of the photo
GATE = 0.5  # cosine similarity below which no gallery painting is checked at all (a cheap "nothing alike")
MIN_INLIERS = 14  # chosen on validation for precision first (benchmarks/quality/recognition.py)


class GalleryError(Exception):
    """A gallery folder that is missing, incomplete or made for another model."""


@dataclass
class Recognition:
    """A gallery painting verified in a photo."""

    index: int  # row of the gallery's paintings.csv
    artist: str
    title: str  # "" where the gallery has no title for it
    year: str
    museum: str
    known: bool  # the artist is one of the model's
    inliers: int
    outline: np.ndarray  # (4, 2) the painting's corners in the photo, in the uploaded image's own pixels
    painting: Image.Image | None = None  # the painting cut out of the photo along its outline
    outlined: Image.Image | None = None  # the photo, small, with the outline drawn: what the answer shows

    @property
    def headline(self) -> str:
        """"**The Birth of Venus** — Sandro Botticelli, c. 1485, Uffizi Gallery, Florence", or the painter alone."""
        details = ", ".join(part for part in (self.artist, self.year, self.museum) if part)
        if not self.title:
            return f"The same painting as one in the collection — {details}"
        return f"**{self.title}** — {details}"


def model_key(checksum: str) -> str:
    """The part of a model's checksum that names its gallery files."""
    return checksum[:12]


class Gallery:
    """A gallery folder, read lazily: the descriptors are memory-mapped, the shortlist is for one model."""

    def __init__(self, folder: str | Path, model_checksum: str, classes: list[str] = ()):
        self.folder = Path(folder)
        manifest = self.folder / "gallery.json"
        if not manifest.is_file():
            raise GalleryError(f"{self.folder} is not a gallery (needs gallery.json)")
        self.manifest = json.loads(manifest.read_text())
        if self.manifest.get("format") != GALLERY_FORMAT:
            raise GalleryError(f"{self.folder}: unsupported gallery format {self.manifest.get('format')!r}")
        key = model_key(model_checksum)
        self._features_file = self.folder / f"features-{key}.npy"
        self._projection_file = self.folder / f"projection-{key}.npz"
        if not self._features_file.is_file() or not self._projection_file.is_file():
            raise GalleryError(f"{self.folder} has no shortlist for model {key}: index it again with "
                               "`painting-classifier gallery`")
        self.paintings = pd.read_csv(self.folder / "paintings.csv", keep_default_na=False, dtype=str)
        self.offsets = np.load(self.folder / "offsets.npy")
        self._known = {normalise_name(c) for c in classes}
        self.min_inliers = MIN_INLIERS
        self.gate = GATE
        self.left_out = np.zeros(len(self.paintings), bool)  # paintings the shortlist never proposes

    def __len__(self) -> int:
        return len(self.paintings)

    @cached_property
    def _points(self) -> np.ndarray:
        return np.load(self.folder / "points.npy", mmap_mode="r")

    @cached_property
    def _descriptors(self) -> list[tuple[int, np.ndarray]]:
        """(first keypoint, memory-mapped array) of every descriptor file."""
        chunks, start = [], 0
        for name in self.manifest["descriptor_files"]:
            array = np.load(self.folder / name, mmap_mode="r")
            chunks.append((start, array))
            start += len(array)
        return chunks

    @cached_property
    def _shortlist_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        projection = np.load(self._projection_file)
        return (np.load(self._features_file).astype(np.float32), projection["mean"].astype(np.float32),
                projection["components"].astype(np.float32))

    def local_features(self, index: int) -> LocalFeatures:
        """The stored keypoints of gallery painting ``index``."""
        start, stop = int(self.offsets[index]), int(self.offsets[index + 1])
        first, chunk = next((first, chunk) for first, chunk in reversed(self._descriptors) if first <= start)
        points = np.asarray(self._points[start:stop], np.float32) / 65535
        return LocalFeatures(points, np.asarray(chunk[start - first:stop - first]), (1, 1))

    def project(self, features: np.ndarray) -> np.ndarray:
        """Model features (M, F) -> unit vectors in the shortlist's space (M, D)."""
        _, mean, components = self._shortlist_data
        vectors = (np.asarray(features, np.float32) - mean) @ components
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def shortlist(self, features: np.ndarray, size: int = SHORTLIST, gated: bool = True) -> list[int]:
        """The gallery paintings most like any of the views (model features, M x F), most alike first: the ``size``
        nearest to each view, at most ``2 * size`` in all. With ``gated``, none when even the nearest is less alike
        than ``gate``."""
        vectors, _, _ = self._shortlist_data
        similarity = np.where(self.left_out, -np.inf, self.project(features) @ vectors.T)
        nearest = {int(i) for row in similarity for i in np.argsort(-row)[:size]}
        best = similarity.max(axis=0)
        order = sorted(nearest, key=lambda i: -best[i])[: 2 * size]
        return [i for i in order if best[i] >= self.gate] if gated else order

    def recognition(self, index: int, match: Match) -> Recognition:
        row = self.paintings.iloc[index]
        return Recognition(index, row["artist"], row["title"], row["year"], row["museum"],
                           normalise_name(row["artist"]) in self._known, match.inliers, match.outline)

    def best_match(self, photo: Image.Image, features: np.ndarray, min_inliers: int,
                   gated: bool = True) -> tuple[int, Match] | None:
        """(gallery row, match) of the shortlisted painting with the most inliers, at least ``min_inliers``."""
        candidates = self.shortlist(features, gated=gated)
        if not candidates:
            return None
        seen = photo_features(photo)
        matches = [(i, verified_match(seen, self.local_features(i), min_inliers)) for i in candidates]
        return max(((i, m) for i, m in matches if m is not None), key=lambda pair: pair[1].inliers, default=None)

    def recognise(self, photo: Image.Image, features: np.ndarray, gated: bool = True) -> Recognition | None:
        """The gallery painting shown in ``photo``, verified by its keypoints, or None. ``features``: the model's
        features of the views of the photo it looked at (the shortlist). ``gated``: check nothing when no gallery
        painting is even roughly alike (for a picture that is all painting, whose features are close to its own)."""
        best = self.best_match(photo, features, self.min_inliers, gated)
        return None if best is None else self.recognition(*best)


def bundle_gallery(bundle) -> Gallery | None:
    """The gallery a bundle names (manifest ``gallery.relative_folder``), for its model; None where it names none.
    A gallery that is missing or made for another model is left out with a warning: the style answer stands."""
    entry = bundle.manifest.get("gallery")
    if not entry:
        return None
    try:
        return Gallery(bundle.path / entry["relative_folder"], bundle.checksum, bundle.classes)
    except GalleryError as error:
        log.warning("%s; paintings are not recognised", error)
        return None
