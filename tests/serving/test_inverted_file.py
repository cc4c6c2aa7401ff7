"""The shortlist's index: a photo's keypoints vote for the paintings whose keypoints they clearly match."""
import numpy as np

from painting_classifier.serving.inverted_file import InvertedFile
from painting_classifier.vision.visual_words import nearest_words, principal_axes


def an_index(descriptors: np.ndarray, painting: np.ndarray, words: int = 8) -> InvertedFile:
    rng = np.random.default_rng(0)
    vocabulary = descriptors[rng.choice(len(descriptors), words, replace=False)].astype(np.float32)
    mean, axes = principal_axes(descriptors, 24)
    projected = (descriptors.astype(np.float32) - mean) @ axes
    return InvertedFile(vocabulary, nearest_words(descriptors, vocabulary), painting, projected, axes, mean,
                        int(painting.max()) + 1)


def test_a_photo_of_a_painting_votes_for_it_most():
    rng = np.random.default_rng(1)
    descriptors = rng.integers(0, 256, (3 * 64, 128)).astype(np.uint8)
    painting = np.repeat(np.arange(3), 64)
    photo = np.clip(descriptors[64:128].astype(np.float32) + rng.normal(0, 4, (64, 128)), 0, 255)
    votes = an_index(descriptors, painting).votes(photo)
    assert votes.argmax() == 1 and votes[1] >= 0.9 * 64 and votes[[0, 2]].sum() <= 3


def test_a_keypoint_two_paintings_share_votes_for_neither():
    rng = np.random.default_rng(2)
    descriptors = rng.integers(0, 256, (2 * 32, 128)).astype(np.uint8)
    descriptors[32:] = descriptors[:32]  # the same keypoints in both: the ratio test cannot tell them apart
    votes = an_index(descriptors, np.repeat(np.arange(2), 32)).votes(descriptors[:32])
    assert votes.sum() == 0


def test_a_photo_without_keypoints_votes_for_nothing():
    rng = np.random.default_rng(3)
    descriptors = rng.integers(0, 256, (64, 128)).astype(np.uint8)
    assert an_index(descriptors, np.zeros(64, int)).votes(np.zeros((0, 128), np.float32)).tolist() == [0]
