"""The bundle's LiteRT model (float16 weights) against the Keras model it was exported from, on the test split:
the same answers? And its class activation map against the Grad-CAM (LayerCAM) the app used before.

    python -m benchmarks.serving.serving_model [--model assets/model] [--data-root DIR]

For every test painting, as the app sees it (crop finder on): top-1 and top-5 of each runtime, how often their
top-1 agree, the largest probability difference, scope decisions that differ; the Pearson correlation of the
two maps over the model's input (Grad-CAM computed as the app did until the LiteRT model carried the map:
gradient of the top class's score before the softmax times the activation of the second-to-last backbone
stage, positive part, tiles put back); and the time each map costs. Needs TensorFlow
(requirements-train.txt). Writes benchmarks/results/serving_model.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance


class GradCam:
    """Grad-CAM (LayerCAM) of the Keras model, as ``predict.Predictor.gradcam`` computed it before."""

    def __init__(self, bundle):
        import keras

        from painting_classifier.training.keras_bundle import keras_model_of
        from painting_classifier.training.models import (
            FEATURE_MAP_POOL,
            FEATURES,
            HEAD,
            HEAD_PROBABILITIES,
            STYLE_STATS,
        )

        model = keras_model_of(bundle)
        try:
            feature_map = model.get_layer(STYLE_STATS).input[-2]
        except ValueError:
            feature_map = model.get_layer(FEATURE_MAP_POOL).input
        self.model = keras.Model(model.inputs, [feature_map, model.get_layer(FEATURES).output])
        self.head = [layer for layer in model.get_layer(HEAD).layers if not isinstance(layer, keras.layers.InputLayer)]
        self.softmax = HEAD_PROBABILITIES
        self.config, self.size = bundle.config, bundle.input_size

    def _scores(self, features):
        import keras

        x = features
        for layer in self.head:
            if layer.name == self.softmax:
                return keras.ops.matmul(x, layer.kernel) + layer.bias
            x = layer(x, training=False)
        raise ValueError("no softmax layer")

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        from painting_classifier.vision.views import place_views

        with tf.GradientTape() as tape:
            maps, features = self.model(tf.constant(pixels.astype(np.float32)[None]), training=False)
            scores = self._scores(features)
            score = scores[0, int(tf.argmax(scores[0]))]
        grads = tape.gradient(score, maps).numpy()
        cams = np.maximum((np.maximum(grads, 0) * maps.numpy()).sum(axis=-1), 0)
        return place_views(cams, self.config.scales, self.size, self.config.border)


def agreement(keras_found: list, litert_found: list, labels: list[str]) -> dict:
    """How the two runtimes' answers compare on the same paintings."""
    def top1(found):
        return float(np.mean([f.ranked[0][0] == label for f, label in zip(found, labels)]))

    def top5(found):
        return float(np.mean([label in [name for name, _ in f.ranked[:5]] for f, label in zip(found, labels)]))

    return {"paintings": len(labels), "keras_float32": {"top1": top1(keras_found), "top5": top5(keras_found)},
            "litert_float16": {"top1": top1(litert_found), "top5": top5(litert_found)},
            "top1_agreement": float(np.mean([a.ranked[0][0] == b.ranked[0][0]
                                             for a, b in zip(keras_found, litert_found)])),
            "max_probability_difference": float(max(np.abs(a.probabilities - b.probabilities).max()
                                                    for a, b in zip(keras_found, litert_found))),
            "scope_decisions_differing": int(sum(a.in_scope != b.in_scope for a, b in zip(keras_found, litert_found))),
            "max_scope_score_difference": float(max(abs(a.scope_score - b.scope_score)
                                                    for a, b in zip(keras_found, litert_found)))}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=RESULTS / "serving_model.json")
    args = parser.parse_args(argv)

    from painting_classifier.logs import import_tensorflow, quiet_tensorflow
    from painting_classifier.vision.images import resize_square

    quiet_tensorflow()
    import_tensorflow()
    from painting_classifier import Predictor, load_bundle
    from painting_classifier.training.keras_serving import model_for_serving

    bundle = load_bundle(args.model)
    test = bundle.split[bundle.split["split"] == "test"]
    display = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
    labels = [display[a] for a in test["artist"]]
    litert, keras_runtime = Predictor(bundle), Predictor(bundle, model=model_for_serving(bundle, "keras"))
    gradcam = GradCam(bundle)
    litert_found, keras_found, correlations, cam_ms, gradcam_ms = [], [], [], [], []
    for file in bundle.files(test, args.data_root):
        painting = litert.locate(file)
        litert_found.append(litert.identify_located(painting))
        keras_found.append(keras_runtime.identify_located(painting))
        start = time.perf_counter()
        cam = litert.explanation(litert_found[-1])
        cam_ms.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        reference = gradcam(resize_square(painting.painting, bundle.input_size))
        gradcam_ms.append(1000 * (time.perf_counter() - start))
        if cam.std() > 0 and reference.std() > 0:
            correlations.append(float(np.corrcoef(cam.ravel(), reference.ravel())[0, 1]))
    report = {**provenance(bundle.checksum, runs=1), "bundle": str(args.model),
              "litert_file_mb": round(bundle.litert_path.stat().st_size / 1e6, 2),
              **agreement(keras_found, litert_found, labels),
              "map_vs_gradcam": {"paintings": len(correlations), "pearson_median": statistics.median(correlations),
                                 "pearson_mean": statistics.fmean(correlations),
                                 "pearson_p10": float(np.quantile(correlations, 0.1)),
                                 "share_above_0_5": float(np.mean(np.array(correlations) > 0.5)),
                                 "class_map_ms_p50": round(statistics.median(cam_ms), 2),
                                 "gradcam_ms_p50": round(statistics.median(gradcam_ms), 1)}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
