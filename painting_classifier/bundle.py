"""The model bundle: the one contract between training and serving.

    model.keras      the Keras model (uint8-valued RGB image in, artist probabilities out)
    manifest.json    format, classes, config, input size, library versions, sha256 of model.keras, test metrics summary
    artists.csv      per class, in output order: name, years, genre, nationality, bio, wikipedia,
                     paintings (found in the data), train_paintings, class_weight
    history.csv      per epoch and stage: loss, accuracy, top5, val_loss, val_accuracy, val_top5
    split.csv        every painting used: path, artist, sha1, split (train/val/test), source (data folder),
                     group (near-duplicate group: the sha1 of its first painting)
    near_duplicates.csv  the groups of two or more paintings found before splitting (with the excluded ones)
    metrics.json     test metrics: top1, top5, balanced_accuracy, macro_f1, per_artist, confusion_matrix
    skipped.csv      unreadable files that were left out, with the reason
    scope.npz        optional: the scope score (``scope.py``); a bundle without it treats every image as in scope
"""
from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .config import Config
from .evaluate import SUMMARY_KEYS
from .scope import SCOPE_FILE, Scope

BUNDLE_FORMAT = 1
MODEL_FILE = "model.keras"


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


def save_bundle(path: str | Path, model, config: Config, artists: pd.DataFrame, history: pd.DataFrame,
                split: pd.DataFrame, metrics: dict, skipped: pd.DataFrame, data_source: str,
                sources: dict | None = None, near_duplicates: pd.DataFrame | None = None,
                scope: Scope | None = None) -> Path:
    """Write a bundle directory; ``artists`` must be in the model's output order.

    ``sources``: data folder name -> {"folder", "train_only"}; ``near_duplicates``: the groups found;
    ``scope``: the fitted scope score.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model_path = path / MODEL_FILE
    serving_copy(model).save(model_path)
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
        "data": data_source,
        "sources": sources or {Path(data_source).name: {"folder": data_source, "train_only": False}},
        "n_paintings": {k: int(v) for k, v in split["split"].value_counts().items()},
        "test_metrics": {k: metrics.get(k) for k in SUMMARY_KEYS},
        "validation_metrics": metrics.get("validation"),
        "versions": library_versions(),
        "model_sha256": sha256_of(model_path),
    }
    if scope is not None:
        manifest["scope"] = {**scope.summary(), "sha256": sha256_of(path / SCOPE_FILE)}
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return path


@dataclass
class Bundle:
    """A loaded bundle: the model plus everything known about how it was trained."""

    path: Path
    model: object
    manifest: dict
    artists: pd.DataFrame
    history: pd.DataFrame
    split: pd.DataFrame
    metrics: dict
    skipped: pd.DataFrame
    scope: Scope | None = None  # None: every image counts as in scope

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

    def files(self, paintings: pd.DataFrame, data_root: str | Path | None = None) -> list[Path]:
        """Where the paintings of ``split.csv`` rows are: their data folder as recorded at training time
        (``data_root`` replaces the first folder's, for a data set that moved)."""
        folders = {name: Path(info["folder"]) for name, info in self.manifest.get("sources", {}).items()}
        first = Path(data_root) if data_root else Path(self.manifest["data"])
        sources = paintings["source"] if "source" in paintings else [None] * len(paintings)
        return [(first if source is None or Path(self.manifest["data"]) == folders.get(source)
                 else folders.get(source, first)) / path for source, path in zip(sources, paintings["path"])]


def _read_csv(path: Path, text: bool = True) -> pd.DataFrame:
    """A bundle table; ``text`` tables keep empty cells as "" (not NaN)."""
    return pd.read_csv(path, keep_default_na=not text) if path.is_file() else pd.DataFrame()


def _load_scope(path: Path, manifest: dict, verify_checksum: bool) -> Scope | None:
    """The bundle's scope score, when it has one."""
    listed = manifest.get("scope")
    if not listed:
        return None
    scope_path = path / listed["file"]
    if not scope_path.is_file():
        raise BundleError(f"{path}: manifest.json lists a scope score but {listed['file']} is missing")
    if verify_checksum and sha256_of(scope_path) != listed.get("sha256"):
        raise BundleError(f"{scope_path} does not match the checksum in manifest.json (corrupt or replaced)")
    return Scope.load(scope_path)


def load_bundle(path: str | Path, verify_checksum: bool = True) -> Bundle:
    """Load and check a bundle (files present, checksum, labels match the output size); Keras safe mode."""
    import keras

    from . import models  # noqa: F401  registers the custom layers

    path = Path(path)
    manifest_path, model_path = path / "manifest.json", path / MODEL_FILE
    if not manifest_path.is_file() or not model_path.is_file():
        raise BundleError(f"{path} is not a model bundle (needs manifest.json and {MODEL_FILE})")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path}: unsupported bundle format {manifest.get('format')!r}")
    if verify_checksum and sha256_of(model_path) != manifest.get("model_sha256"):
        raise BundleError(f"{model_path} does not match the checksum in manifest.json (corrupt or replaced)")
    model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    artists = _read_csv(path / "artists.csv")
    classes = manifest["classes"]
    if model.output_shape[-1] != len(classes) or list(artists.get("label_name", [])) != classes:
        raise BundleError(f"{path}: the model has {model.output_shape[-1]} outputs but the bundle lists "
                          f"{len(classes)} classes / {len(artists)} artists")
    metrics_path = path / "metrics.json"
    return Bundle(scope=_load_scope(path, manifest, verify_checksum), path=path, model=model, manifest=manifest, artists=artists,
                  history=_read_csv(path / "history.csv", text=False), split=_read_csv(path / "split.csv"),
                  metrics=json.loads(metrics_path.read_text()) if metrics_path.is_file() else {},
                  skipped=_read_csv(path / "skipped.csv"))
