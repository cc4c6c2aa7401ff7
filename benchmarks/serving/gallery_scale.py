"""How do the gallery's lookups scale with its size, up to 100,000 paintings, and when does an index library pay?

    python -m benchmarks.serving.gallery_scale [--sizes 1000,6013,20000,50000,100000] [--runs 5]

Two lookups grow with the gallery:

- **the recognition shortlist**: a photo's keypoints (a real museum photo's 2,000) vote through the index, and the
  ten most voted paintings are checked. Compared: the project's inverted file (``serving/inverted_file.py``, exact
  NumPy on 48 principal axes, float16) and faiss's IVF indexes over the same visual words and axes, searched for
  the two nearest gallery keypoints per photo keypoint (Lowe's ratio test as the project does it): ``IndexIVFFlat``
  (float32), ``IndexIVFScalarQuantizer`` (8 bits a dimension) and ``IndexIVFPQ`` (16-byte codes);
- **similar paintings**: one 128-dimension vector against every painting's (NumPy's matrix product, faiss's
  ``IndexFlatIP``).

The synthetic gallery: the shipped gallery's real paintings, then synthetic ones, each 64 keypoints drawn from the
whole gallery's and moved by noise (so that none is a copy of a real painting, whose keypoints the ratio test would
then reject as ambiguous). The photo shows a shipped painting;
reported per size and method: whether that painting is still in the shortlist, the time per photo (median of
``--runs``), the index's memory and its build time. Writes benchmarks/results/gallery_scale.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import types
from pathlib import Path

import numpy as np

from benchmarks.common.museum_dev import DEV
from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance

KEYPOINTS = 64
NOISE = 30.0  # grey levels of noise on a synthetic keypoint's descriptor (a real match stays nearer)
SHORTLIST = 10


def shipped_keypoints(gallery) -> types.SimpleNamespace:
    """The shipped gallery's keypoints: words, paintings, descriptors on the voting axes (float16), and the
    vocabulary, axes and mean."""
    folder = gallery.folder
    mean, axes = np.load(folder / "voting_mean.npy"), np.load(folder / "voting_axes.npy")
    descriptors = np.concatenate([np.load(folder / name) for name in gallery.manifest["descriptor_files"]])
    return types.SimpleNamespace(
        words=np.load(folder / "words.npy").astype(np.int64), painting=np.repeat(np.arange(len(gallery)),
                                                                                 np.diff(gallery.offsets)),
        projected=((descriptors.astype(np.float32) - mean) @ axes).astype(np.float16),
        vocabulary=np.load(folder / "vocabulary.npy").astype(np.float32), axes=axes, mean=mean, paintings=len(gallery))


def synthetic_gallery(shipped, size: int, keep: int, rng) -> tuple:
    """(words, paintings, projected descriptors, the kept painting's row) of a gallery of ``size`` paintings made
    from the shipped one's keypoints (painting ``keep`` stays in). A synthetic keypoint is a real one moved by
    ``NOISE`` (far enough to be no copy: the ratio test still tells the real one), filed under its nearest word on
    the same axes."""
    import faiss

    real = shipped.paintings
    if size <= real:
        chosen = np.r_[keep, rng.choice(np.setdiff1d(np.arange(real), [keep]), size - 1, replace=False)]
        renumber = np.full(real, -1)
        renumber[chosen] = np.arange(size)
        mask = renumber[shipped.painting] >= 0
        return shipped.words[mask], renumber[shipped.painting[mask]], shipped.projected[mask], 0
    extra = (size - real) * KEYPOINTS
    drawn = rng.integers(0, len(shipped.words), extra)
    moved = shipped.projected[drawn].astype(np.float32) + rng.normal(0, NOISE, (extra, 128)).astype(np.float32) @ shipped.axes
    quantizer = faiss.IndexFlatL2(moved.shape[1])
    quantizer.add(np.ascontiguousarray((shipped.vocabulary - shipped.mean) @ shipped.axes, np.float32))
    moved_words = quantizer.search(np.ascontiguousarray(moved), 1)[1][:, 0]
    return (np.concatenate([shipped.words, moved_words]),
            np.concatenate([shipped.painting, real + np.arange(extra) // KEYPOINTS]),
            np.concatenate([shipped.projected, moved.astype(np.float16)]), keep)


def numpy_votes(words, painting, projected, shipped, n: int):
    """The exact NumPy inverted file the project served before faiss: (build seconds, bytes, votes of descriptors)."""
    from painting_classifier.vision.local_features import RATIO
    from painting_classifier.vision.visual_words import nearest_words

    began = time.perf_counter()
    order = np.argsort(words, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(words, minlength=len(shipped.vocabulary)))])
    painting, projected = painting[order], np.asarray(projected, np.float16)[order]
    built = round(time.perf_counter() - began, 1)

    def votes(descriptors):
        query = np.asarray(descriptors, np.float32)
        asked = nearest_words(query, shipped.vocabulary).astype(np.int64)
        lengths = starts[asked + 1] - starts[asked]
        asker = np.repeat(np.arange(len(query)), lengths)
        candidate = np.repeat(starts[asked] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        difference = projected[candidate].astype(np.float32) - ((query - shipped.mean) @ shipped.axes)[asker]
        distance = np.einsum("ij,ij->i", difference, difference)
        first = np.flatnonzero(np.r_[True, asker[1:] != asker[:-1]])
        nearest = np.minimum.reduceat(distance, first)
        is_nearest = distance == np.repeat(nearest, np.diff(np.r_[first, len(distance)]))
        ties = np.add.reduceat(is_nearest, first) > 1
        second = np.where(ties, nearest, np.minimum.reduceat(np.where(is_nearest, np.inf, distance), first))
        winner = candidate[np.flatnonzero(is_nearest)[np.searchsorted(np.flatnonzero(is_nearest), first)]]
        return np.bincount(painting[winner[nearest < RATIO ** 2 * second]], minlength=n)

    return built, painting.nbytes + projected.nbytes + starts.nbytes, votes


def faiss_index(kind: str, shipped, projected: np.ndarray, words: np.ndarray):
    """A faiss IVF index of ``kind`` over the keypoints, filled under their given words: (index, build seconds,
    bytes)."""
    import faiss

    began = time.perf_counter()
    data = np.ascontiguousarray(projected, np.float32)
    dims = data.shape[1]
    quantizer = faiss.IndexFlatL2(dims)
    quantizer.add(np.ascontiguousarray((shipped.vocabulary - shipped.mean) @ shipped.axes, np.float32))
    lists = len(shipped.vocabulary)
    index = (faiss.IndexIVFFlat(quantizer, dims, lists) if kind == "faiss IVFFlat"
             else faiss.IndexIVFPQ(quantizer, dims, lists, 16, 8))
    index.by_residual = False
    index.train(data[:: max(1, len(data) // 100_000)])
    assigned = np.ascontiguousarray(words, np.int64)
    index.add_core(len(data), faiss.swig_ptr(data), None, faiss.swig_ptr(assigned))
    return index, round(time.perf_counter() - began, 1), len(faiss.serialize_index(index))


def faiss_votes(index, descriptors, shipped, painting: np.ndarray, n: int) -> np.ndarray:
    """Votes as ``InvertedFile.votes`` gives them, from another faiss index."""
    from painting_classifier.vision.local_features import RATIO
    from painting_classifier.vision.visual_words import nearest_words

    query = np.asarray(descriptors, np.float32)
    words = nearest_words(query, shipped.vocabulary).astype(np.int64)[:, None]
    index.nprobe = 1
    projected = np.ascontiguousarray((query - shipped.mean) @ shipped.axes, np.float32)
    distance, label = index.search_preassigned(projected, 2, words, np.zeros(words.shape, np.float32))
    passes = (label[:, 0] >= 0) & ((label[:, 1] < 0) | (distance[:, 0] < RATIO ** 2 * distance[:, 1]))
    return np.bincount(painting[label[passes, 0]], minlength=n)


def timed(lookup, runs: int) -> tuple[float, object]:
    result, times = None, []
    for _ in range(runs):
        began = time.perf_counter()
        result = lookup()
        times.append(1000 * (time.perf_counter() - began))
    return round(statistics.median(times), 1), result


def in_shortlist(votes: np.ndarray, painting: int) -> bool:
    return bool(painting in np.argsort(-votes, kind="stable")[:SHORTLIST] and votes[painting] > 0)


def shortlist_lookups(shipped, seen, size: int, runs: int, rng) -> list[dict]:
    """Every shortlist index on a gallery of ``size`` paintings."""
    from painting_classifier.serving.inverted_file import InvertedFile

    keep = shipped.keep
    words, paintings, projected, target = synthetic_gallery(shipped, size, keep, rng)
    built, nbytes, numpy_lookup = numpy_votes(words, paintings, projected, shipped, size)
    began = time.perf_counter()
    served = InvertedFile(shipped.vocabulary, words, paintings, projected, shipped.axes, shipped.mean, size)
    lookups = {"numpy exact (before)": (built, nbytes, lambda: numpy_lookup(seen.descriptors)),
               "faiss IVF-SQ8 (served)": (round(time.perf_counter() - began, 1), served.nbytes,
                                          lambda: served.votes(seen.descriptors))}
    for kind in ("faiss IVFFlat", "faiss IVF-PQ16"):
        made, build_s, index_bytes = faiss_index(kind, shipped, projected, words)
        lookups[kind] = (build_s, index_bytes + paintings.nbytes,
                         lambda made=made: faiss_votes(made, seen.descriptors, shipped, paintings, size))
    rows = []
    for method, (build_s, size_bytes, lookup) in lookups.items():
        ms, votes = timed(lookup, runs)
        rows.append({"lookup": "shortlist", "method": method, "paintings": size, "ms": ms,
                     "mb": round(size_bytes / 1e6, 1), "build_s": build_s, "right": in_shortlist(votes, target)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def similar_lookups(size: int, runs: int, rng) -> list[dict]:
    """Similar paintings: one unit vector against ``size`` paintings' (einsum, as ``serving/similar.py`` does)."""
    import faiss

    vectors = rng.normal(size=(size, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[size // 2] + 0.1 * rng.normal(size=128).astype(np.float32)
    numpy_ms, found = timed(lambda: np.argsort(-np.einsum("nd,d->n", vectors, query))[:6], runs)
    flat = faiss.IndexFlatIP(128)
    flat.add(vectors)
    faiss_ms, (_, labels) = timed(lambda: flat.search(query[None], 6), runs)
    return [{"lookup": "similar", "method": "numpy exact (served)", "paintings": size, "ms": numpy_ms,
             "mb": round(vectors.nbytes / 1e6, 1), "right": bool(found[0] == size // 2)},
            {"lookup": "similar", "method": "faiss IndexFlatIP", "paintings": size, "ms": faiss_ms,
             "mb": round(vectors.nbytes / 1e6, 1), "right": bool(labels[0, 0] == size // 2)}]


def main(argv: list[str] | None = None) -> dict:
    import faiss

    from painting_classifier import load_bundle
    from painting_classifier.serving.gallery import Gallery
    from painting_classifier.vision.images import load_rgb
    from painting_classifier.vision.local_features import photo_features

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,6013,20000,50000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--photo", type=Path, default=DEV / "Caravaggio" / "contarelli_calling_of_st_matthew_selfie.jpg")
    parser.add_argument("--json", type=Path, default=RESULTS / "gallery_scale.json")
    args = parser.parse_args(argv)

    bundle = load_bundle(SHIPPED_MODEL)
    gallery = Gallery(SHIPPED_MODEL.parent / "gallery", bundle.classes).load()
    seen = photo_features(load_rgb(args.photo))
    shipped = shipped_keypoints(gallery)
    shipped.keep = gallery.recognise(seen).index
    rows, rng = [], np.random.default_rng(0)
    for size in (int(s) for s in args.sizes.split(",")):
        rows += shortlist_lookups(shipped, seen, size, args.runs, rng)
        rows += similar_lookups(size, args.runs, rng)
        print(json.dumps(rows[-2:]), flush=True)
    report = {**provenance(bundle.checksum, runs=args.runs), "photo": args.photo.name,
              "photo_keypoints": len(seen.descriptors), "faiss": faiss.__version__,
              "faiss_threads": faiss.omp_get_max_threads(), "results": rows}
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
