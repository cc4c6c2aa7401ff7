"""The pretrained backbone is numerically right, the weights reader is safe, the models are built as specified."""
import pickle

import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image

from painting_classifier import Config
from painting_classifier.training.backbones import efficientnet_lite, lite_blocks, lite_weights_path, load_lite_weights
from painting_classifier.training.evaluate import apply_temperature, compute_metrics, fit_temperature
from painting_classifier.training.models import (
    HEAD_STANDARDISE,
    MultiScaleViews,
    PoolViews,
    StyleStatistics,
    Temperature,
    adapt_head,
    build_model,
    set_temperature,
)
from painting_classifier.training.torch_weights import UnsafeWeightsError, load_state_dict
from tests.helpers import TEST_DATA

# ImageNet class indices
CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 969}  # espresso, cup, eggnog


@pytest.mark.parametrize("variant, size", [("lite0", 224), ("lite2", 260)])
def test_lite_with_imagenet_weights_recognises_photos(variant, size):
    """A wrong layer order, padding or weight transpose would not find the cat and the coffee."""
    inputs = keras.Input((size, size, 3))
    pooled = layers.GlobalAveragePooling2D()(efficientnet_lite(inputs, variant))
    model = keras.Model(inputs, layers.Dense(1000, name="fc")(pooled))
    assert load_lite_weights(model, variant) > 3 * len(lite_blocks(variant))
    state = load_state_dict(lite_weights_path(variant))
    model.get_layer("fc").set_weights([state["_fc.weight"].T, state["_fc.bias"]])
    for photo, expected in [("chelsea.jpg", CATS), ("coffee.jpg", COFFEE)]:
        image = np.asarray(Image.open(TEST_DATA / photo).resize((size, size)), np.float32)[None]
        logits = model(image).numpy()[0]
        assert int(logits.argmax()) in expected, photo


def test_block_structure_matches_the_weight_files():
    for variant in ("lite0", "lite2"):
        state = load_state_dict(lite_weights_path(variant))
        blocks = lite_blocks(variant)
        assert len(blocks) == len({k.split(".")[1] for k in state if k.startswith("_blocks.")})
        for b, block in enumerate(blocks):
            assert state[f"_blocks.{b}._project_conv.weight"].shape[0] == block["filters_out"]
            assert state[f"_blocks.{b}._depthwise_conv.weight"].shape[-1] == block["kernel"]


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_reader_refuses_anything_but_tensors_and_dicts(tmp_path):
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f)
        pickle.dump(1001, f)
        pickle.dump({}, f)
        pickle.dump({"weight": Exploit()}, f)
    with pytest.raises(UnsafeWeightsError, match="builtins.print"):
        load_state_dict(evil)
    with pytest.raises(UnsafeWeightsError, match="magic"):
        not_torch = tmp_path / "x.pth"
        not_torch.write_bytes(pickle.dumps(123))
        load_state_dict(not_torch)


def test_reader_detects_truncated_file(tmp_path):
    data = lite_weights_path("lite0").read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) - 1000])
    with pytest.raises(UnsafeWeightsError, match="truncated"):
        load_state_dict(cut)


def test_multi_scale_views_cut_the_right_tiles():
    image = np.arange(4 * 4 * 3, dtype=np.float32).reshape(1, 4, 4, 3)
    views = np.asarray(MultiScaleViews(2, [1, 2])(image))
    assert views.shape == (5, 2, 2, 3)
    np.testing.assert_array_equal(views[1], image[0, :2, :2])  # top-left tile at full resolution
    np.testing.assert_array_equal(views[2], image[0, :2, 2:])  # top-right
    np.testing.assert_array_equal(views[4], image[0, 2:, 2:])  # bottom-right
    features = np.arange(2 * 5 * 3, dtype=np.float32).reshape(10, 3)  # 2 images x 5 views
    pooled = np.asarray(PoolViews([1, 2])(features))
    assert pooled.shape == (2, 6)
    np.testing.assert_allclose(pooled[1, :3], features[5])
    np.testing.assert_allclose(pooled[1, 3:], features[6:10].mean(axis=0))


def test_smaller_scales_are_box_filtered_from_the_full_image():
    image = np.arange(4 * 4 * 3, dtype=np.float32).reshape(1, 4, 4, 3)
    whole = np.asarray(MultiScaleViews(2, [1, 2])(image))[0]
    expected = image[0].reshape(2, 2, 2, 2, 3).mean(axis=(1, 3))  # mean of each 2 x 2 block
    np.testing.assert_allclose(whole, expected)


