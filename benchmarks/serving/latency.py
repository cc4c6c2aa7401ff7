"""Single-image latency: through ``Predictor`` and through the app's HTTP API (gradio_client).

    python -m benchmarks.serving.latency [--model assets/model] [--images DIR] [--n 40]

Paintings are read from DIR (default: the real sample, else the bundled examples) and cycled;
each call is timed on its own after 3 warm-up calls. Predictor times (with the app's runtime, the bundle's
LiteRT model, and with the Keras model, measured last since it loads TensorFlow) include decoding, finding the
painting, the scope score and the map of where the model looked; API times include upload, queueing and the
JSON round trip (not the overlay image, which is the separate /explain endpoint). Writes
benchmarks/results/latency.json.
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import time
from pathlib import Path

from benchmarks.common.paths import DATA, RESULTS, ROOT, SHIPPED_MODEL
from benchmarks.common.provenance import provenance


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summarise(name: str, seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"path": name, "calls": len(ms), "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(percentile(ms, 95), 1), "mean_ms": round(statistics.fmean(ms), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--images", type=Path, default=None)
    parser.add_argument("--n", type=int, default=40, help="timed calls per path")
    args = parser.parse_args()
    sample = DATA / "best-artworks-sample" / "images"
    folder = args.images or (sample if sample.is_dir() else ROOT / "assets" / "examples")
    images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[:50]

    from gradio_client import Client, handle_file

    from painting_classifier import Predictor
    from painting_classifier.app.blocks import build_demo, launch
    from painting_classifier.cli import load_predictor

    def time_predictor(predictor) -> list[float]:
        for image in images[:3]:
            predictor.predict(image)
        seconds = []
        for i in range(args.n):
            start = time.perf_counter()
            predictor.predict(images[i % len(images)], top_k=5)
            seconds.append(time.perf_counter() - start)
        return seconds

    predictor = Predictor.from_bundle(args.model)  # what the app uses: the bundle's LiteRT model
    direct = time_predictor(predictor)  # before TensorFlow is loaded: its idle threads slow other native calls
    style_alone = time_predictor(Predictor(predictor.bundle, gallery=None))  # no recognition: the model's answer only

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = build_demo(predictor)
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    for image in images[:3]:
        client.predict(handle_file(str(image)), 5, api_name="/predict")
    api = []
    for i in range(args.n):
        start = time.perf_counter()
        client.predict(handle_file(str(images[i % len(images)])), 5, api_name="/predict")
        api.append(time.perf_counter() - start)
    app.demo.close()
    keras_times = time_predictor(load_predictor(args.model, runtime="keras"))  # last: it loads TensorFlow

    manifest = predictor.bundle.manifest
    result = {**provenance(predictor.bundle.checksum, runs=args.n), "model": str(args.model),
              "input_size": manifest["input_size"], "config": manifest["config"], "images": str(folder),
              "runtime": predictor.runtime,
              "rows": [summarise(f"Predictor.predict, {predictor.runtime} runtime (file -> top-5)", direct),
                       summarise("Predictor.predict, keras runtime (file -> top-5)", keras_times),
                       summarise("HTTP API /predict (gradio_client)", api),
                       summarise(f"Predictor.predict without the gallery, {predictor.runtime} runtime", style_alone)]}
    out = RESULTS / "latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print("| path | p50 (ms) | p95 (ms) |\n|---|---|---|")
    for row in result["rows"]:
        print(f"| {row['path']} | {row['p50_ms']} | {row['p95_ms']} |")


if __name__ == "__main__":
    main()
