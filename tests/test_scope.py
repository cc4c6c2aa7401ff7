"""The scope score: fitted on features, stored in the bundle, and flagging what is not a painting of the artists."""
import numpy as np
import pytest

from painting_classifier.scope import NOT_A_PAINTING, NOT_ONE_OF_THE_ARTISTS, Scope, fit_scope


def clusters(rng, n, dim=40, classes=4, rank=6):
    """Features of paintings: ``classes`` clusters in a ``rank``-dimensional subspace, plus a little noise."""
    basis = np.linalg.qr(np.random.default_rng(0).normal(size=(dim, rank)))[0].T
    centres = np.random.default_rng(1).normal(scale=4, size=(classes, rank))
    labels = rng.integers(0, classes, n)
    return (centres[labels] + rng.normal(size=(n, rank))) @ basis + 0.05 * rng.normal(size=(n, dim)), labels


def confident(labels, classes=4, top=0.8):
    probs = np.full((len(labels), classes), (1 - top) / (classes - 1))
    probs[np.arange(len(labels)), labels] = top
    return probs


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(2)
    train, _ = clusters(rng, 400)
    val, val_labels = clusters(rng, 200)
    return fit_scope(train, val, confident(val_labels), components=6)


def test_the_threshold_keeps_95_percent_of_validation_paintings(fitted):
    rng = np.random.default_rng(3)
    new, labels = clusters(rng, 2000)
    kept = (fitted.scores(new, confident(labels)) >= fitted.threshold).mean()
    assert 0.92 <= kept <= 0.98


def test_features_off_the_paintings_subspace_are_not_paintings(fitted):
    rng = np.random.default_rng(4)
    photos = 3 * rng.normal(size=(50, 40))
    scores = fitted.scores(photos, confident(np.zeros(50, int)))
    assert (scores < fitted.threshold).all()
    assert {fitted.judge(f, p)[2] for f, p in zip(photos, confident(np.zeros(50, int)))} == {NOT_A_PAINTING}


def test_a_painting_like_image_matching_no_artist_is_not_one_of_them(fitted):
    rng = np.random.default_rng(5)
    painting, _ = clusters(rng, 1)
    score, in_scope, why = fitted.judge(painting[0], np.full(4, 0.25))
    assert not in_scope and why == NOT_ONE_OF_THE_ARTISTS
    assert fitted.judge(painting[0], confident(np.zeros(1, int))[0])[1]


def test_save_and_load_give_the_same_scores(fitted, tmp_path):
    fitted.save(tmp_path / "scope.npz")
    loaded = Scope.load(tmp_path / "scope.npz")
    rng = np.random.default_rng(6)
    x, labels = clusters(rng, 30)
    np.testing.assert_allclose(loaded.scores(x, confident(labels)), fitted.scores(x, confident(labels)), rtol=1e-5)
    assert loaded.threshold == fitted.threshold








def test_a_blank_image_is_not_a_painting_whatever_its_features(fitted):
    from painting_classifier.scope import is_blank

    rng = np.random.default_rng(8)
    painting, labels = clusters(rng, 1)
    flat = np.full((32, 32, 3), (180, 20, 20), np.uint8)
    textured = np.clip(flat + rng.normal(0, 6, flat.shape), 0, 255).astype(np.uint8)
    assert is_blank(flat) and not is_blank(textured)
    assert fitted.judge(painting[0], confident(labels)[0], flat)[1:] == (False, NOT_A_PAINTING)
    assert fitted.judge(painting[0], confident(labels)[0], textured)[1]


def other_painters(rng, n, dim=40, rank=6):
    """Features of other painters' paintings: a cluster just beyond the artists' clusters along one direction, well
    inside the spread of the 50's features (so painting-likeness alone keeps them), and matched confidently by
    the head all the same."""
    basis = np.linalg.qr(np.random.default_rng(0).normal(size=(dim, rank)))[0].T
    centres = np.random.default_rng(1).normal(scale=4, size=(4, rank))
    centre = centres.mean(axis=0)
    centre[0] = centres[:, 0].max() + 2
    return (centre + rng.normal(size=(n, rank))) @ basis + 0.05 * rng.normal(size=(n, dim))


def test_negatives_teach_the_score_to_reject_other_painters_it_never_saw():
    rng = np.random.default_rng(3)
    train, _ = clusters(rng, 400)
    val, val_labels = clusters(rng, 200)
    negatives, unseen = other_painters(rng, 200), other_painters(rng, 100)
    unseen_probs = confident(np.zeros(len(unseen), int))
    without = fit_scope(train, val, confident(val_labels), components=6)
    with_negatives = fit_scope(train, val, confident(val_labels), components=6, negative_features=negatives)
    rejected = {name: float((s.scores(unseen, unseen_probs) < s.threshold).mean())
                for name, s in (("without", without), ("with", with_negatives))}
    assert rejected["with"] >= 0.9 and rejected["with"] > rejected["without"] + 0.2
    kept = (with_negatives.scores(val, confident(val_labels)) >= with_negatives.threshold).mean()
    assert kept == pytest.approx(0.95, abs=0.01)


def test_the_style_signal_survives_save_and_load(tmp_path):
    rng = np.random.default_rng(4)
    train, _ = clusters(rng, 300)
    val, labels = clusters(rng, 100)
    scope = fit_scope(train, val, confident(labels), components=6, negative_features=other_painters(rng, 100))
    scope.save(tmp_path / "scope.npz")
    loaded = Scope.load(tmp_path / "scope.npz")
    probe = np.r_[val[:5], other_painters(rng, 5)]
    probs = confident(np.zeros(10, int))
    assert loaded.other_weight == scope.other_weight > 0
    np.testing.assert_allclose(loaded.scores(probe, probs), scope.scores(probe, probs), atol=1e-4)
    assert "style against other painters'" in loaded.summary()["method"]


def test_a_picture_that_is_not_painting_like_stays_out_whatever_its_style_and_match():
    """The style signal knows paintings only: however sure it is, a picture off the paintings' subspace (a photo)
    is not a painting."""
    rng = np.random.default_rng(5)
    train, _ = clusters(rng, 400)
    val, labels = clusters(rng, 200)
    scope = fit_scope(train, val, confident(labels), components=6, negative_features=other_painters(rng, 100))
    scope.other_bias += 1e3  # the style signal now calls everything one of the 50's, far above the threshold
    photo = rng.normal(scale=3, size=(1, 40))  # off the 6-dimensional subspace the paintings live in
    assert scope.likeness(photo)[0] < scope.painting_threshold
    assert scope.scores(photo, confident(np.array([0])))[0] < scope.threshold
    assert scope.judge(photo[0], confident(np.array([0]))[0])[1:] == (False, NOT_A_PAINTING)
    assert scope.judge(val[0], confident(labels[:1])[0])[1]  # a painting stays in
