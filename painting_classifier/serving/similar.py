"""Similar paintings: the gallery paintings nearest to a picture in the model's own feature space, shown under the
answer as explanation by example, and their painters blended into the answer.

The model's features (the head's input) are standardised by the scope's statistics, projected on its principal axes
and whitened, then L2-normalised: cosine similarity there named held-out paintings' painters best on
cross-validation (``benchmarks/quality/similar_paintings.py``). The vectors depend on the model, the paintings on
the gallery: the bundle keeps its gallery's vectors (``similar.npz``: one float16 row per gallery painting and the
key of the paintings they were computed for); a collection of one's own gets them when it is first loaded, cached
beside its index.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..artists import normalise_name
from .gallery import Gallery

SIMILAR_FILE = "similar.npz"
NEIGHBOURS = 6  # similar paintings shown under an answer
# Share of the answer's probabilities that comes from the neighbours' painters, and a neighbour's weight:
# exp((similarity - the nearest's) / SHARPNESS). Chosen on the real head's out-of-fold answers (the shipped recipe,
# honest folds: similar_paintings_cv_real_head.json): +1.9 points top-1, +1.8 balanced, top-5 unchanged, every fold.
BLEND = 0.2
SHARPNESS = 0.1
CHUNK = 256  # gallery paintings read at once when their vectors are computed
log = logging.getLogger(__name__)


@dataclass
class SimilarPainting:
    """A gallery painting near the picture in the model's feature space."""

    gallery: Gallery
    index: int  # row of the gallery's paintings.csv
    artist: str
    title: str
    similarity: float  # cosine similarity of the two pictures' vectors

    @property
    def thumbnail(self) -> Image.Image | None:
        """The painting, small, where the gallery may show it (``Gallery.thumbnail``)."""
        return self.gallery.thumbnail(self.index)

    @property
    def caption(self) -> str:
        return f"{self.artist} — {self.title}" if self.title else self.artist


def vectors_of(scope, features: np.ndarray) -> np.ndarray:
    """Unit vectors (N, k) of model features (N, D) in the space similarity is measured in: the scope's standardised
    and whitened principal axes (the features themselves, normalised, for a bundle without a scope score)."""
    features = np.asarray(features, np.float64)
    if scope is not None:
        z = (features - scope.mean) / scope.scale
        features = np.einsum("nd,kd->nk", z, scope.axes) / np.sqrt(scope.variances)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def paintings_key(gallery: Gallery) -> str:
    """What changes when the gallery's paintings, or their order, change."""
    return hashlib.sha1("\n".join(gallery.paintings["sha1"]).encode()).hexdigest()[:20]


def gallery_vectors(predictor, gallery: Gallery, progress: bool = True) -> np.ndarray:
    """The vectors (float16) of every painting of ``gallery`` under ``predictor``'s model, read from its files.
    ``ValueError`` names a file that is no longer there."""
    chunks = []
    rows = range(len(gallery))
    for start in tqdm(range(0, len(rows), CHUNK), desc="Similar paintings", unit="chunk", disable=not progress):
        files = [gallery.file_of(i) for i in rows[start:start + CHUNK]]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise ValueError(f"{missing[0]} is gone: the gallery's paintings must be on this machine to find similar "
                             "ones (index the folder again)")
        chunks.append(vectors_of(predictor.scope, model_features(predictor, files)).astype(np.float16))
    return np.concatenate(chunks) if chunks else np.zeros((0, 1), np.float16)


def model_features(predictor, files: list) -> np.ndarray:
    """The model's features (the head's input) of whole pictures, in order (N, D): ``Predictor.identify_many`` on
    style alone, without a search. ``ValueError`` names a picture that cannot be read."""
    rows = []
    for answer in predictor.style_only().identify_many(files, find=False):
        if isinstance(answer, ValueError):
            raise answer
        rows.append(answer.features)
    return np.stack(rows)


def save_similar(path: str | Path, gallery: Gallery, vectors: np.ndarray) -> None:
    """Write ``vectors`` of ``gallery``'s paintings to ``path`` (``similar.npz``)."""
    np.savez(path, vectors=np.asarray(vectors, np.float16), key=np.array(paintings_key(gallery)))


def load_similar(path: str | Path, gallery: Gallery) -> np.ndarray | None:
    """The vectors in ``path`` if they are of ``gallery``'s paintings; None (with a warning) otherwise."""
    path = Path(path)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as stored:
        vectors, key = stored["vectors"], str(stored["key"])
    if key != paintings_key(gallery) or len(vectors) != len(gallery):
        log.warning("%s was computed for other paintings than %s's: similar paintings are not shown (train again, "
                    "or index the gallery again with `painting-classifier gallery --model`)", path, gallery.folder)
        return None
    return vectors