def test_style_statistics_are_channel_means_and_standard_deviations():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 5, 5, 3)).astype(np.float32), rng.normal(size=(2, 3, 3, 4)).astype(np.float32)
    stats = np.asarray(StyleStatistics()([a, b]))
    expected = np.concatenate([a.mean(axis=(1, 2)), a.std(axis=(1, 2)), b.mean(axis=(1, 2)), b.std(axis=(1, 2))], 1)
    np.testing.assert_allclose(stats, expected, rtol=1e-4, atol=1e-4)
    flat = np.asarray(StyleStatistics()([np.ones((1, 4, 4, 2), np.float32)]))
    assert np.isfinite(flat).all() and flat[0, 2:] == pytest.approx(1e-3, abs=1e-4)


def test_style_stats_model_adds_the_stage_statistics_to_the_pooled_features():
    config = Config(backbone="lite0", view_size=32, scales=[1, 2], style_stats=True, head_l2=1e-2)
    model = build_model(config, n_classes=4, load_weights=False)
    stage_channels = 40 + 80 + 112 + 192 + 320  # outputs of the last five EfficientNet-Lite0 stages
    assert model.get_layer("features").output.shape[-1] == 2 * (1280 + 2 * stage_channels)
    head = model.get_layer("head")
    assert head.get_layer("head_probabilities").kernel_regularizer.l2 == pytest.approx(1e-2)
    features = np.random.default_rng(0).normal(3.0, 2.0, size=(64, 2 * (1280 + 2 * stage_channels)))
    features[:, 0] = 5.0  # a constant channel must not be divided by ~0
    adapt_head(head, features)
    standardise = head.get_layer(HEAD_STANDARDISE)
    out = np.asarray(standardise(features.astype(np.float32)))
    assert abs(out[:, 1:].mean()) < 0.05 and out[:, 1:].std() == pytest.approx(1.0, abs=0.05)
    assert np.abs(np.asarray(standardise(np.full((1, features.shape[1]), 6.0, np.float32)))[0, 0]) <= 100
    with pytest.raises(ValueError, match="EfficientNet-Lite"):
        Config(backbone="seed-cnn", weights="none", style_stats=True).validate()


def test_style_statistics_only_model_ends_the_backbone_at_its_last_stage():
    config = Config(backbone="lite0", view_size=32, scales=[1, 2], style_stats=True, pooled_features=False)
    model = build_model(config, n_classes=4, load_weights=False)
    stage_channels = 40 + 80 + 112 + 192 + 320
    assert model.get_layer("features").output.shape[-1] == 2 * 2 * stage_channels
    names = {layer.name for layer in model.layers}
    assert "lite0_head_conv" not in names and "feature_pool" not in names
    with_top = build_model(Config(backbone="lite0", view_size=32, scales=[1, 2], style_stats=True), 4, False)
    assert model.count_params() < with_top.count_params() - 320 * 1280
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    assert np.asarray(model(images)).sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    with pytest.raises(ValueError, match="style statistics"):
        Config(backbone="lite0", pooled_features=False).validate()


def test_temperature_scaling_recovers_the_temperature_that_generated_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(4000, 10))
    true_probs = apply_temperature(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 0.5)
    labels = np.array([rng.choice(10, p=p) for p in true_probs])
    underconfident = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    temperature = fit_temperature(labels, underconfident)
    assert temperature == pytest.approx(0.5, rel=0.1)
    calibrated = apply_temperature(underconfident, temperature)
    np.testing.assert_array_equal(calibrated.argmax(1), underconfident.argmax(1))  # ranking unchanged
    metrics = compute_metrics(labels, calibrated, [str(i) for i in range(10)])
    assert metrics["mean_confidence"] == pytest.approx(metrics["top1"], abs=0.03)


def test_temperature_layer_matches_numpy_and_is_identity_until_set():
    config = Config(backbone="lite0", view_size=32, calibrate=True)
    head = build_model(config, n_classes=5, load_weights=False).get_layer("head")
    layer = [l for l in head.layers if isinstance(l, Temperature)][0]
    probs = np.array([[0.5, 0.2, 0.1, 0.1, 0.1], [0.05, 0.05, 0.1, 0.2, 0.6]], np.float32)
    np.testing.assert_allclose(np.asarray(layer(probs)), probs, atol=1e-6)
    set_temperature(head, 0.5)
    np.testing.assert_allclose(np.asarray(layer(probs)), apply_temperature(probs, 0.5), atol=1e-6)
    assert not layer.trainable_weights
    with pytest.raises(ValueError, match="pretrained backbone"):
        Config(backbone="seed-cnn", weights="none", calibrate=True).validate()
    with pytest.raises(ValueError, match="pretrained EfficientNet-Lite"):
        Config(backbone="mobilenetv2", fine_tune_blocks=1).validate()
    with pytest.raises(ValueError, match="0 to 5"):
        Config(backbone="lite0", fine_tune_blocks=6).validate()


