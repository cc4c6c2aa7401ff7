"""Running a bundle's model for serving: LiteRT, no TensorFlow.

A bundle carries ``model.tflite`` (``export.py``): one forward pass gives each image's probabilities, its
features (for the scope score) and the top class's activation map. An older bundle without it is
converted once with TensorFlow and the result cached per model checksum (``cache_dir/tflite``);
a model LiteRT cannot express runs on Keras instead.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import default_cache_dir
from .cpus import usable_cpus
from .logs import import_tensorflow, native_stderr_silenced

RUNTIMES = ("auto", "litert", "keras")
log = logging.getLogger(__name__)


@dataclass
class ModelOutputs:
    """What one forward pass gives for a batch of N images."""

    probabilities: np.ndarray  # (N, classes)
    features: np.ndarray  # (N, D): what the head reads
    class_maps: np.ndarray | None  # (N, n_views, G, G): the top class's activation map per view; None for a non-linear head


def split_outputs(rows: np.ndarray, layout: dict) -> ModelOutputs:
    """One flat output row per image -> its parts, as ``layout`` (``export.serving_model``) gives their sizes."""
    n_classes, dim = layout["probabilities"], layout["features"]
    maps = None
    if layout.get("class_map"):
        maps = rows[:, n_classes + dim:].reshape(len(rows), *layout["class_map"])
    return ModelOutputs(rows[:, :n_classes], rows[:, n_classes:n_classes + dim], maps)


class LiteRTModel:
    """A LiteRT flatbuffer called like the model: float images (N, S, S, 3) -> ``ModelOutputs``.

    An interpreter is not thread-safe, so calls are serialised; each uses the cores this process may use.
    """

    def __init__(self, flatbuffer: bytes, layout: dict, threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.layout = layout
        self._interpreter = Interpreter(model_content=flatbuffer, num_threads=threads or usable_cpus())
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = None
        self._lock = threading.Lock()

    def __call__(self, images: np.ndarray) -> ModelOutputs:
        images = np.ascontiguousarray(images, dtype=np.float32)
        with self._lock:
            if self._batch != len(images):
                self._interpreter.resize_tensor_input(self._input, images.shape)
                with native_stderr_silenced():  # "Created TensorFlow Lite XNNPACK delegate"
                    self._interpreter.allocate_tensors()
                self._batch = len(images)
            self._interpreter.set_tensor(self._input, images)
            self._interpreter.invoke()
            rows = self._interpreter.get_tensor(self._output).copy()
        return split_outputs(rows, self.layout)


class KerasModel:
    """The same outputs from the Keras model (needs TensorFlow): for models LiteRT cannot express, and to compare."""

    def __init__(self, bundle):
        import_tensorflow()
        from .export import serving_model
        from .models import compiled_forward

        config = bundle.config
        model, self.layout = serving_model(bundle.model, config.scales, config.effective_view_size)
        self._forward = compiled_forward(model)

    def __call__(self, images: np.ndarray) -> ModelOutputs:
        return split_outputs(np.asarray(self._forward(np.asarray(images, np.float32))), self.layout)


def converted(bundle, cache_dir: Path | None = None) -> tuple[bytes, dict]:
    """A LiteRT flatbuffer and layout for a bundle that has none (needs TensorFlow), cached under
    ``cache_dir/tflite/`` by the model's checksum. ``export.UnsupportedModel`` when it cannot be converted
    (that answer is cached too)."""
    import json

    import_tensorflow()
    from .export import UnsupportedModel, litert_flatbuffer

    folder = Path(cache_dir or default_cache_dir()) / "tflite"
    cached = folder / f"{bundle.manifest['model_sha256'][:24]}.tflite"
    layout_file, failed = cached.with_suffix(".json"), cached.with_suffix(".failed")
    if cached.is_file() and layout_file.is_file():
        return cached.read_bytes(), json.loads(layout_file.read_text())
    if failed.is_file():
        raise UnsupportedModel(failed.read_text())
    config = bundle.config
    try:
        flatbuffer, info = litert_flatbuffer(bundle.model, config.scales, config.effective_view_size)
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


def serving_model(bundle, runtime: str = "auto", cache_dir: Path | None = None):
    """The bundle's model for serving: its LiteRT file; else a conversion (``runtime`` ``auto`` or ``litert``);
    else Keras (``auto`` or ``keras``). Returns (callable giving ``ModelOutputs``, the runtime's name)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if runtime != "keras":
        if bundle.litert_path is not None:
            return LiteRTModel(bundle.litert_path.read_bytes(), bundle.manifest["litert"]["outputs"]), "litert"
        try:
            return LiteRTModel(*converted(bundle, cache_dir)), "litert"
        except RuntimeError as error:  # export.UnsupportedModel
            if runtime == "litert":
                raise
            log.warning("%s; predicting with Keras instead", error)
    return KerasModel(bundle), "keras"
