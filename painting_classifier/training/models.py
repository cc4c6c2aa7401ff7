"""The classifier: one flat functional graph from uint8-valued pixels to artist probabilities.

    image (S x S, S = max(scales) * view + 2 * border)  ->  [border crop]  ->  MultiScaleViews
    ->  backbone (flat)  ->  feature_pool (GAP) [+ style statistics of intermediate stages]  ->  PoolViews
    ->  head ([Normalization] + Dropout [+ Dense] + Dense softmax [+ calibrated temperature])

Multi-scale views live inside the model, so whoever loads the bundle gets them.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from ..config import Config
from ..vision.views import scale_slices
from . import backbones

BORDER_CROP = "border_crop"  # cuts the border off the model's input
VIEWS = "views"  # MultiScaleViews: the views the backbone sees
FEATURE_MAP_POOL = "feature_pool"  # the GAP layer of the last feature map (Grad-CAM's map without style stats)
FEATURES = "features"  # pooled features the head reads (cached in stage 1)
STYLE_STATS = "style_stats"  # style statistics of each view; its inputs are the stage maps (LayerCAM's map)
HEAD = "head"  # the classifier head, a nested model trained on cached features
HEAD_PROBABILITIES = "head_probabilities"  # the head's softmax Dense layer
HEAD_TEMPERATURE = "head_temperature"  # softmax temperature, fitted on validation data after training
HEAD_STANDARDISE = "head_standardise"  # feature standardisation, adapted on the training features
MIN_FEATURE_VARIANCE = 1e-4  # floor, so a channel constant in training cannot blow up on a new image


def tiles_of(images, k: int, tile: int):
    """(batch, k*tile, k*tile, C) -> (batch, k*k, tile, tile, C): a k x k grid of tiles, row by row."""
    channels = images.shape[-1]
    grid = ops.reshape(images, (-1, k, tile, k, tile, channels))
    return ops.reshape(ops.transpose(grid, (0, 1, 3, 2, 4, 5)), (-1, k * k, tile, tile, channels))


@keras.saving.register_keras_serializable("painting_classifier")
class MultiScaleViews(layers.Layer):
    """Cut each image into views of ``view_size``: for every scale k, the image
    resized to k*view_size and split into a k x k grid of tiles (k = 1: the whole
    painting). Output: (batch * n_views, view_size, view_size, 3), views of one
    image consecutive, in the order of ``scales``."""

    def __init__(self, view_size: int, scales: list[int], **kwargs):
        super().__init__(**kwargs)
        self.view_size = int(view_size)
        self.scales = [int(s) for s in scales]

    def call(self, images):
        v = self.view_size
        full = max(self.scales) * v
        views = []
        for k in self.scales:
            side = k * v
            if side == full:
                scaled = images
            elif full % side == 0:  # box filter: exact for whole factors, and TFLite has it (not antialiased resize)
                scaled = ops.average_pool(images, full // side, full // side, padding="valid")
            else:
                scaled = ops.image.resize(images, (side, side), interpolation="bilinear", antialias=True)
            views.append(tiles_of(scaled, k, v))
        return ops.reshape(ops.concatenate(views, axis=1), (-1, v, v, 3))

    def compute_output_shape(self, input_shape):
        return (None, self.view_size, self.view_size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "view_size": self.view_size, "scales": self.scales}


@keras.saving.register_keras_serializable("painting_classifier")
class StyleStatistics(layers.Layer):
    """Channel means and standard deviations of feature maps (the diagonal of a Gram matrix,
    as in style transfer): a list of (batch, H, W, C_i) -> (batch, 2 * sum C_i)."""

    def call(self, feature_maps):
        stats = []
        for x in feature_maps:
            mean = ops.mean(x, axis=(1, 2))
            variance = ops.mean(ops.square(x - mean[:, None, None, :]), axis=(1, 2))
            stats += [mean, ops.sqrt(variance + 1e-6)]  # epsilon: finite gradients on flat maps
        return ops.concatenate(stats, axis=-1)

    def compute_output_shape(self, input_shape):
        return (None, 2 * sum(shape[-1] for shape in input_shape))


@keras.saving.register_keras_serializable("painting_classifier")
class PoolViews(layers.Layer):
    """(batch * n_views, C) -> (batch, C * n_scales): mean over the tiles of each scale, scales concatenated."""

    def __init__(self, scales: list[int], **kwargs):
        super().__init__(**kwargs)
        self.scales = [int(s) for s in scales]

    def call(self, features):
        n_views = sum(k * k for k in self.scales)
        per_image = ops.reshape(features, (-1, n_views, features.shape[-1]))
        return ops.concatenate([ops.mean(per_image[:, views], axis=1) for _, views in scale_slices(self.scales)],
                               axis=-1)

    def compute_output_shape(self, input_shape):
        return (None, input_shape[-1] * len(self.scales))

    def get_config(self):
        return {**super().get_config(), "scales": self.scales}


@keras.saving.register_keras_serializable("painting_classifier")
class Temperature(layers.Layer):
    """softmax(log p / T) on probabilities p. T is a fixed weight: 1 (the identity) while training,
    then set by calibration (``set_temperature``)."""

    def build(self, input_shape):
        self.temperature = self.add_weight(shape=(), initializer="ones", trainable=False, name="temperature")

    def call(self, probs):
        return ops.softmax(ops.log(ops.maximum(probs, 1e-12)) / self.temperature, axis=-1)


def set_temperature(head: keras.Model, temperature: float) -> None:
    """Set the head's softmax temperature (no-op for a head without one)."""
    try:
        head.get_layer(HEAD_TEMPERATURE).temperature.assign(temperature)
    except ValueError:
        pass


