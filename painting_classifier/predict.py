"""Serving a bundle: top-k artists for one image, and Grad-CAM "where the model looked".

An upload is decoded at a reduced scale that still covers the model's input, the painting is
cut out of any frame and wall around it (``crop.py``; a large photo is decoded again when the
painting in it needs more pixels), then squashed to the model's input.

Predictions run on a TensorFlow Lite (XNNPACK) conversion of the bundle's model when it
converts: about 2-3x faster on CPU than the Keras graph. The conversion is cached per model
checksum; Grad-CAM needs gradients and uses the Keras model.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import logging
import math
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .bundle import Bundle, load_bundle
from .config import default_cache_dir
from .crop import Crop, cut_out, find_painting
from .images import load_rgb, resize_square
from .logs import native_stderr_silenced

RUNTIMES = ("auto", "tflite", "keras")
log = logging.getLogger(__name__)


def tflite_model(bundle: Bundle, cache_dir: Path | None = None, features: bool = False) -> bytes:
    """The bundle's model converted to a TFLite flatbuffer, cached under ``cache_dir/tflite/``
    (``features``: its features appended to the probabilities, ``models.with_features``).

    Raises ``RuntimeError`` for a model TFLite cannot express (e.g. views rescaled by a
    non-integer factor); that answer is cached too.
    """
    import tensorflow as tf

    from .models import with_features

    folder = Path(cache_dir or default_cache_dir()) / "tflite"
    kind = "-features" if features else ""
    cached = folder / f"{bundle.manifest['model_sha256'][:24]}{kind}-tf{tf.__version__}.tflite"
    failed = cached.with_suffix(".failed")
    if cached.is_file():
        return cached.read_bytes()
    if failed.is_file():
        raise RuntimeError(failed.read_text())
    try:
        with contextlib.redirect_stdout(io.StringIO()), native_stderr_silenced():  # the export lists every variable
            model = with_features(bundle.model) if features else bundle.model
            flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as error:  # the converter raises several unrelated error types
        ops = re.search(r"Custom ops: (.*)", str(error))
        reason = f"uses operations TFLite lacks ({ops.group(1)})" if ops else str(error).splitlines()[0][:200]
        flatbuffer, message = None, f"TFLite cannot convert this model: {reason}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if flatbuffer is None:
            failed.write_text(message)
        else:
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(flatbuffer)
            tmp.replace(cached)
    except OSError:  # read-only home: convert again next time
        pass
    if flatbuffer is None:
        raise RuntimeError(message)
    return flatbuffer


class TFLiteForward:
    """Calls a TFLite flatbuffer like the model: float images (N, S, S, 3) -> its output (N, ...).

    An interpreter is not thread-safe, so calls are serialised; each uses all CPU cores.
    """

    def __init__(self, flatbuffer: bytes):
        try:  # LiteRT, the maintained TFLite runtime
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # TensorFlow's own (deprecated) copy
            import tensorflow as tf

            Interpreter = tf.lite.Interpreter
        self._interpreter = Interpreter(model_content=flatbuffer, num_threads=os.cpu_count() or 1)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = None
        self._lock = threading.Lock()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.ascontiguousarray(images, dtype=np.float32)
        with self._lock:
            if self._batch != len(images):
                self._interpreter.resize_tensor_input(self._input, images.shape)
                with native_stderr_silenced():  # "Created TensorFlow Lite XNNPACK delegate"
                    self._interpreter.allocate_tensors()
                self._batch = len(images)
            self._interpreter.set_tensor(self._input, images)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).copy()


def painting_in(image, side: int, crop: bool = True) -> tuple[Image.Image, Crop | None, tuple[int, int]]:
    """The painting in ``image`` (path, bytes or PIL image), where it was found (``crop``: cut away a frame and
    wall) and the size of the image as decoded; ``ValueError`` for what is not a usable image.

    A JPEG is decoded at the smallest scale that still covers ``side`` pixels; when a painting found in
    a large photo would come out smaller than that, the photo is decoded again at a scale that gives
    the painting itself ``side`` pixels.
    """
    rgb = load_rgb(image, min_side=side)
    found = find_painting(rgb) if crop else None
    if found is None:
        return rgb, None, rgb.size
    if min(found.size) < side:
        sharper = load_rgb(image, min_side=math.ceil(min(rgb.size) * side / min(found.size)))
        if sharper.width > rgb.width:
            found, rgb = Crop(found.corners * (sharper.width / rgb.width)), sharper
    return cut_out(rgb, found), found, rgb.size


@dataclass
class Identification:
    """What the model makes of one image."""

    ranked: list[tuple[str, float]]  # (artist, probability), best first
    probabilities: np.ndarray  # every artist's probability, in bundle order
    painting: Image.Image  # what the model was shown: the painting found in the image, or all of it
    crop: Crop | None  # where that painting was found in the image (None: the whole image)
    image_size: tuple[int, int]  # width and height of the image as decoded (the crop's coordinates)
    in_scope: bool = True  # looks like a painting by one of the artists (always, for a bundle without a scope score)
    scope_score: float | None = None  # higher: more like the artists' paintings (``scope.py``); None without one
    out_of_scope: str | None = None  # why not in scope: scope.NOT_A_PAINTING or scope.NOT_ONE_OF_THE_50


class Predictor:
    """Top-k artist predictions for images of any kind (path, bytes or PIL image).

    ``runtime``: ``tflite`` (TFLite/XNNPACK conversion), ``keras`` (the model as a compiled
    ``tf.function``) or ``auto`` (TFLite where the model converts, else Keras). The chosen
    one is in ``self.runtime``; the model is warmed up on construction. ``crop``: cut the painting
    out of a photo of it (frame and wall) by default.
    """

    def __init__(self, bundle: Bundle, tta: bool | None = None, warm_up: bool = True, runtime: str = "auto",
                 cache_dir: Path | None = None, crop: bool = True):
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
        self.bundle = bundle
        self.model = bundle.model
        self.input_size = bundle.input_size
        self.tta = bundle.config.tta if tta is None else tta
        self.names = bundle.display_names
        self.crop = crop
        self.scope = bundle.scope
        self.runtime = "keras"
        features = self.scope is not None  # the scope score needs the model's features beside its probabilities
        if runtime != "keras":
            try:
                self._forward = TFLiteForward(tflite_model(bundle, cache_dir, features))
                self.runtime = "tflite"
            except RuntimeError as error:
                if runtime == "tflite":
                    raise
                log.warning("%s; predicting with Keras instead", error)
        if self.runtime == "keras":
            from .models import compiled_forward, with_features

            self._forward = compiled_forward(with_features(self.model) if features else self.model)
        self._gradcam_model = None
        if warm_up:
            self._forward(np.zeros((2 if self.tta else 1, self.input_size, self.input_size, 3), np.float32))

    @classmethod
    def from_bundle(cls, path: str | Path, **kwargs) -> "Predictor":
        return cls(load_bundle(path), **kwargs)

    def painting_of(self, image, crop: bool | None = None) -> tuple[Image.Image, Crop | None, tuple[int, int]]:
        """``painting_in`` as this predictor decodes and crops (``crop`` default: ``self.crop``), and the decoded
        image's size."""
        return painting_in(image, self.input_size, self.crop if crop is None else crop)

    def prepare(self, image, crop: bool | None = None) -> np.ndarray:
        """The uint8 square array the model sees."""
        return resize_square(self.painting_of(image, crop)[0], self.input_size)

    def _outputs_of(self, arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (N, classes) and features (N, D; None without a scope score) of uint8 model inputs
        (N, S, S, 3), each averaged with its mirror image's when ``tta``."""
        batch = np.asarray(arrays, np.float32)
        if self.tta:
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        outputs = np.asarray(self._forward(batch))
        if self.tta:
            outputs = (outputs[: len(arrays)] + outputs[len(arrays):]) / 2
        n_classes = len(self.names)
        return outputs[:, :n_classes], (outputs[:, n_classes:] if self.scope is not None else None)

    def _identification(self, pixels: np.ndarray, probs: np.ndarray, features: np.ndarray | None, top_k: int,
                        painting: Image.Image, found: Crop | None, size: tuple[int, int]) -> Identification:
        order = np.argsort(-probs)[: max(1, int(top_k))]
        ranked = [(self.names[i], float(probs[i])) for i in order]
        if features is None:
            return Identification(ranked, probs, painting, found, size)
        score, in_scope, why_not = self.scope.judge(features, probs, pixels)
        return Identification(ranked, probs, painting, found, size, in_scope, score, why_not)

    def identify(self, image, top_k: int = 5, crop: bool | None = None) -> Identification:
        """The ``top_k`` most likely artists for ``image``, whether it is in scope (a painting by one of the
        artists), and the painting the model was shown."""
        return self.identify_found(self.painting_of(image, crop), top_k)

    def identify_found(self, found_painting: tuple[Image.Image, Crop | None, tuple[int, int]],
                       top_k: int = 5) -> Identification:
        """``identify`` for what ``painting_of`` returned (the app decodes an upload once for this and Grad-CAM)."""
        painting, found, size = found_painting
        pixels = resize_square(painting, self.input_size)
        probs, features = self._outputs_of(pixels[None])
        return self._identification(pixels, probs[0], None if features is None else features[0], top_k, painting,
                                    found, size)

    def identify_many(self, images, top_k: int = 5, batch_size: int = 16,
                      crop: bool | None = None) -> Iterator[Identification | ValueError]:
        """``identify`` for many images, in order: decoded on a thread per core while the model runs on
        batches of ``batch_size``. An image that cannot be read yields its ``ValueError`` instead."""
        def prepared(image):
            try:
                return self.painting_of(image, crop)
            except (ValueError, OSError) as error:
                return ValueError(str(error))

        images = iter(images)
        chunks = iter(lambda: list(itertools.islice(images, batch_size)), [])
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            pending = [pool.submit(prepared, image) for image in next(chunks, [])]
            while pending:
                upcoming = [pool.submit(prepared, image) for image in next(chunks, [])]  # decoded while the model runs
                chunk = [future.result() for future in pending]
                pending = upcoming
                readable = [item for item in chunk if not isinstance(item, ValueError)]
                if readable:
                    pixels = np.stack([resize_square(painting, self.input_size) for painting, _, _ in readable])
                    probs, features = self._outputs_of(pixels)
                    rows = iter(range(len(readable)))
                for item in chunk:
                    if isinstance(item, ValueError):
                        yield item
                    else:
                        row = next(rows)
                        yield self._identification(pixels[row], probs[row],
                                                   None if features is None else features[row], top_k, *item)

    def probabilities(self, image) -> np.ndarray:
        """Probability of every artist (bundle order) for one image."""
        return self.identify(image).probabilities

    def predict(self, image, top_k: int = 5) -> list[tuple[str, float]]:
        """``[(artist name, probability), ...]`` for the ``top_k`` most likely artists, best first."""
        return self.identify(image, top_k).ranked

    def _class_scores(self, features):
        """The head's class scores before the softmax (Grad-CAM explains these: a probability
        saturated at 1 has no gradient)."""
        import keras

        from .models import HEAD, HEAD_PROBABILITIES

        x = features
        for layer in self.model.get_layer(HEAD).layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            if layer.name == HEAD_PROBABILITIES:
                return keras.ops.matmul(x, layer.kernel) + layer.bias
            x = layer(x, training=False)
        raise ValueError("the model's head has no head_probabilities layer")

    def gradcam(self, image, class_index: int | None = None, crop: bool | None = None) -> np.ndarray:
        """Where the model looked: a class activation map in [0, 1] (input_size x input_size) for
        ``class_index``'s score before the softmax (default: the top class), over the painting found
        in ``image`` (``crop`` as in ``painting_of``).

        LayerCAM, the element-wise form of Grad-CAM: sum over channels of positive gradient times
        activation. For models with style statistics the map is the second-to-last stage's output
        (14 x 14 per 224 px view), through which the pooled features and most statistics flow;
        otherwise the last feature map. With multi-scale views, each view's map is put back where
        its tile came from and the scales are averaged, so fine tiles sharpen the global map.
        """
        import keras
        import tensorflow as tf

        from .models import FEATURE_MAP_POOL, FEATURES, STYLE_STATS

        if self._gradcam_model is None:
            try:
                feature_map = self.model.get_layer(STYLE_STATS).input[-2]
            except ValueError:
                feature_map = self.model.get_layer(FEATURE_MAP_POOL).input
            features = self.model.get_layer(FEATURES).output
            self._gradcam_model = keras.Model(self.model.inputs, [feature_map, features])
        array = tf.constant(self.prepare(image, crop).astype(np.float32)[None])
        with tf.GradientTape() as tape:
            maps, features = self._gradcam_model(array, training=False)
            scores = self._class_scores(features)
            index = int(tf.argmax(scores[0])) if class_index is None else int(class_index)
            score = scores[0, index]
        grads = tape.gradient(score, maps).numpy()
        cams = np.maximum((np.maximum(grads, 0) * maps.numpy()).sum(axis=-1), 0)  # (n_views, h, w)
        return self._place_views(cams)

    def _place_views(self, cams: np.ndarray) -> np.ndarray:
        """Per-view maps (n_views, h, w) -> one map over the input, each tile where it came from,
        scales averaged, scaled to [0, 1]."""
        from keras import ops

        from .models import mosaic_of, scale_slices

        size, border = self.input_size, self.bundle.config.border
        inner = size - 2 * border  # the views cover the input minus its border
        total = np.zeros((size, size), np.float32)
        for k, views in scale_slices(self.bundle.config.scales):
            mosaic = ops.convert_to_numpy(mosaic_of(cams[None, views, :, :, None], k))[0, :, :, 0]
            total[border:border + inner, border:border + inner] += np.asarray(
                Image.fromarray(mosaic.astype(np.float32)).resize((inner, inner), Image.Resampling.BILINEAR))
        peak = total.max()
        return total / peak if peak > 0 else total
