"""Running a bundle's model for serving: LiteRT, no TensorFlow.

A bundle carries ``model.tflite`` (``training/export.py``): one forward pass gives each image's probabilities, its
features (for the scope score) and the top class's activation map. A bundle without one (an old format, or a model
LiteRT cannot express) serves through ``training.keras_serving`` instead, which needs TensorFlow.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..bundle import Bundle, BundleError
from ..logs import native_stderr_silenced
from .cpus import usable_cpus


@dataclass
class ModelOutputs:
    """What one forward pass gives for a batch of N images."""

    probabilities: np.ndarray  # (N, classes)
    features: np.ndarray  # (N, D): what the head reads
    class_maps: np.ndarray | None  # (N, n_views, G, G): the top class's activation map per view; None for a non-linear head


def split_outputs(rows: np.ndarray, layout: dict) -> ModelOutputs:
    """One flat output row per image -> its parts, as ``layout`` (``export.single_output_model``) gives their sizes."""
    n_classes, dim = layout["probabilities"], layout["features"]
    maps = None
    if layout.get("class_map"):
        maps = rows[:, n_classes + dim:].reshape(len(rows), *layout["class_map"])
    return ModelOutputs(rows[:, :n_classes], rows[:, n_classes:n_classes + dim], maps)


class LiteRTModel:
    """A LiteRT flatbuffer called like the model: float images (N, S, S, 3) -> ``ModelOutputs``.

    An interpreter is not thread-safe, so calls are serialised; each uses the cores this process may use.
    """

    runtime = "litert"

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


def litert_model(bundle: Bundle) -> LiteRTModel:
    """The bundle's own LiteRT model; ``BundleError`` for a bundle without one."""
    if bundle.litert_path is None:
        raise BundleError(f"{bundle.path} has no {bundle.path.name}/model.tflite to serve: bring it up to date with "
                          "`painting-classifier export --model DIR`, or serve it with --runtime keras "
                          "(needs requirements-train.txt)")
    return LiteRTModel(bundle.litert_path.read_bytes(), bundle.manifest["litert"]["outputs"])