def test_border_is_cut_before_the_views():
    plain = build_model(Config(backbone="lite0", view_size=32, scales=[1, 2]), n_classes=3, load_weights=False)
    framed = build_model(Config(backbone="lite0", view_size=32, scales=[1, 2], border=4), n_classes=3,
                         load_weights=False)
    assert framed.input_shape == (None, 72, 72, 3)
    framed.set_weights(plain.get_weights())
    inner = np.random.default_rng(0).uniform(0, 255, size=(1, 64, 64, 3)).astype(np.float32)
    with_frame = np.pad(inner, ((0, 0), (4, 4), (4, 4), (0, 0)), constant_values=255.0)
    np.testing.assert_allclose(np.asarray(framed(with_frame)), np.asarray(plain(inner)), atol=1e-6)


def test_seed_cnn_is_the_original_architecture():
    model = build_model(Config(backbone="seed-cnn", weights="none"), n_classes=50)
    assert model.input_shape == (None, 256, 256, 3)
    convs = [l for l in model.layers if isinstance(l, layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 128, 256, 512]
    assert all(c.activation.__name__ == "relu" for c in convs)
    kinds = [type(l).__name__ for l in model.layers]
    assert kinds[1] == "Rescaling" and model.layers[1].scale == pytest.approx(1 / 255)
    for i, conv in enumerate(convs):  # every conv is followed by MaxPool then BatchNorm
        at = model.layers.index(conv)
        assert kinds[at + 1:at + 3] == ["MaxPooling2D", "BatchNormalization"], i
    assert "GlobalAveragePooling2D" in kinds
    head_kinds = [type(l).__name__ for l in model.get_layer("head").layers]
    assert head_kinds == ["InputLayer", "Dropout", "Dense"]
    assert model.output_shape == (None, 50)


def test_original_training_defaults():
    config = Config()
    assert (config.batch_size, config.learning_rate, config.epochs, config.patience) == (32, 1e-4, 100, 50)
    assert config.val_fraction == 0.2 and config.class_weights


def test_fine_tuning_keeps_batchnorm_frozen():
    from painting_classifier.training.activations import set_tuned_blocks

    model = build_model(Config(backbone="lite0", view_size=32), n_classes=3, load_weights=False)
    assert set_tuned_blocks(model, Config(backbone="lite0"), 11) > 0
    trainable = [l for l in model.layers if l.trainable and l.weights and l.name != "head"]
    assert trainable and not any(isinstance(l, layers.BatchNormalization) for l in trainable)
    assert {l.name.split("_")[1] for l in trainable} == {"block11", "block12", "block13", "block14", "block15", "head"}
    assert not model.get_layer("lite0_stem_conv").trainable


def test_multi_scale_model_input_is_the_largest_scale():
    model = build_model(Config(backbone="lite0", view_size=32, scales=[1, 2, 3]), n_classes=4, load_weights=False)
    assert model.input_shape == (None, 96, 96, 3)
    assert model.get_layer("features").output.shape[-1] == 3 * 1280
    assert model(np.zeros((2, 96, 96, 3), np.float32)).shape == (2, 4)


@pytest.mark.parametrize("backbone", ["mobilenetv2", "efficientnetv2b0"])
def test_keras_applications_backbones_build_flat(backbone):
    model = build_model(Config(backbone=backbone, weights="none", view_size=64), n_classes=5)
    assert model.output_shape == (None, 5)
    assert len(model.layers) > 50  # the backbone's layers sit in the model's own graph (Grad-CAM needs them)
    assert model(np.zeros((1, 64, 64, 3), np.float32)).shape == (1, 5)


def test_lite_weights_from_a_path_equal_the_packaged_imagenet_weights():
    packaged = build_model(Config(backbone="lite0", view_size=32), n_classes=2)
    from_path = build_model(Config(backbone="lite0", view_size=32, weights=str(lite_weights_path("lite0"))),
                            n_classes=2)
    np.testing.assert_array_equal(packaged.get_layer("lite0_head_conv").get_weights()[0],
                                  from_path.get_layer("lite0_head_conv").get_weights()[0])


def test_every_config_field_is_a_train_option_with_its_default():
    import dataclasses

    from painting_classifier import Config
    from painting_classifier.cli import build_parser

    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    options = {a.dest: a for a in train._actions}
    for spec in dataclasses.fields(Config):
        assert spec.name in options, f"--{spec.name.replace('_', '-')} missing"
        assert options[spec.name].default is None  # unset flags leave a --recipe's values alone
    args = parser.parse_args(["train", "--data", "d", "--scales", "1,2", "--no-class-weights", "--epochs", "7"])
    assert (args.scales, args.class_weights, args.epochs, args.dropout) == ([1, 2], False, 7, None)
    assert "(default: 0.5)" in options["dropout"].help and "(default: on)" in options["class_weights"].help


def test_unknown_config_keys_are_reported_not_dropped_silently():
    from painting_classifier import Config

    with pytest.warns(UserWarning, match="mystery_option"):
        config = Config.from_dict({"backbone": "lite2", "mystery_option": 3})
    assert config.backbone == "lite2"
