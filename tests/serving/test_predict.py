"""The Predictor: upload -> painting -> artists, scope and map, on LiteRT and Keras alike; many uploads at once get
the answers one at a time gets."""
import json
import shutil

import keras
import numpy as np
import pytest
from PIL import Image

from painting_classifier import BundleError, Predictor, load_bundle
from painting_classifier.training import keras_serving
from painting_classifier.training.keras_serving import model_for_serving
from painting_classifier.training.models import MultiScaleViews
from painting_classifier.training.museum_scenes import museum_scene


def test_bundle_litert_model_predicts_like_the_keras_model(tiny_bundle, styles_dataset):
    bundle = load_bundle(tiny_bundle)
    assert bundle.manifest["litert"]["weights"] == "float16" and bundle.litert_path.is_file()
    fast, reference = Predictor(bundle), Predictor(bundle, model=model_for_serving(bundle, "keras"))
    assert (fast.runtime, reference.runtime) == ("litert", "keras")
    for path in [styles_dataset / p for p in bundle.split["path"][:6]]:
        litert, keras_found = fast.identify(path), reference.identify(path)
        assert litert.ranked[0][0] == keras_found.ranked[0][0]
        np.testing.assert_allclose(litert.probabilities, keras_found.probabilities, atol=5e-3)
        assert litert.scope_score == pytest.approx(keras_found.scope_score, abs=0.05)


def test_bundle_without_litert_model_is_converted_once(tiny_bundle, styles_dataset, tmp_path):
    bundle = load_bundle(tiny_bundle)
    bundle.manifest = {key: value for key, value in bundle.manifest.items() if key != "litert"}  # as format 1
    converted = Predictor(bundle, model=model_for_serving(bundle, "litert", tmp_path))
    assert converted.runtime == "litert" and len(list(tmp_path.glob("tflite/*.tflite"))) == 1
    path = styles_dataset / bundle.split["path"][0]
    np.testing.assert_allclose(converted.probabilities(path), Predictor.from_bundle(tiny_bundle).probabilities(path),
                               atol=5e-3)


def test_a_bundle_without_a_litert_model_is_refused_by_serving_with_what_to_do(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    bundle.manifest = {key: value for key, value in bundle.manifest.items() if key != "litert"}
    with pytest.raises(BundleError, match="painting-classifier export"):
        Predictor(bundle)


def test_model_litert_cannot_express_falls_back_to_keras(tiny_bundle, tmp_path, caplog, monkeypatch):
    bundle = load_bundle(tiny_bundle)
    inputs = keras.Input((9, 9, 3))
    views = MultiScaleViews(3, [2, 3])(inputs)  # 9 -> 6 px: a non-integer rescale (antialiased resize)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(views)))
    monkeypatch.setattr(keras_serving, "keras_model_of", lambda _: model)
    bundle.manifest = {**{k: v for k, v in bundle.manifest.items() if k != "litert"}, "model_sha256": "0" * 64,
                       "input_size": 9}
    bundle.scope = None  # this model has no features to score
    with pytest.raises(RuntimeError, match="LiteRT cannot convert"):
        model_for_serving(bundle, "litert", tmp_path)
    with caplog.at_level("WARNING"):
        predictor = Predictor(bundle, model=model_for_serving(bundle, "auto", tmp_path))
    assert predictor.runtime == "keras" and "predicting with Keras instead" in caplog.text
    assert list(tmp_path.glob("tflite/*.failed"))  # the answer is cached: no second conversion attempt


def test_explanation_is_a_map_of_the_input_size(tiny_bundle, styles_dataset):
    predictor = Predictor.from_bundle(tiny_bundle)
    path = styles_dataset / predictor.bundle.split["path"][0]
    heat = predictor.explanation(predictor.identify(path))
    assert heat.shape == (predictor.input_size, predictor.input_size)
    assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)


@pytest.mark.slow
def test_noise_and_flat_colours_fall_out_of_scope_and_test_paintings_stay(tiny_bundle, styles_dataset):
    bundle = load_bundle(tiny_bundle)
    predictor = Predictor(bundle)
    rng = np.random.default_rng(7)
    side = bundle.input_size  # pixel noise as the model sees it (a larger noise image is averaged into grey)
    noise = [Image.fromarray(rng.integers(0, 256, (side, side, 3), np.uint8)) for _ in range(4)]
    flat = [Image.new("RGB", (120, 90), colour) for colour in [(255, 255, 255), (0, 0, 0), (200, 40, 40)]]
    assert not any(found.in_scope for found in predictor.identify_many(noise + flat))
    test = bundle.split[bundle.split["split"] == "test"]
    kept = [found.in_scope for found in predictor.identify_many(bundle.files(test))]
    assert np.mean(kept) >= 0.75


@pytest.mark.slow
def test_a_bundle_without_a_scope_score_treats_everything_as_in_scope(tiny_bundle, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(tiny_bundle, old)
    (old / "scope.npz").unlink()
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["scope"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    found = Predictor.from_bundle(old).identify(Image.new("RGB", (50, 50)))
    assert found.in_scope and found.scope_score is None and found.out_of_scope is None


@pytest.mark.slow
def test_a_painting_that_fills_the_picture_never_gets_worse(tiny_bundle, styles_dataset):
    predictor = Predictor.from_bundle(tiny_bundle)
    test = predictor.bundle.split[predictor.bundle.split["split"] == "test"]
    threshold = predictor.bundle.scope.threshold + predictor.search_margin
    for path in predictor.bundle.files(test):
        plain, found = predictor.identify(path, find=False), predictor.identify(path)
        assert found.ranked[0][0] == plain.ranked[0][0]
        assert found.crop is None or plain.scope_score < threshold  # searched only when not plainly a painting


def museum_photos_of(paintings: list[Image.Image], seed: int) -> list[Image.Image]:
    """Each painting in a generated museum photo (gilt frame, wall, sometimes visitors in front)."""
    rng = np.random.default_rng(seed)
    return [museum_scene(painting, rng).photo for painting in paintings]


@pytest.mark.slow
def test_many_photos_at_once_get_the_answers_one_photo_gets(tiny_bundle):
    predictor = Predictor.from_bundle(tiny_bundle)
    test = predictor.bundle.split[predictor.bundle.split["split"] == "test"]
    photos = museum_photos_of([Image.open(f).convert("RGB") for f in predictor.bundle.files(test)[:8]], seed=3)
    one_by_one = [predictor.identify(photo) for photo in photos]
    assert any(answer.regions > 1 for answer in one_by_one)  # some photos were searched
    for alone, batched in zip(one_by_one, predictor.identify_many(photos, batch_size=3)):
        assert [name for name, _ in batched.ranked] == [name for name, _ in alone.ranked]
        np.testing.assert_allclose(batched.probabilities, alone.probabilities, atol=1e-4)
        assert (batched.regions, batched.in_scope) == (alone.regions, alone.in_scope)
