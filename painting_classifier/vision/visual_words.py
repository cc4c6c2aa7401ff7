"""Visual words: k-means centres of keypoint descriptors, and each descriptor's nearest word (NumPy only)."""
from __future__ import annotations

import numpy as np

VOCABULARY_SAMPLE = 80_000  # descriptors the words are learnt from (every n-th)
VOCABULARY_ROUNDS = 8  # k-means rounds


def nearest_words(descriptors: np.ndarray, vocabulary: np.ndarray) -> np.ndarray:
    """The visual word (nearest vocabulary centre) of every descriptor."""
    centres = vocabulary.astype(np.float32)
    chunk = max(256, 2 ** 25 // len(centres))  # rows of distances held at once: 128 MB
    squared = (centres ** 2).sum(axis=1)
    words = [np.argmin(squared - 2 * np.asarray(descriptors[i:i + chunk], np.float32) @ centres.T, axis=1)
             for i in range(0, len(descriptors), chunk)]
    return np.concatenate(words).astype(np.uint16) if words else np.zeros(0, np.uint16)


def vocabulary_of(descriptors: np.ndarray, size: int) -> np.ndarray:
    """``size`` visual words: k-means centres of (every n-th of) the gallery's descriptors, from a seeded start."""
    sample = np.asarray(descriptors[:: max(1, len(descriptors) // VOCABULARY_SAMPLE)], np.float32)
    size = min(size, len(sample))
    centres = sample[np.random.default_rng(0).choice(len(sample), size, replace=False)].copy()
    for _ in range(VOCABULARY_ROUNDS):
        words = nearest_words(sample, centres).astype(np.int64)
        counts = np.bincount(words, minlength=size)
        sums = np.zeros_like(centres)
        np.add.at(sums, words, sample)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres


def principal_axes(descriptors: np.ndarray, dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, axes D x ``dimensions``) of (every n-th of, up to 50,000) descriptors: a shorter code to compare them by."""
    sample = np.asarray(descriptors[:: max(1, len(descriptors) // 50_000)], np.float32)
    mean = sample.mean(axis=0)
    axes = np.linalg.svd(sample - mean, full_matrices=False)[2][:dimensions].T
    return mean.astype(np.float32), np.ascontiguousarray(axes, np.float32)
