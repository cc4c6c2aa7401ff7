"""Where the model looked: the class activation map from the forward pass (export.py, explain.py, views.py)."""
import numpy as np
import pytest

from painting_classifier.vision.views import mosaic, place_views


def test_mosaic_puts_tiles_back_row_by_row():
    tiles = np.arange(4, dtype=np.float32).reshape(4, 1, 1)  # tiles 0 1 / 2 3
    np.testing.assert_array_equal(mosaic(tiles, 2), [[0, 1], [2, 3]])


def test_a_hot_tile_lights_up_where_it_came_from():
    maps = np.zeros((5, 4, 4), np.float32)  # scales [1, 2]: the whole view, then 2 x 2 tiles
    maps[1 + 2] = 1.0  # bottom-left tile of the 2 x 2 scale
    heat = place_views(maps, [1, 2], size=64)
    assert heat.shape == (64, 64) and heat.max() == pytest.approx(1.0)
    assert heat[48, 16] == pytest.approx(1.0) and heat[16, 48] == 0 and heat[16, 16] == 0


def test_nothing_positive_gives_an_empty_map_not_noise():
    heat = place_views(-np.ones((1, 4, 4), np.float32), [1], size=32)
    assert not heat.any()


@pytest.mark.slow
def test_class_map_adds_up_to_the_top_class_score(tiny_bundle, styles_dataset):
    """The map is an exact decomposition of the head's score for the top class over views and positions: its sum
    differs from that score by the class's constant only."""
    from painting_classifier import load_bundle
    from painting_classifier.serving.runtime import split_outputs
    from painting_classifier.training.export import single_output_model
    from painting_classifier.training.keras_bundle import keras_model_of
    from painting_classifier.vision.images import load_rgb, resize_square

    bundle = load_bundle(tiny_bundle)
    model, config = keras_model_of(bundle), bundle.config
    served, layout = single_output_model(model, config.scales, config.effective_view_size)
    paths = [styles_dataset / p for p in bundle.split["path"][:12]]
    images = np.stack([resize_square(load_rgb(p), bundle.input_size) for p in paths]).astype(np.float32)
    out = split_outputs(served.predict(images, verbose=0), layout)
    head = model.get_layer("head")
    standardise, dense = head.get_layer("head_standardise"), head.get_layer("head_probabilities")
    kernel, bias = np.asarray(dense.kernel), np.asarray(dense.bias)
    scores = np.asarray(standardise(out.features)) @ kernel + bias
    scale = np.maximum(np.sqrt(np.asarray(standardise.variance).ravel()), 1e-7)
    constant = bias - (kernel * (np.asarray(standardise.mean).ravel() / scale)[:, None]).sum(axis=0)
    top = out.probabilities.argmax(axis=1)
    np.testing.assert_allclose(out.class_maps.reshape(len(paths), -1).sum(axis=1),
                               scores[np.arange(len(top)), top] - constant[top], rtol=1e-3, atol=1e-3)
