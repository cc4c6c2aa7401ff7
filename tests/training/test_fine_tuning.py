"""The backbone cut in two: the top applied to cached activations is the model itself, fine-tuning trains the model's
own weights, and each epoch draws one copy of every painting."""
import keras
import numpy as np
import pytest

from painting_classifier import Config
from painting_classifier.training import models
from painting_classifier.training.activations import (
    Activations,
    cached_activations,
    deeper_cut,
    first_tuned_block,
    lower_model,
    upper_model,
)
from painting_classifier.training.features import Variant
from painting_classifier.training.fine_tuning import CopyBatches, features_above, tuning_model

TINY = dict(backbone="lite0", view_size=32, scales=[1, 2], style_stats=True)


@pytest.fixture(scope="module")
def tiny():
    config = Config(**TINY)
    keras.utils.set_random_seed(0)
    model = models.build_model(config, 3)
    images = np.random.default_rng(0).uniform(0, 255, (3, config.input_size, config.input_size, 3)).astype("float32")
    return config, model, images


@pytest.mark.parametrize("top_blocks", [1, 5])
def test_top_on_cached_activations_is_the_whole_model(tiny, top_blocks):
    config, model, images = tiny
    first = first_tuned_block(config, top_blocks)
    maps, lower = lower_model(model, config, first).predict(images, verbose=0)
    probabilities, features = upper_model(model, config, first).predict([maps, lower], verbose=0)
    np.testing.assert_allclose(probabilities, model.predict(images, verbose=0), atol=1e-5)
    np.testing.assert_allclose(features, models.feature_extractor(model).predict(images, verbose=0), rtol=1e-4,
                               atol=1e-4)


def test_a_deeper_cut_from_a_lower_one_matches_cutting_there(tiny):
    config, model, images = tiny
    low, high = first_tuned_block(config, 5), first_tuned_block(config, 1)
    below = Activations(*lower_model(model, config, low).predict(images, verbose=0))
    deeper = deeper_cut(model, config, low, high, below)
    maps, lower = lower_model(model, config, high).predict(images, verbose=0)
    np.testing.assert_allclose(deeper.maps.astype(np.float32), maps, rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(deeper.lower, lower, rtol=1e-4, atol=1e-4)


def test_activations_are_cached_once_per_painting_and_variant(tiny, tmp_path):
    from PIL import Image

    config, model, _ = tiny
    files = []
    ramp = np.linspace(0, 255, 80, dtype=np.uint8)
    for i in range(2):  # left-to-right ramps: a mirrored copy differs
        files.append(tmp_path / f"p{i}.png")
        Image.fromarray(np.stack([np.tile(ramp, (60, 1)), np.full((60, 80), 90 * i, np.uint8),
                                  np.tile(ramp[::-1], (60, 1))], axis=-1)).save(files[-1])
    first = first_tuned_block(config, 1)
    found = cached_activations(model, config, first, [str(f) for f in files], ["a", "b"], tmp_path, progress=False)
    mirrored = cached_activations(model, config, first, [str(f) for f in files], ["a", "b"], tmp_path,
                                  Variant(mirrored=True), progress=False)
    assert found.maps.dtype == np.float16 and found.maps.shape[:2] == (2, 5)
    assert len(list(tmp_path.glob("activations/*/*.npz"))) == 4
    files[0].unlink()  # from the cache now, the file is no longer read
    again = cached_activations(model, config, first, [str(f) for f in files], ["a", "b"], tmp_path, progress=False)
    np.testing.assert_array_equal(again.maps, found.maps)
    assert not np.array_equal(mirrored.lower, found.lower)


def tuned_after_two_epochs(tiny, backbone_scale: float):
    """(model, first tuned block, its activations, weights before: the block below, the first tuned block, the head's
    bias) after two epochs of fine-tuning the top block of a fresh model on the three tiny images."""
    config, _, images = tiny
    model = models.build_model(config, 3)
    first = first_tuned_block(config, 1)
    below = Activations(*lower_model(model, config, first).predict(images, verbose=0))
    watched = [model.get_layer(f"lite0_block{first - 1}_project_conv"), model.get_layer(f"lite0_block{first}_project_conv"),
               model.get_layer(models.HEAD)]
    before = [layer.get_weights()[-1].copy() for layer in watched]
    trainable = tuning_model(model, config, first, learning_rate=1e-2, backbone_scale=backbone_scale)
    trainable.fit(CopyBatches(below, [np.array([i]) for i in range(3)], np.arange(3), 3, 3, None, 0), epochs=2,
                  verbose=0)
    changed = [not np.array_equal(layer.get_weights()[-1], was) for layer, was in zip(watched, before)]
    return model, first, below, changed


def test_fine_tuning_moves_the_top_blocks_and_the_head_only(tiny):
    config, _, images = tiny
    model, first, below, (below_changed, tuned_changed, head_changed) = tuned_after_two_epochs(tiny, 0.5)
    assert not below_changed and tuned_changed and head_changed
    # the bundle's model is the tuned one: its own forward pass agrees with the top on the activations
    probabilities, _ = features_above(model, config, first, below)
    np.testing.assert_allclose(probabilities, model.predict(images, verbose=0), atol=1e-4)


def test_a_zero_backbone_scale_leaves_the_backbone_alone(tiny):
    _, _, _, (below_changed, tuned_changed, head_changed) = tuned_after_two_epochs(tiny, 0.0)
    assert not below_changed and not tuned_changed and head_changed


def test_each_epoch_draws_one_copy_of_every_painting():
    activations = Activations(np.arange(10, dtype=np.float16).reshape(10, 1, 1, 1, 1), np.zeros((10, 1, 1), np.float32))
    copies = [np.array([0, 1, 2]), np.array([3, 4]), np.array([5, 6, 7, 8, 9])]
    batches = CopyBatches(activations, copies, np.array([0, 1, 1]), 2, 2, {0: 2.0, 1: 0.5}, seed=3)
    drawn = []
    for _ in range(20):
        epoch = [batches[i] for i in range(len(batches))]
        values = np.concatenate([x[0].ravel() for x, _, _ in epoch]).astype(int)
        owners = [next(p for p, rows in enumerate(copies) if v in rows) for v in values]
        assert sorted(owners) == [0, 1, 2]  # every painting once
        weights = np.concatenate([w for _, _, w in epoch])
        labels = np.concatenate([y.argmax(1) for _, y, _ in epoch])
        assert list(weights) == [2.0 if label == 0 else 0.5 for label in labels]
        drawn.append(values)
        batches.on_epoch_end()
    assert len({v for epoch in drawn for v in epoch}) == 10  # over the epochs, every copy comes up
