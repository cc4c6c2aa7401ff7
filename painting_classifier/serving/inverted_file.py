"""The shortlist's index: every gallery keypoint filed under its visual word (an inverted file), compared on the
descriptors' first principal axes. A photo's keypoint looks for its two nearest gallery keypoints among those of its
own nearest word only (about 94 candidates in the shipped gallery instead of 380,000) and votes for the nearest one's
painting when it passes Lowe's ratio test.

The index is faiss's (``IndexIVFScalarQuantizer``, 8 bits a dimension: 48 bytes a keypoint), filled with the words
the gallery already assigned, so the shortlist is the one the words give. Chosen by
``benchmarks/serving/gallery_scale.py`` over exact NumPy (the same votes, 3 times slower at 6,000 paintings and 6
times at 20,000) and over codes of 16 bytes (which lost the painting beyond 20,000). It is built when the gallery is
loaded: 0.1 s for the shipped one.
"""
from __future__ import annotations

import faiss
import numpy as np

from ..vision.local_features import RATIO
from ..vision.visual_words import nearest_words

TRAINING_SAMPLE = 100_000  # keypoints the quantiser learns each axis's range from (every n-th)
# one thread: OpenMP's threads spin after a search and slowed the next SIFT and forward pass by half on 2 cores
faiss.omp_set_num_threads(1)


class InvertedFile:
    """Gallery keypoints filed under their visual words. ``vocabulary`` (words, 128), the keypoints' ``words`` and
    ``painting``s, their descriptors ``projected`` on the principal ``axes`` (128, k) around ``mean``."""

    def __init__(self, vocabulary: np.ndarray, words: np.ndarray, painting: np.ndarray, projected: np.ndarray,
                 axes: np.ndarray, mean: np.ndarray, paintings: int):
        self.vocabulary = np.asarray(vocabulary, np.float32)
        self.painting = np.asarray(painting, np.int64)
        self.axes, self.mean, self.paintings = np.asarray(axes, np.float32), np.asarray(mean, np.float32), paintings
        dims = self.axes.shape[1]
        self._quantizer = faiss.IndexFlatL2(dims)  # the words on the axes: faiss's structure; the words are given
        self._quantizer.add(np.ascontiguousarray((self.vocabulary - self.mean) @ self.axes, np.float32))
        self.index = faiss.IndexIVFScalarQuantizer(self._quantizer, dims, len(self.vocabulary),
                                                   faiss.ScalarQuantizer.QT_8bit)
        self.index.by_residual = False
        vectors = np.ascontiguousarray(projected, np.float32)
        self.index.train(vectors[:: max(1, len(vectors) // TRAINING_SAMPLE)])
        assigned = np.ascontiguousarray(words, np.int64)
        self.index.add_core(len(vectors), faiss.swig_ptr(vectors), None, faiss.swig_ptr(assigned))

    @property
    def nbytes(self) -> int:
        """Memory the index holds: codes, ids, words and each keypoint's painting."""
        return int(self.index.sa_code_size() * self.index.ntotal + 8 * self.index.ntotal + self.vocabulary.nbytes
                   + self.painting.nbytes)

    def votes(self, descriptors: np.ndarray) -> np.ndarray:
        """Per gallery painting, how many of a photo's keypoints (``descriptors``) find their nearest gallery keypoint
        in it (among those of their nearest visual word) clearly nearer than the next (Lowe's ratio, on the
        principal axes)."""
        query = np.asarray(descriptors, np.float32)
        if not len(query):
            return np.zeros(self.paintings, np.int64)
        words = nearest_words(query, self.vocabulary).astype(np.int64)[:, None]
        projected = np.ascontiguousarray((query - self.mean) @ self.axes, np.float32)
        self.index.nprobe = 1
        distance, label = self.index.search_preassigned(projected, 2, words, np.zeros(words.shape, np.float32))
        passes = (label[:, 0] >= 0) & ((label[:, 1] < 0) | (distance[:, 0] < RATIO ** 2 * distance[:, 1]))
        return np.bincount(self.painting[label[passes, 0]], minlength=self.paintings)