def build_head(feature_dim: int, n_classes: int, config: Config) -> keras.Model:
    """Dropout (+ optional hidden Dense) + softmax over the artists; trained alone on cached features."""
    inputs = keras.Input((feature_dim,), name="head_input")
    x = inputs
    if config.style_stats:  # texture statistics span four orders of magnitude: standardise them
        x = layers.Normalization(name=HEAD_STANDARDISE)(x)
    if config.head_units:
        x = layers.Dropout(config.dropout, name="head_hidden_dropout")(x)
        x = layers.Dense(config.head_units, activation="relu", name="head_hidden")(x)
    x = layers.Dropout(config.dropout, name="head_dropout")(x)
    regularizer = keras.regularizers.L2(config.head_l2) if config.head_l2 else None
    outputs = layers.Dense(n_classes, activation="softmax", kernel_regularizer=regularizer,
                           name=HEAD_PROBABILITIES)(x)
    if config.calibrate:
        outputs = Temperature(name=HEAD_TEMPERATURE)(outputs)
    return keras.Model(inputs, outputs, name=HEAD)


def adapt_head(head: keras.Model, features) -> None:
    """Fit the head's feature standardisation (if it has one) to training ``features``."""
    try:
        layer = head.get_layer(HEAD_STANDARDISE)
    except ValueError:
        return
    layer.adapt(features)
    layer.adapt_variance.assign(ops.maximum(layer.adapt_variance, MIN_FEATURE_VARIANCE))
    layer.finalize_state()


def build_model(config: Config, n_classes: int, load_weights: bool = True) -> keras.Model:
    """The full classifier for ``config``; ImageNet/PATH weights loaded unless ``load_weights`` is False."""
    config.validate()
    inputs = keras.Input((config.input_size, config.input_size, 3), name="image")
    x = inputs
    if config.border:
        x = layers.Cropping2D(config.border, name=BORDER_CROP)(x)
    multi_view = config.scales != [1]
    if multi_view:
        x = MultiScaleViews(config.effective_view_size, config.scales, name=VIEWS)(x)
    backbone_weights = config.weights if (load_weights and config.weights != "none") else None
    stage_maps = []
    if config.backbone.startswith("lite"):
        feature_map = backbones.efficientnet_lite(x, config.backbone, stage_maps, top=config.pooled_features)
    elif config.backbone == "seed-cnn":
        feature_map = backbones.seed_cnn(x)
    else:
        feature_map = backbones.keras_application(x, config.backbone, backbone_weights)
    view_features = []
    if config.pooled_features:
        view_features.append(layers.GlobalAveragePooling2D(name=FEATURE_MAP_POOL)(feature_map))
    if config.style_stats:
        view_features.append(StyleStatistics(name=STYLE_STATS)(stage_maps))
    x = view_features[0] if len(view_features) == 1 else layers.Concatenate(name="view_features")(view_features)
    features = PoolViews(config.scales, name=FEATURES)(x) if multi_view else layers.Identity(name=FEATURES)(x)
    head = build_head(features.shape[-1], n_classes, config)
    model = keras.Model(inputs, head(features), name=f"painting_classifier_{config.backbone}")
    if backbone_weights and config.backbone.startswith("lite"):
        backbones.load_lite_weights(model, config.backbone,
                                    None if backbone_weights == "imagenet" else backbone_weights)
    return model


def compiled_forward(model: keras.Model):
    """``model(images, training=False)`` as one compiled graph for any batch size.

    Eager calls of a many-view model at large inputs hold on to far more memory and time.
    """
    import tensorflow as tf

    size = model.input_shape[1]
    spec = tf.TensorSpec((None, size, size, 3), tf.float32)
    return tf.function(lambda images: model(images, training=False), input_signature=[spec])


def with_features(model: keras.Model) -> keras.Model:
    """The model with its pooled features appended to each output row: (N, classes + feature_dim), one
    output so that every runtime returns it in the same order."""
    return keras.Model(model.inputs, layers.Concatenate(name="probabilities_and_features")(
        [model.output, model.get_layer(FEATURES).output]))


def feature_extractor(model: keras.Model) -> keras.Model:
    """The model up to the pooled features the head reads."""
    return keras.Model(model.inputs, model.get_layer(FEATURES).output)


def _layer_names(model: keras.Model) -> set[str]:
    return {layer.name for layer in model.layers}


def backbone_feature_maps(model: keras.Model) -> list:
    """The backbone's output tensors: its last feature map (pooled) and/or its stage maps (style statistics)."""
    names = _layer_names(model)
    maps = [model.get_layer(FEATURE_MAP_POOL).input] if FEATURE_MAP_POOL in names else []
    if STYLE_STATS in names:
        maps += [m for m in model.get_layer(STYLE_STATS).input if all(m is not known for known in maps)]
    return maps


def backbone_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The backbone: every layer on the way from the views it is given to the feature maps it returns."""
    names = _layer_names(model)
    start = next((model.get_layer(n).output for n in (VIEWS, BORDER_CROP) if n in names), model.inputs[0])
    inner = _layer_names(keras.Model(start, backbone_feature_maps(model)))
    return [layer for layer in model.layers if layer.name in inner and not isinstance(layer, layers.InputLayer)]


def freeze_backbone(model: keras.Model) -> None:
    for layer in backbone_layers(model):
        layer.trainable = False
