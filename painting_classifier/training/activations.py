"""The backbone cut in two, so its top blocks can be fine-tuned on 2 cores.

Below the cut, the backbone is frozen: its output for every training copy of every painting (the activation map
entering block ``first_block``, in float16, and the style statistics of the stages that end below the cut) is
computed once and cached on disk. Above the cut, the same layer objects are applied again to those cached maps, so
each epoch runs only the top blocks, and training them trains the full model's own weights.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops
from tqdm.auto import tqdm

from ..config import Config
from . import backbones, models
from .features import AS_IS, Variant, features_key, variant_batches

ACTIVATIONS_VERSION = "1"


def n_views(config: Config) -> int:
    return sum(k * k for k in config.scales)


def first_tuned_block(config: Config, top_blocks: int) -> int:
    """Index of the lowest block fine-tuned when the top ``top_blocks`` blocks of the backbone are."""
    total = len(backbones.lite_blocks(config.backbone))
    if not 1 <= top_blocks <= total:
        raise ValueError(f"{config.backbone} has {total} blocks; cannot fine-tune the top {top_blocks}")
    return total - top_blocks


def _block_entry(model: keras.Model, variant: str, block: int):
    """The tensor entering block ``block``."""
    has_expand = backbones.lite_blocks(variant)[block]["expand"] != 1
    return model.get_layer(f"{variant}_block{block}_{'expand_conv' if has_expand else 'dwconv'}").input


def _stages_below(variant: str, block: int) -> int:
    """How many of the style stages end below block ``block``."""
    ends = [b for b, spec in enumerate(backbones.lite_blocks(variant))
            if spec["stage_end"] and spec["stage"] in backbones.STYLE_STAGES]
    return sum(end < block for end in ends)


def lower_model(model: keras.Model, config: Config, first_block: int) -> keras.Model:
    """Image -> (the map entering ``first_block`` per view: (N, views, h, w, c); the style statistics of the stages
    below it per view: (N, views, d))."""
    views = n_views(config)
    entry = _block_entry(model, config.backbone, first_block)
    h, w, c = entry.shape[1:]
    stage_maps = model.get_layer(models.STYLE_STATS).input[: _stages_below(config.backbone, first_block)]
    stats = models.StyleStatistics(name="lower_style_stats")(stage_maps)
    return keras.Model(model.inputs, [ops.reshape(entry, (-1, views, h, w, c)),
                                      ops.reshape(stats, (-1, views, stats.shape[-1]))], name="below_the_cut")


def upper_model(model: keras.Model, config: Config, first_block: int) -> keras.Model:
    """(cached map, lower statistics) -> (probabilities, the head's features), through the model's own layers from
    block ``first_block`` up: fitting it trains ``model``."""
    views = n_views(config)
    entry = _block_entry(model, config.backbone, first_block)
    h, w, c = entry.shape[1:]
    n_lower = 2 * sum(m.shape[-1] for m in
                      model.get_layer(models.STYLE_STATS).input[: _stages_below(config.backbone, first_block)])
    cut_input = keras.Input((views, h, w, c), name="cut_map")
    lower_input = keras.Input((views, n_lower), name="lower_stats")
    stage_maps: list = []
    top = backbones.lite_layers(ops.reshape(cut_input, (-1, h, w, c)), config.backbone,
                                lambda name, *args, **kwargs: model.get_layer(name), first_block, stage_maps,
                                top=config.pooled_features)
    per_view = [model.get_layer(models.FEATURE_MAP_POOL)(top)] if config.pooled_features else []
    per_view.append(layers.Concatenate(name="style_stats_joined")(
        [ops.reshape(lower_input, (-1, n_lower)), models.StyleStatistics(name="upper_style_stats")(stage_maps)]))
    joined = per_view[0] if len(per_view) == 1 else model.get_layer("view_features")(per_view)
    features = model.get_layer(models.FEATURES)(joined)
    probabilities = model.get_layer(models.HEAD)(features)
    return keras.Model([cut_input, lower_input], [probabilities, features], name="above_the_cut")


def tuned_layers(model: keras.Model, config: Config, first_block: int) -> list:
    """The backbone's layers from block ``first_block`` up, and its final convolution."""
    prefixes = tuple(f"{config.backbone}_block{b}_"
                     for b in range(first_block, len(backbones.lite_blocks(config.backbone))))
    return [layer for layer in models.backbone_layers(model) if layer.name.startswith((*prefixes, f"{config.backbone}_head_"))]


def set_tuned_blocks(model: keras.Model, config: Config, first_block: int) -> int:
    """Make the blocks from ``first_block`` up and the final convolution trainable, everything below frozen;
    BatchNorm stays frozen (its statistics come from ImageNet). Returns the number of weight tensors made
    trainable."""
    tuned = {layer.name for layer in tuned_layers(model, config, first_block)}
    count = 0
    for layer in models.backbone_layers(model):
        layer.trainable = layer.name in tuned and not isinstance(layer, layers.BatchNormalization)
        count += len(layer.trainable_weights)
    model.get_layer(models.HEAD).trainable = True
    return count


@dataclass
class Activations:
    """Cached activations below the cut of one copy per row: ``maps`` (N, views, h, w, c) float16 and ``lower``
    (N, views, d) float32."""

    maps: np.ndarray
    lower: np.ndarray

    def __len__(self) -> int:
        return len(self.maps)

    def take(self, rows) -> "Activations":
        return Activations(self.maps[rows], self.lower[rows])

    @staticmethod
    def join(parts: list["Activations"]) -> "Activations":
        return Activations(np.concatenate([p.maps for p in parts]), np.concatenate([p.lower for p in parts]))


def activations_folder(config: Config, first_block: int, cache_dir: Path) -> Path:
    spec = [ACTIVATIONS_VERSION, features_key(config), first_block]
    return Path(cache_dir) / "activations" / hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:16]


