"""Degraded training copies: deterministic per seed, painting and copy; each step does what it says."""
import numpy as np
import pytest
from PIL import Image

from painting_classifier.training import augment
from painting_classifier.training.features import Variant
from tests.synthetic import paint


@pytest.fixture
def painting() -> Image.Image:
    return Image.fromarray(paint("blobs", 300, np.random.default_rng(0))).resize((320, 240))


def copy_of(painting, seed, sha1="ab12", copy=0) -> np.ndarray:
    return np.asarray(augment.degraded_copy(painting, augment.copy_rng(seed, sha1, copy)))


def test_same_seed_painting_and_copy_give_the_same_image(painting):
    for copy in range(5):
        np.testing.assert_array_equal(copy_of(painting, 42, copy=copy), copy_of(painting, 42, copy=copy))


def test_another_seed_painting_or_copy_gives_another_image(painting):
    reference = copy_of(painting, 42)
    others = [copy_of(painting, 43), copy_of(painting, 42, sha1="cd34"), copy_of(painting, 42, copy=1)]
    assert all(other.shape != reference.shape or not np.array_equal(other, reference) for other in others)


def test_feature_variant_loads_the_same_copy_twice(tmp_path, painting):
    path = tmp_path / "p.png"
    painting.save(path)
    variant = Variant(copy=2, seed=7)
    first, second = variant.load(str(path), "ab12", 64), variant.load(str(path), "ab12", 64)
    assert first.shape == (64, 64, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, second)
    assert variant.suffix != Variant(copy=2, seed=8).suffix != Variant().suffix


def test_mirrored_variant_is_the_mirror_image(tmp_path, painting):
    path = tmp_path / "p.png"
    painting.save(path)
    as_is, mirrored = Variant().load(str(path), "x", 32), Variant(mirrored=True).load(str(path), "x", 32)
    np.testing.assert_array_equal(mirrored, as_is[:, ::-1])


def test_steps(painting):
    rng = np.random.default_rng(1)
    assert max(augment.low_resolution(painting, rng).size) <= 400
    w, h = augment.detail(painting, rng).size
    assert 0.55 * 320 - 1 <= w <= 0.9 * 320 + 1 and 0.55 * 240 - 1 <= h <= 0.9 * 240 + 1
    photo, (left, top, right, bottom) = augment.framed_on_wall(painting, rng)
    assert photo.width > painting.width and photo.height > painting.height
    np.testing.assert_array_equal(np.asarray(photo.crop((left, top, right, bottom))), np.asarray(painting))
    assert augment.perspective(painting, rng).size == painting.size
    bright = np.asarray(augment.glare(painting, rng), float).mean()
    assert bright > np.asarray(painting, float).mean()


def test_a_mix_of_copies_has_every_kind_of_degradation(painting):
    """Over many copies, some are grayscale, some smaller (thumbnails), some larger (framed on a wall)."""
    copies = [augment.degraded_copy(painting, augment.copy_rng(0, "ab12", i)) for i in range(60)]
    arrays = [np.asarray(c, float) for c in copies]
    grayscale = sum(np.abs(a[..., 0] - a[..., 1]).max() < 1 and np.abs(a[..., 1] - a[..., 2]).max() < 1 for a in arrays)
    assert 0 < grayscale < 30
    assert any(max(c.size) < 320 * 0.9 for c in copies) and any(c.width > 320 for c in copies)


def test_squashed_variant_is_a_small_square_thumbnail_of_the_whole_painting(tmp_path, painting):
    path = tmp_path / "p.png"
    painting.resize((640, 320)).save(path)
    thumbnail = Variant(squashed=True).load(str(path), "x", 64)
    as_is = Variant().load(str(path), "x", 64)
    assert thumbnail.shape == as_is.shape == (64, 64, 3)
    # the same picture, squashed the same way, with JPEG's loss of detail
    assert np.abs(thumbnail.astype(float) - as_is).mean() < 12
    assert not np.array_equal(thumbnail, as_is)
    assert Variant(squashed=True).suffix not in (Variant().suffix, Variant(recoded=True).suffix)


