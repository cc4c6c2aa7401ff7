"""Degraded training copies: deterministic per seed, painting and copy; each step does what it says."""
import numpy as np
import pytest
from PIL import Image

from painting_classifier import augment
from painting_classifier.features import Variant
from synthetic import paint


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