class SimilarPaintings:
    """The vectors of one or more galleries' paintings, searched as one (exact search: about 1 ms for 6,000)."""

    def __init__(self, scope, parts: list[tuple[Gallery, np.ndarray]]):
        self.scope = scope
        self.parts = [(gallery, np.asarray(vectors, np.float32)) for gallery, vectors in parts]
        self.left_out: dict[int, np.ndarray] = {}  # id(gallery) -> rows never proposed

    def leaving_out(self, gallery: Gallery, rows: np.ndarray) -> SimilarPaintings:
        """The same search, never proposing ``gallery``'s ``rows`` (a boolean mask): to measure paintings as if
        the gallery did not hold them."""
        search = SimilarPaintings(self.scope, [])
        search.parts, search.left_out = self.parts, {**self.left_out, id(gallery): np.asarray(rows, bool)}
        return search

    def nearest(self, features: np.ndarray, k: int = NEIGHBOURS,
                leave_out: tuple[Gallery, int] | None = None) -> list[SimilarPainting]:
        """The ``k`` gallery paintings nearest to a picture's model ``features`` (D,), nearest first;
        ``leave_out``: a (gallery, row) not to propose (the painting recognised in the picture)."""
        query = vectors_of(self.scope, np.asarray(features)[None])[0].astype(np.float32)
        found = []
        for gallery, vectors in self.parts:
            # einsum, not BLAS: BLAS threads spin after a call and slow the model's next forward pass (as in scope.py)
            similarity = np.einsum("nd,d->n", vectors, query)
            if id(gallery) in self.left_out:
                similarity[self.left_out[id(gallery)]] = -np.inf
            if leave_out is not None and leave_out[0] is gallery:
                similarity[leave_out[1]] = -np.inf
            for i in np.argsort(-similarity)[:k]:
                if np.isfinite(similarity[i]):
                    row = gallery.paintings.iloc[i]
                    found.append(SimilarPainting(gallery, int(i), row["artist"], row["title"], float(similarity[i])))
        return sorted(found, key=lambda painting: -painting.similarity)[:k]


def painter_probabilities(neighbours: list[SimilarPainting], names: list[str],
                          sharpness: float = SHARPNESS) -> np.ndarray | None:
    """Each of ``names``' share of the neighbours, a neighbour weighing exp((its similarity - the nearest's) /
    ``sharpness``); None when no neighbour is by one of them."""
    keys = {normalise_name(name): i for i, name in enumerate(names)}
    shares = np.zeros(len(names))
    if not neighbours:
        return None
    nearest = neighbours[0].similarity
    for painting in neighbours:
        i = keys.get(normalise_name(painting.artist))
        if i is not None:
            shares[i] += np.exp((painting.similarity - nearest) / sharpness)
    return shares / shares.sum() if shares.sum() > 0 else None


def blended(probabilities: np.ndarray, neighbours: list[SimilarPainting], names: list[str],
            share: float = BLEND, sharpness: float = SHARPNESS) -> np.ndarray:
    """The answer's probabilities with ``share`` of them from the neighbours' painters (unchanged where none of the
    neighbours is by one of ``names``)."""
    painters = painter_probabilities(neighbours, names, sharpness)
    return probabilities if painters is None or not share else (1 - share) * probabilities + share * painters


def bundle_similar(bundle, gallery: Gallery | None) -> SimilarPaintings | None:
    """The similar paintings of a bundle's gallery (``similar.npz`` beside its model); None without them."""
    if gallery is None:
        return None
    vectors = load_similar(bundle.path / SIMILAR_FILE, gallery)
    return None if vectors is None else SimilarPaintings(bundle.scope, [(gallery, vectors)])


def with_similar(predictor, answer, top_k: int):
    """``answer`` (an ``Identification``) with the gallery paintings nearest to what the model was shown; where no
    painting was recognised, their painters are blended into its probabilities (``BLEND``)."""
    if answer.features is None:
        return answer
    found = answer.recognised
    neighbours = predictor.similar.nearest(answer.features, NEIGHBOURS,
                                           None if found is None else (found.gallery, found.index))
    if found is not None or not BLEND:
        return dataclasses.replace(answer, similar=neighbours)
    probabilities = blended(answer.probabilities, neighbours, predictor.names)
    return dataclasses.replace(answer, probabilities=probabilities, ranked=predictor.ranked_of(probabilities, top_k),
                               similar=neighbours)