def test_head_trains_on_a_thumbnail_of_each_painting_stored_larger_than_one_and_on_museum_copies(tmp_path):
    """With ``thumbnail_copies`` the head's training set gains one squashed copy per painting larger than
    256 px, labelled with its artist; paintings already thumbnail-sized get none."""
    import keras

    from painting_classifier.config import Config
    from painting_classifier.training.data import scan_sources
    from painting_classifier.training.features import HeadFeatures
    from painting_classifier.training.negatives import scan_negatives
    from tests.synthetic import write_artists_csv

    write_artists_csv(tmp_path, ["Big Painter", "Small Painter"])
    rng = np.random.default_rng(0)
    for name, side, count in (("Big_Painter", 600, 2), ("Small_Painter", 200, 3)):
        (tmp_path / "images" / name).mkdir(parents=True)
        for n in range(count):
            Image.fromarray(paint("blobs", side, rng)).save(tmp_path / "images" / name / f"{name}_{n}.jpg")
    dataset = scan_sources([tmp_path], progress=False)
    paintings = dataset.paintings.assign(label=dataset.paintings["artist"].map(dataset.classes.index))
    mean_colour = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D()])
    counts = {}
    for thumbnails in (False, True):
        config = Config(view_size=32, recode=True, augment=True, grayscale_copies=True, thumbnail_copies=thumbnails)
        features = HeadFeatures(None, dataset, config, tmp_path / "cache", progress=False)
        features.__dict__["extractor"] = mean_colour  # the features: each input's mean colour
        x, y = features.training_set(paintings)
        assert len(x) == len(y)
        counts[thumbnails] = y.sum(axis=0)
        assert counts[thumbnails].min() >= 3 * 2  # as is, mirrored and black and white: three rows per painting
    big = dataset.classes.index("Big_Painter")
    added = counts[True] - counts[False]
    assert added[big] == 2 and added.sum() == 2
    # the same folder as other painters' paintings: the same variants, and the two thumbnails
    negatives, _ = scan_negatives([tmp_path], val_fraction=0.0, seed=0)
    assert len(features.training_set_of_files(negatives)) == 3 * 5 + 2
    # with museum_copies, one museum photo of every painting more, for the 50 artists' and the other painters'
    museum = HeadFeatures(None, dataset, Config(view_size=32, recode=True, augment=True, grayscale_copies=True,
                                                thumbnail_copies=True, museum_copies=True),
                          tmp_path / "cache", progress=False)
    museum.__dict__["extractor"] = mean_colour
    assert (museum.training_set(paintings)[1].sum(axis=0) - counts[True] == [2, 3]).all()
    assert len(museum.training_set_of_files(negatives)) == 4 * 5 + 2


def test_grayscale_variant_is_the_painting_in_black_and_white(tmp_path, painting):
    path = tmp_path / "p.png"
    painting.save(path)
    gray = Variant(grayscale=True).load(str(path), "x", 32).astype(int)
    colour = Variant().load(str(path), "x", 32).astype(int)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    assert np.abs(gray[..., 0] - colour @ [0.299, 0.587, 0.114]).mean() < 2  # the same picture's luma
    assert Variant(grayscale=True).suffix != Variant().suffix


def test_museum_copy_is_the_painting_cut_out_of_a_museum_photo_in_a_warm_light(tmp_path, painting):
    """The museum copy holds the painting (not the whole wall), under a warmer light than the painting's own, and is
    the same image each time for a painting."""
    path = tmp_path / "p.png"
    painting.save(path)
    one, again = (Variant(museum=True).load(str(path), "ab12", 64) for _ in range(2))
    np.testing.assert_array_equal(one, again)
    assert not np.array_equal(one, Variant(museum=True).load(str(path), "cd34", 64))
    assert Variant(museum=True).suffix not in (Variant().suffix, Variant(copy=0).suffix)
    warmth = []
    for seed in range(8):
        rng = augment.copy_rng(seed, "ab12", 0)
        seen = augment.museum_photo(painting, rng)
        plain = augment.museum_photo(painting, augment.copy_rng(seed, "ab12", 0), light=False)
        # the cut keeps at most 8 % of frame and wall on each side: about the painting's shape, not the photo's
        assert abs(np.log(seen.width / seen.height) - np.log(painting.width / painting.height)) < 0.35
        pixels, reference = np.asarray(seen, float), np.asarray(plain, float)
        warmth.append(pixels[..., 0].mean() / pixels[..., 2].mean() - reference[..., 0].mean() / reference[..., 2].mean())
    assert np.mean(warmth) > 0.05
