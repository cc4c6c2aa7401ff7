"""Recognition: a gallery of paintings, indexed once, recognised in generated museum photos by a geometric check;
paintings outside it are not, and a painter outside the model's artists is named as such."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from painting_classifier import Predictor, load_bundle
from painting_classifier.scope import NOT_ONE_OF_THE_ARTISTS
from painting_classifier.serving.gallery import MIN_INLIERS, Gallery, GalleryError
from painting_classifier.serving.gallery_index import attach_gallery, build_gallery, title_of
from painting_classifier.training.museum_scenes import museum_scene
from painting_classifier.vision.local_features import local_features, photo_features, verified_match
from tests.synthetic import a_detailed_painting

pytestmark = pytest.mark.slow  # indexes with the tiny bundle's model


def a_collection(folder, artists: list[str], seed: int = 0) -> list[Image.Image]:
    """A plain folder of generated paintings with a CSV of file, artist, title: one painting per artist."""
    folder.mkdir(parents=True)
    rng, rows, paintings = np.random.default_rng(seed), [], []
    for i, artist in enumerate(artists):
        paintings.append(a_detailed_painting(rng))
        paintings[-1].save(folder / f"painting_{i}.jpg", quality=92)
        rows.append({"file": f"painting_{i}.jpg", "artist": artist, "title": f"Harbour at dusk number {i}"})
    pd.DataFrame(rows).to_csv(folder / "catalogue.csv", index=False)
    return paintings


@pytest.fixture(scope="module")
def collection(tmp_path_factory, tiny_bundle):
    """A copy of the tiny bundle with a gallery of five paintings, one by a painter the model does not know (the
    gallery does not depend on the model: indexing needs none)."""
    base = tmp_path_factory.mktemp("recognition")
    artists = list(load_bundle(tiny_bundle).display_names[:4]) + ["Frans Hals"]
    paintings = a_collection(base / "collection", artists)
    bundle = shutil.copytree(tiny_bundle, base / "bundle")
    build_gallery([base / "collection"], base / "gallery", progress=False)
    attach_gallery(bundle, base / "gallery")
    return bundle, base, paintings, artists


def scene_of(painting: Image.Image, seed: int):
    return museum_scene(painting, np.random.default_rng(seed))


def test_the_geometric_check_finds_the_painting_and_its_outline_in_a_museum_photo():
    rng = np.random.default_rng(1)
    painting, other = a_detailed_painting(rng), a_detailed_painting(rng)
    scene = scene_of(painting, 2)
    match = verified_match(photo_features(scene.photo), local_features(painting), MIN_INLIERS)
    assert match is not None and match.inliers >= 12
    left, top, right, bottom = scene.box
    found = match.outline
    assert np.abs(found[:, 0].min() - left) < 0.05 * scene.photo.width
    assert np.abs(found[:, 1].max() - bottom) < 0.05 * scene.photo.height
    assert verified_match(photo_features(scene.photo), local_features(other), MIN_INLIERS) is None


def test_a_photo_of_a_gallery_painting_is_recognised_with_its_title(collection):
    bundle, _, paintings, artists = collection
    predictor = Predictor.from_bundle(bundle)
    answer = predictor.identify(scene_of(paintings[1], 5).photo)
    assert answer.recognised is not None and answer.recognised.title == "Harbour at dusk number 1"
    assert answer.ranked[0][0] == artists[1] and answer.ranked[0][1] >= 0.99 and answer.in_scope
    assert answer.recognised.headline.startswith(f"**Harbour at dusk number 1** — {artists[1]}")


def test_a_painting_outside_the_gallery_is_not_recognised(collection):
    bundle, _, _, _ = collection
    stranger = a_detailed_painting(np.random.default_rng(99))
    assert Predictor.from_bundle(bundle).identify(scene_of(stranger, 6).photo).recognised is None


def test_a_painter_outside_the_models_artists_is_named_and_kept_out_of_scope(collection):
    bundle, _, paintings, _ = collection
    answer = Predictor.from_bundle(bundle).identify(scene_of(paintings[4], 7).photo)
    assert answer.recognised is not None and answer.recognised.artist == "Frans Hals"
    assert not answer.recognised.known and not answer.in_scope and answer.out_of_scope == NOT_ONE_OF_THE_ARTISTS


def test_indexing_again_writes_the_same_keypoint_files(collection, tiny_bundle):
    bundle, base, _, _ = collection
    build_gallery([base / "collection"], base / "again", progress=False)
    for name in ["paintings.csv", "offsets.npy", "points.npy", "gallery.json", "vocabulary.npy", "words.npy",
                 "voting_mean.npy", "voting_axes.npy",
                 *json.loads((base / "gallery" / "gallery.json").read_text())["descriptor_files"]]:
        assert (base / "again" / name).read_bytes() == (base / "gallery" / name).read_bytes(), name


def test_an_incomplete_gallery_is_left_out_and_the_style_answer_stands(collection, caplog):
    bundle, base, paintings, _ = collection
    broken = shutil.copytree(base / "gallery", base / "broken-gallery")
    (broken / "words.npy").unlink()
    other = shutil.copytree(bundle, base / "other-bundle")
    attach_gallery(other, broken)
    with pytest.raises(GalleryError, match="incomplete .no words.npy"):
        Gallery(broken)
    with caplog.at_level("WARNING"):
        predictor = Predictor.from_bundle(other)
    assert predictor.gallery is None and "paintings are not recognised" in caplog.text
    assert predictor.identify(scene_of(paintings[1], 5).photo).recognised is None


@pytest.mark.parametrize("recorded, artist, title", [
    ("michelangelo-creation-of-adam", "Michelangelo", "Creation of adam"),
    ("Albrecht_Durer_249", "Albrecht Dürer", ""), ("24af733334", "Claude Monet", ""),
    ("1918 henri matisse autumn in cagnes 1918", "Henri Matisse", "Autumn in cagnes 1918"),
    ("The Ladies Waldegrave", "Joshua Reynolds", "The Ladies Waldegrave")])
def test_titles_are_words_not_numbers_ids_or_the_painters_name(recorded, artist, title):
    assert title_of(recorded, artist) == title
