"""Memory per upload: four 98-megapixel PNG scans sent to the app at once.

    python -m benchmarks.serving.upload_memory [--model assets/model] [--runs 3]

A painting of the sample (or a generated one) is enlarged to 12000 x 8160 pixels (98 megapixels, as a
museum's scan; blocky, so that the PNG stays under the app's 25 MB upload cap) and saved as four PNG files
of different bytes. ``app.py`` runs in its own process; after one warm-up answer its resident memory is the
idle level, then four ``curl`` clients upload and call /predict at the same moment while a sampler reads the
app's memory every 10 ms. Reported per run: the peak above idle, and that all four were answered. Writes
benchmarks/results/upload_memory.json.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common.app_client import AppFailed, call, rss_mb, start_app, upload, wait_until_serving
from benchmarks.common.paths import DATA, RESULTS, ROOT, SHIPPED_MODEL
from benchmarks.common.provenance import provenance

SAMPLE = DATA / "best-artworks-sample" / "images"
SCAN_SIZE = (12000, 8160)


def scans(folder: Path, n: int) -> list[Path]:
    """``n`` 98-megapixel PNG files of the same enlarged painting, each with different bytes."""
    paintings = sorted(SAMPLE.rglob("*.jpg"))[:1] if SAMPLE.is_dir() else []
    small = (Image.open(paintings[0]).convert("RGB") if paintings else
             Image.fromarray(np.random.default_rng(0).integers(0, 256, (102, 150, 3), np.uint8)))
    small = small.resize((SCAN_SIZE[0] // 20, SCAN_SIZE[1] // 20))
    files = []
    for i in range(n):
        pixels = np.asarray(small).copy()
        pixels[0, 0] = (i, i, i)  # another file to the app
        scan = Image.fromarray(pixels).resize(SCAN_SIZE, Image.Resampling.NEAREST)
        files.append(folder / f"scan_{i}.png")
        scan.save(files[-1], compress_level=6)
    return files


def peak_during(pid: int, work) -> tuple[float, object]:
    """The highest resident memory of process ``pid`` while ``work()`` runs, and what it returned."""
    peak, done = [rss_mb(pid)], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            done.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = work()
    finally:
        done.set()
        sampler.join()
    return peak[0], result


def at_once(url: str, files: list[Path]) -> list[str | None]:
    """Every file uploaded and sent to /predict at the same moment; each one's error or None."""
    start_line, errors = threading.Barrier(len(files)), [None] * len(files)

    def send(i: int) -> None:
        start_line.wait()
        try:
            label, *_ = call(url, "predict", [upload(url, files[i]), 5, True])
            if not label:
                errors[i] = "no answer"
        except AppFailed as error:
            errors[i] = str(error)[:300]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(files))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS / "upload_memory.json")
    args = parser.parse_args()

    from painting_classifier import load_bundle

    folder = Path(tempfile.mkdtemp())
    files = scans(folder, 4 * args.runs)
    server, url = start_app("--model", str(args.model))
    runs = []
    try:
        wait_until_serving(url, server)
        call(url, "predict", [upload(url, sorted((ROOT / "assets" / "examples").glob("*.jpg"))[0]), 5, True])
        for r in range(args.runs):
            time.sleep(1)  # let the previous run's memory settle before reading the idle level
            idle = rss_mb(server.pid)
            began = time.perf_counter()
            peak, errors = peak_during(server.pid, lambda: at_once(url, files[4 * r:4 * r + 4]))
            runs.append({"idle_mb": round(idle, 1), "peak_mb": round(peak, 1), "above_idle_mb": round(peak - idle, 1),
                         "seconds": round(time.perf_counter() - began, 2), "answered": errors.count(None),
                         "errors": sorted({e for e in errors if e})})
            print(runs[-1], flush=True)
    finally:
        server.terminate()
        server.wait()
    result = {**provenance(load_bundle(args.model).checksum, runs=args.runs), "model": str(args.model),
              "scan": {"pixels": f"{SCAN_SIZE[0]}x{SCAN_SIZE[1]}", "png_bytes": files[0].stat().st_size},
              "uploads_at_once": 4, "max_above_idle_mb": max(r["above_idle_mb"] for r in runs), "bursts": runs}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