def cached_activations(model: keras.Model, config: Config, first_block: int, paths: list[str], sha1s,
                       cache_dir: Path, variant: Variant = AS_IS, progress: bool = True) -> Activations:
    """The activations below the cut of one ``variant`` of each image file, computed once (the frozen lower
    backbone) and cached as ``<sha1><variant suffix>.npz``."""
    folder = activations_folder(config, first_block, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sha1s = list(sha1s)
    files = [folder / f"{sha}{variant.suffix}.npz" for sha in sha1s]
    missing = [i for i, f in enumerate(files) if not f.is_file()]
    if missing:
        _compute(lower_model(model, config, first_block), variant, [(str(paths[i]), sha1s[i]) for i in missing],
                 [files[i] for i in missing], config.input_size, progress)
    loaded = [np.load(f) for f in files]
    return Activations(np.stack([d["maps"] for d in loaded]), np.stack([d["lower"] for d in loaded]))


def _compute(lower: keras.Model, variant: Variant, items: list[tuple[str, str]], targets: list[Path],
             input_size: int, progress: bool) -> None:
    import tensorflow as tf

    batches = variant_batches(variant, items, input_size)
    spec = tf.TensorSpec((None, input_size, input_size, 3), tf.float32)
    forward = tf.function(lambda images: lower(images, training=False), input_signature=[spec])
    written = iter(targets)
    desc = "Activations" + (f" ({variant.suffix.strip('_')})" if variant.suffix else "")
    with tqdm(total=len(items), desc=desc, unit="img", disable=not progress) as bar:
        for images in batches:
            maps, lower_stats = forward(images)
            for m, s in zip(maps.numpy(), lower_stats.numpy()):
                target = next(written)
                tmp = target.with_name(target.stem + ".tmp.npz")
                with open(tmp, "wb") as handle:
                    np.savez(handle, maps=m.astype(np.float16), lower=s.astype(np.float32))
                tmp.replace(target)  # atomic: a killed run never leaves half a file
            bar.update(len(images))


def deeper_cut(model: keras.Model, config: Config, cached_at: int, first_block: int, activations: Activations,
               batch_size: int = 64) -> Activations:
    """The activations entering ``first_block``, from cached ones entering ``cached_at`` (a lower cut), through the
    frozen blocks between them."""
    if first_block == cached_at:
        return activations
    stage_maps = model.get_layer(models.STYLE_STATS).input[
        _stages_below(config.backbone, cached_at): _stages_below(config.backbone, first_block)]
    entry = _block_entry(model, config.backbone, cached_at)
    outputs = [_block_entry(model, config.backbone, first_block)]
    if stage_maps:
        outputs.append(models.StyleStatistics(name="between_style_stats")(stage_maps))
    between = keras.Model(entry, outputs)
    maps, lower = [], []
    for start in range(0, len(activations), batch_size):
        part = activations.take(slice(start, start + batch_size))
        n, views = part.maps.shape[:2]
        out = between(part.maps.reshape(-1, *part.maps.shape[2:]).astype(np.float32), training=False)
        out = out if isinstance(out, (list, tuple)) else [out]
        deeper = np.asarray(out[0])
        maps.append(deeper.reshape(n, views, *deeper.shape[1:]).astype(np.float16))
        added = [np.asarray(out[1]).reshape(n, views, -1)] if stage_maps else []
        lower.append(np.concatenate([part.lower, *added], axis=-1))
    return Activations(np.concatenate(maps), np.concatenate(lower))
