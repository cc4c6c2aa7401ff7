"""Checks on the real paintings in ../shared/data/best-artworks-sample (skipped where it is absent)."""
import numpy as np

from painting_classifier.training.data import scan_dataset, split_paintings, tf_image_dataset
from tests.helpers import SAMPLE, needs_sample

pytestmark = needs_sample


def test_the_real_sample_joins_all_fifty_artists():
    dataset = scan_dataset(SAMPLE, progress=False)
    assert len(dataset.classes) == 50
    assert len(dataset.paintings) == 809 and dataset.skipped.empty
    assert dataset.unknown_artists == [] and dataset.artists_without_paintings == []
    counts = dataset.counts()
    assert counts["Albrecht_Dürer"] == 25  # csv "Albrecht Dürer", folder "Albrecht_Durer"
    assert counts["Titian"] == 225 and counts["Jackson_Pollock"] == 1
    row = dataset.artists.set_index("label_name").loc["Vincent_van_Gogh"]
    assert row["nationality"] == "Dutch" and "wikipedia.org" in row["wikipedia"]


def test_real_split_keeps_every_artist_in_training():
    dataset = scan_dataset(SAMPLE, progress=False)
    split = split_paintings(dataset.paintings, 0.2, 0.2, seed=42)
    trained_on = set(dataset.paintings["artist"][split == "train"])
    assert trained_on == set(dataset.classes)
    assert 0.15 < (split == "test").mean() < 0.25


def test_real_paintings_stream_through_tf_data():
    dataset = scan_dataset(SAMPLE, progress=False).paintings.head(6)
    paths = [str(SAMPLE / p) for p in dataset["path"]]
    images, labels = next(iter(tf_image_dataset(paths, dataset["label"].to_numpy(), 224, 50, batch_size=6)))
    assert images.shape == (6, 224, 224, 3)
    assert np.asarray(images).std() > 10  # real content, not blank frames
