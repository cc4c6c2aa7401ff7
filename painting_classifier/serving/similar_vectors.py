"""Computing the similar-painting vectors (``similar.py``) with a model: a bundle's, for the gallery it names, and a
collection's of one's own, cached beside its index."""
from __future__ import annotations

from pathlib import Path

from .gallery import Gallery
from .predict import Predictor
from .similar import SIMILAR_FILE, gallery_vectors, load_similar, save_similar


def write_bundle_similar(bundle_dir: str | Path, progress: bool = True) -> Path:
    """Compute the similar-painting vectors of the gallery a bundle names, with its model, into the bundle."""
    predictor = Predictor.from_bundle(bundle_dir, similar=None)
    if predictor.gallery is None:
        raise ValueError(f"{bundle_dir} names no gallery: index one with `painting-classifier gallery --model`")
    path = Path(bundle_dir) / SIMILAR_FILE
    save_similar(path, predictor.gallery, gallery_vectors(predictor, predictor.gallery, progress))
    return path


def collection_vectors(predictor, gallery: Gallery, progress: bool = False):
    """The similar-painting vectors of a collection's paintings under ``predictor``'s model: cached beside its
    index, one file per model."""
    path = gallery.folder / f"similar-{predictor.bundle.checksum[:16]}.npz"
    vectors = load_similar(path, gallery)
    if vectors is None:
        vectors = gallery_vectors(predictor, gallery, progress)
        save_similar(path, gallery, vectors)
    return vectors
