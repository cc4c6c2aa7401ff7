"""Similar paintings: the nearest gallery paintings in the model's feature space, their painters blended into the
answer, and thumbnails only where the gallery may show them."""
import shutil
import types

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from painting_classifier import Predictor, load_bundle
from painting_classifier.app.similar_tiles import text_tile
from painting_classifier.serving.gallery_index import attach_gallery, build_gallery
from painting_classifier.serving.similar import (
    SimilarPainting,
    SimilarPaintings,
    blended,
    load_similar,
    painter_probabilities,
    save_similar,
)
from painting_classifier.serving.similar_vectors import write_bundle_similar
from painting_classifier.serving.thumbnails import ALL, NONE, PUBLIC_DOMAIN, Thumbnails, shown_rows, write_thumbnails
from tests.serving.test_recognition import a_collection
from tests.synthetic import a_detailed_painting


def a_gallery(artists: list[str]):
    """A stand-in gallery: only its paintings table."""
    return types.SimpleNamespace(paintings=pd.DataFrame({"artist": artists, "title": [""] * len(artists)}))


def test_the_nearest_paintings_come_nearest_first_and_the_recognised_one_is_left_out():
    gallery = a_gallery(["A", "B", "C", "D"])
    vectors = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], np.float32)
    search = SimilarPaintings(None, [(gallery, vectors)])
    assert [p.artist for p in search.nearest(np.array([1.0, 0.1]), k=3)] == ["A", "B", "C"]
    assert [p.artist for p in search.nearest(np.array([1.0, 0.1]), k=2, leave_out=(gallery, 0))] == ["B", "C"]


def test_two_galleries_are_searched_as_one():
    shipped, own = a_gallery(["A", "B"]), a_gallery(["Vermeer"])
    search = SimilarPaintings(None, [(shipped, np.array([[1, 0], [0, 1]], np.float32)),
                                     (own, np.array([[0.9, 0.1]], np.float32))])
    assert [p.artist for p in search.nearest(np.array([1.0, 0.0]), k=2)] == ["A", "Vermeer"]


def neighbours(*pairs):
    return [SimilarPainting(None, i, artist, "", similarity) for i, (artist, similarity) in enumerate(pairs)]


def test_nearer_neighbours_weigh_more_and_painters_outside_the_names_count_for_none():
    shares = painter_probabilities(neighbours(("Monet", 0.9), ("Frans Hals", 0.88), ("Sisley", 0.7)),
                                   ["Claude Monet", "Monet", "Sisley"], sharpness=0.05)
    assert shares[1] > 0.95 and shares[0] == 0 and shares.sum() == pytest.approx(1)


def test_the_blend_moves_the_answer_towards_the_neighbours_painters_and_leaves_it_without_them():
    head = np.array([0.6, 0.4])
    moved = blended(head, neighbours(("B", 0.9), ("B", 0.8)), ["A", "B"], share=0.5)
    assert moved == pytest.approx([0.3, 0.7])
    assert blended(head, neighbours(("Frans Hals", 0.9)), ["A", "B"], share=0.5) is head


class PaintingsOnly:
    """A stand-in gallery: its paintings' sha1s and a folder."""

    def __init__(self, sha1s: list[str], folder):
        self.paintings, self.folder = pd.DataFrame({"sha1": sha1s}), folder

    def __len__(self):
        return len(self.paintings)


def test_vectors_computed_for_other_paintings_are_not_used(tmp_path):
    save_similar(tmp_path / "similar.npz", PaintingsOnly(["a", "b"], tmp_path), np.eye(2))
    assert load_similar(tmp_path / "similar.npz", PaintingsOnly(["a", "b"], tmp_path)).shape == (2, 2)
    assert load_similar(tmp_path / "similar.npz", PaintingsOnly(["a", "c"], tmp_path)) is None
    assert load_similar(tmp_path / "similar.npz", PaintingsOnly(["b", "a"], tmp_path)) is None


def test_only_public_domain_painters_get_thumbnails_unless_all_are_allowed(tmp_path):
    pd.DataFrame({"name": ["Vincent van Gogh", "Pablo Picasso", "Unknown Master"],
                  "years": ["1853 - 1890", "1881 - 1973", ""]}).to_csv(tmp_path / "artists.csv", index=False)
    table = pd.DataFrame({"artist": ["Vincent van Gogh", "Pablo Picasso", "Unknown Master", "Vincent_van_Gogh"]})
    assert shown_rows(table, [tmp_path], PUBLIC_DOMAIN).tolist() == [0, 3]
    assert shown_rows(table, [tmp_path], ALL).tolist() == [0, 1, 2, 3]
    assert shown_rows(table, [tmp_path], NONE).tolist() == []


def test_thumbnails_are_small_and_kept_by_gallery_row(tmp_path):
    rng = np.random.default_rng(0)
    files = []
    for i in range(3):
        files.append(tmp_path / f"p{i}.jpg")
        a_detailed_painting(rng).resize((600, 400)).save(files[-1])
    files.append(tmp_path / "gone.jpg")
    write_thumbnails(tmp_path / "thumbnails.npz", np.array([2, 5, 7, 9]), files)
    thumbnails = Thumbnails(tmp_path / "thumbnails.npz")
    assert max(thumbnails.image(5).size) == 128 and thumbnails.image(5).size[0] > thumbnails.image(5).size[1]
    assert thumbnails.image(0) is None and thumbnails.image(9) is None  # not allowed; unreadable
    assert Thumbnails(tmp_path / "none.npz").image(2) is None


def test_a_painting_without_a_thumbnail_gets_a_tile_that_names_it():
    tile = text_tile(SimilarPainting(None, 0, "Johannes Vermeer", "The Milkmaid", 0.9))
    assert tile.size == (128, 128) and np.asarray(tile).std() > 5  # words drawn on it


@pytest.mark.slow
def test_a_bundle_shows_the_paintings_of_its_gallery_most_like_an_upload(tmp_path, tiny_bundle):
    artists = list(load_bundle(tiny_bundle).display_names[:4]) + ["Frans Hals"]
    paintings = a_collection(tmp_path / "collection", artists, seed=3)
    bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    build_gallery([tmp_path / "collection"], tmp_path / "gallery", progress=False, thumbnails=ALL)
    attach_gallery(bundle, tmp_path / "gallery")
    write_bundle_similar(bundle, progress=False)
    predictor = Predictor.from_bundle(bundle)
    upload = paintings[2].resize((300, 300), Image.BILINEAR).rotate(4)  # not the file itself: a changed copy
    answer = predictor.identify(upload)
    assert len(answer.similar) == len(artists) - (answer.recognised is not None)
    assert answer.similar[0].thumbnail is not None
    if answer.recognised is not None:
        assert answer.recognised.index not in [p.index for p in answer.similar]
    assert answer.probabilities.sum() == pytest.approx(1, abs=1e-5)
