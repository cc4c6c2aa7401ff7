"""What would a larger feature extractor cost to serve? Prediction time and size of candidate models.

    python -m benchmarks.serving.candidate_cost [--n 30]

Builds each candidate configuration (ImageNet backbone, untrained 50-artist head: the cost does not
depend on the head's weights) and times one image through the compiled Keras graph and through TFLite
as the app converts it, in float32 and with dynamic-range int8 weights (after 5 warm-up calls; the
model alone: file decoding adds 2-6 ms). Sizes are the saved ``model.keras`` (the bundle's bulk) and
the flatbuffers; "max_diff" is the largest probability difference between TFLite and Keras on a random
image. Models TFLite cannot convert get Keras figures only.
Writes benchmarks/results/candidate_cost.csv.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common.paths import RESULTS

# name -> Config overrides; all with style statistics, as the default recipe (with pooled features unless said)
CANDIDATES = {
    "lite0 whole + 2x, 224 px views (shipped)": {"backbone": "lite0", "scales": [1, 2]},
    "lite0 whole + 2x + 3x, 224 px views": {"backbone": "lite0", "scales": [1, 2, 3]},
    "lite2 whole + 2x, 260 px views": {"backbone": "lite2", "scales": [1, 2]},
    "lite2 whole + 2x, 224 px views": {"backbone": "lite2", "scales": [1, 2], "view_size": 224},
    "lite2 style statistics only, whole + 2x, 260 px views": {"backbone": "lite2", "scales": [1, 2],
                                                              "pooled_features": False},
    "lite2 style statistics only, whole + 2x, 224 px views": {"backbone": "lite2", "scales": [1, 2],
                                                              "view_size": 224, "pooled_features": False},
}


def median_ms(call, n: int) -> float:
    """Median wall time of ``call()`` in ms over ``n`` calls, after 5 warm-up calls."""
    for _ in range(5):
        call()
    ms = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        ms.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(ms), 1)


def main() -> None:
    import tensorflow as tf

    from painting_classifier import Config
    from painting_classifier.serving.predict import TFLiteForward
    from painting_classifier.training.models import build_model, compiled_forward

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="timed calls per model")
    args = parser.parse_args()
    rows = []
    for name, overrides in CANDIDATES.items():
        config = Config(style_stats=True, **overrides)
        model = build_model(config, 50)
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp) / "model.keras")
            keras_mb = (Path(tmp) / "model.keras").stat().st_size / 1e6
        image = np.random.default_rng(0).uniform(0, 255, (1, config.input_size, config.input_size, 3))
        image = image.astype(np.float32)
        keras_forward = compiled_forward(model)
        reference = keras_forward(image).numpy()
        row = {"model": name, "input_px": config.input_size, "keras_file_mb": round(keras_mb, 1),
               "keras_p50_ms": median_ms(lambda: keras_forward(image).numpy(), args.n)}
        for quantised in (False, True):
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            if quantised:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            kind = "int8_weights" if quantised else "float32"
            try:
                flatbuffer = converter.convert()
            except Exception as error:  # e.g. an antialiased 1.5x resize, which TFLite lacks
                print(f"{name}: TFLite ({kind}) cannot convert it: {str(error).splitlines()[0][:120]}")
                continue
            forward = TFLiteForward(flatbuffer)
            row[f"tflite_{kind}_p50_ms"] = median_ms(lambda: forward(image), args.n)
            row[f"tflite_{kind}_mb"] = round(len(flatbuffer) / 1e6, 1)
            row[f"tflite_{kind}_max_diff"] = float(f"{np.abs(forward(image) - reference).max():.1e}")
        rows.append(row)
        print(row, flush=True)
    out = RESULTS / "candidate_cost.csv"
    pd.DataFrame(rows).to_csv(out, index=False)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
