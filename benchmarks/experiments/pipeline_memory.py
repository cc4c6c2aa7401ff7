"""Input pipeline: tf.data streaming vs the original load-everything-as-float32 approach.

Each measurement runs in a fresh process (peak RSS = ru_maxrss of that process, TensorFlow
imported in both so its own footprint cancels out). Usage:

    python -m benchmarks.experiments.pipeline_memory --data ../shared/data/best-artworks-sample [--size 256]

Writes benchmarks/results/pipeline_memory.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common.paths import DATA, RESULTS
from benchmarks.common.provenance import provenance


def measure(mode: str, data: str, n: int, size: int) -> dict:
    """Run in this process: read ``n`` paintings once with ``mode``; report time and peak RSS."""
    import numpy as np
    import tensorflow as tf  # noqa: F401  (imported by both modes: training needs it anyway)

    from painting_classifier.training.data import scan_dataset, tf_image_dataset
    from painting_classifier.vision.images import load_array

    paintings = scan_dataset(data, progress=False).paintings.head(n)
    paths = [str(Path(data) / p) for p in paintings["path"]]
    labels = paintings["label"].to_numpy()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if mode == "original":  # every painting as float32 in one array, as the student project did
        images = np.array([load_array(p, size).astype(np.float32) / 255.0 for p in paths])
        checksum = float(images[:, 0, 0, 0].sum())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            ds = tf_image_dataset(paths, labels, size, 50, batch_size=32, shuffle=True,
                                  cache=os.path.join(tmp, "cache"))
            checksum = 0.0
            for epoch in range(2):  # the second epoch reads the uint8 cache
                if epoch == 1:
                    first_epoch = time.perf_counter() - start
                for images, _ in ds:
                    checksum += float(images[:, 0, 0, 0].numpy().sum())
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"mode": mode, "images": len(paths), "size": size, "seconds": round(seconds, 2),
              "images_per_s": round(len(paths) / seconds, 1), "peak_rss_mb": round(peak / 1024),
              "rss_growth_mb": round((peak - base_rss) / 1024), "checksum": checksum}
    if mode == "streaming":
        result["first_epoch_images_per_s"] = round(len(paths) / first_epoch, 1)
        result["cached_epoch_images_per_s"] = round(len(paths) / (seconds - first_epoch), 1)
        result["images_per_s"] = result["first_epoch_images_per_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA / "best-artworks-sample"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--counts", default="200,400,809", help="data set sizes to compare")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.data, int(args.child[1]), args.size)))
        return
    rows = []
    for n in [int(c) for c in args.counts.split(",")]:
        for mode in ("original", "streaming"):
            out = subprocess.run([sys.executable, __file__, "--data", args.data, "--size", str(args.size),
                                  "--child", mode, str(n)], capture_output=True, text=True, check=True,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], file=sys.stderr)
    results = RESULTS
    results.mkdir(parents=True, exist_ok=True)
    (results / "pipeline_memory.json").write_text(json.dumps({**provenance(None, runs=1), "rows": rows}, indent=1))
    print("| paintings | approach | images/s | peak RSS (MB) | RSS growth while loading (MB) |")
    print("|---|---|---|---|---|")
    for r in rows:
        speed = r["images_per_s"] if r["mode"] == "original" else (
            f"{r['first_epoch_images_per_s']} (cached epoch: {r['cached_epoch_images_per_s']})")
        print(f"| {r['images']} | {r['mode']} | {speed} | {r['peak_rss_mb']} | {r['rss_growth_mb']} |")


if __name__ == "__main__":
    main()
