"""Serving a bundle with TensorFlow: its Keras model with the LiteRT model's outputs (``KerasModel``), a LiteRT
model converted once for a bundle that has none (cached per model checksum under ``cache_dir/tflite``), and the
choice between them (``model_for_serving``). The app reaches it only through ``--runtime keras`` or a bundle
without ``model.tflite``."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from ..bundle import Bundle
from ..config import default_cache_dir
from ..serving.runtime import LiteRTModel, ModelOutputs, litert_model, split_outputs
from .export import UnsupportedModel, litert_flatbuffer, single_output_model
from .keras_bundle import keras_model_of
from .models import compiled_forward

RUNTIMES = ("auto", "litert", "keras")
log = logging.getLogger(__name__)


class KerasModel:
    """The same outputs from the Keras model (needs TensorFlow): for models LiteRT cannot express, and to compare."""

    runtime = "keras"

    def __init__(self, bundle):
        config = bundle.config
        model, self.layout = single_output_model(keras_model_of(bundle), config.scales, config.effective_view_size)
        self._forward = compiled_forward(model)

    def __call__(self, images: np.ndarray) -> ModelOutputs:
        return split_outputs(np.asarray(self._forward(np.asarray(images, np.float32))), self.layout)


def converted(bundle, cache_dir: Path | None = None) -> tuple[bytes, dict]:
    """A LiteRT flatbuffer and layout for a bundle that has none (needs TensorFlow), cached under
    ``cache_dir/tflite/`` by the model's checksum. ``export.UnsupportedModel`` when it cannot be converted
    (that answer is cached too)."""
    folder = Path(cache_dir or default_cache_dir()) / "tflite"
    cached = folder / f"{bundle.manifest['model_sha256'][:24]}.tflite"
    layout_file, failed = cached.with_suffix(".json"), cached.with_suffix(".failed")
    if cached.is_file() and layout_file.is_file():
        return cached.read_bytes(), json.loads(layout_file.read_text())
    if failed.is_file():
        raise UnsupportedModel(failed.read_text())
    config = bundle.config
    try:
        flatbuffer, info = litert_flatbuffer(keras_model_of(bundle), config.scales, config.effective_view_size)
    except UnsupportedModel as error:
        _write_atomically(failed, str(error).encode())
        raise
    _write_atomically(cached, flatbuffer)
    _write_atomically(layout_file, json.dumps(info["outputs"]).encode())
    return flatbuffer, info["outputs"]


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(f".{os.getpid()}.tmp")
        staging.write_bytes(data)
        staging.replace(path)
    except OSError:  # read-only home: convert again next time
        pass


def model_for_serving(bundle: Bundle, runtime: str = "auto", cache_dir: Path | None = None):
    """The bundle's model for serving: its LiteRT file; else a conversion (``runtime`` ``auto`` or ``litert``);
    else Keras (``auto`` or ``keras``). A callable giving ``ModelOutputs``; its ``runtime`` names which."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if runtime != "keras":
        if bundle.litert_path is not None:
            return litert_model(bundle)
        try:
            return LiteRTModel(*converted(bundle, cache_dir))
        except RuntimeError as error:  # export.UnsupportedModel
            if runtime == "litert":
                raise
            log.warning("%s; predicting with Keras instead", error)
    return KerasModel(bundle)
