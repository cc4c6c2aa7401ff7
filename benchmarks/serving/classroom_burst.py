"""A classroom burst: thirty students send a 12-megapixel phone photo to the app at the same moment.

    python -m benchmarks.serving.classroom_burst [--model assets/model] [--students 30] [--runs 3]

One phone photo (4000 x 3000 JPEG, about 2-3 MB: a painting of the sample framed on a wall, or a
generated one without the sample) is sent by every student at once, each as a file of their own (the app
answers a file it has seen before from memory), through the HTTP API of
``app.py``, started in its own process. Each student is a ``curl`` client doing what the page does
(upload, /predict, read the event stream, fetch the preview image, then /explain and its image), all
started together; curl keeps the clients' own CPU use small, since they share the machine with the app.
Each run is a burst without /explain and one with it. Reported per run: the burst's wall time per photo,
against ``Predictor.identify``'s own time per photo on the same file (the ratio is the app's overhead),
every student's wait (p50 / max), how many were answered and the errors of those that were not; and the
time per photo with /explain against without. Writes benchmarks/results/classroom_burst.json.
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common.app_client import (
    AppFailed,
    all_at_once,
    call,
    cpu_seconds,
    fetch,
    start_app,
    upload,
    wait_until_serving,
)
from benchmarks.common.paths import DATA, RESULTS, ROOT
from benchmarks.common.provenance import provenance

SAMPLE = DATA / "best-artworks-sample" / "images"


def phone_photo(path: Path) -> Path:
    """A 12-megapixel JPEG of a framed painting on a wall, with sensor noise (as big as a phone's)."""
    from benchmarks.common.uploads import make_upload

    paintings = sorted(SAMPLE.rglob("*.jpg"))[:1] if SAMPLE.is_dir() else []
    if paintings:
        wall = Image.open(io.BytesIO(make_upload(paintings[0], "wall")[0]))
    else:
        rng = np.random.default_rng(0)
        wall = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).resize((1600, 1200))
    photo = np.asarray(wall.resize((4000, 3000), Image.Resampling.BICUBIC), np.float32)
    photo += np.random.default_rng(1).normal(0, 4, photo.shape)
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=92)
    return path


def ask(url: str, photo: Path, explain: bool) -> None:
    """One student, as the page does it: upload, /predict, fetch the preview; then /explain and its image.
    Raises ``AppFailed`` with what went wrong."""
    painting = upload(url, photo)
    label, _card, _note, seen, _scope = call(url, "predict", [painting, 5, True])
    if not label or not fetch(seen):
        raise AppFailed("/predict gave no artists or no preview")
    if explain:
        (overlay,) = call(url, "explain", [painting, True])
        if not fetch(overlay):
            raise AppFailed("/explain gave no image")


def photos_of(photo: Path, students: int, folder: Path) -> list[Path]:
    """One copy of ``photo`` per student, each with different bytes after the image's end (the same picture to
    decode, but a new file to the app: it recognises a file it has answered before)."""
    copies = []
    for i in range(students):
        copies.append(folder / f"student_{i}.jpg")
        copies[-1].write_bytes(photo.read_bytes() + f"student {i} {time.time_ns()}".encode())
    return copies


def burst(url: str, photo: Path, students: int, explain: bool) -> dict:
    """``students`` students asking at the same moment, each with their own copy of the photo: wall seconds, each
    one's wait, answers, errors."""
    errors = [None] * students
    folder = Path(tempfile.mkdtemp(dir=photo.parent))
    photos = photos_of(photo, students, folder)

    def student(i: int) -> None:
        try:
            ask(url, photos[i], explain)
        except (AppFailed, ValueError, KeyError) as error:
            errors[i] = str(error)[:300]

    threads, began, seconds = all_at_once(student, students)
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    shutil.rmtree(folder)
    return {"wall_s": round(wall, 2), "app_ms_per_photo": round(1000 * wall / students, 1),
            "answered": errors.count(None), "errors": sorted({e for e in errors if e}),
            "student_wait_s": {"p50": round(statistics.median(seconds), 2), "max": round(max(seconds), 2)}}


def predictor_ms_per_photo(model: Path, photo: Path, n: int) -> tuple[float, str, str]:
    """``Predictor.identify``'s own time per photo (after warm-up), its runtime and the model's checksum."""
    from painting_classifier import Predictor

    predictor = Predictor.from_bundle(model)
    for _ in range(3):
        predictor.identify(photo)
    began = time.perf_counter()
    for _ in range(n):
        predictor.identify(photo)
    return 1000 * (time.perf_counter() - began) / n, predictor.runtime, predictor.bundle.checksum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "assets" / "model")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS / "classroom_burst.json")
    args = parser.parse_args()

    photo = phone_photo(Path(tempfile.mkdtemp()) / "phone.jpg")
    predictor_ms, runtime, checksum = predictor_ms_per_photo(args.model, photo, args.students)
    server, url = start_app("--model", str(args.model))
    runs = []
    try:
        wait_until_serving(url, server)
        burst(url, photo, 2, explain=True)  # warm-up: first upload, first queue round
        for _ in range(args.runs):
            cpu = cpu_seconds(server.pid)
            without = burst(url, photo, args.students, explain=False)
            with_explain = burst(url, photo, args.students, explain=True)
            cpu = cpu_seconds(server.pid) - cpu
            runs.append({"predict": {**without, "ratio_to_predictor": round(without["app_ms_per_photo"] / predictor_ms, 2)},
                         "predict_and_explain": with_explain,
                         "explain_ratio": round(with_explain["app_ms_per_photo"] / without["app_ms_per_photo"], 2),
                         "app_cpu_ms_per_photo": round(1000 * cpu / (2 * args.students), 1)})
    finally:
        server.terminate()
        server.wait()
    result = {**provenance(checksum, runs=args.runs), "model": str(args.model), "students": args.students,
              "runtime": runtime, "clients": "curl, one per student (upload, /predict, preview; then /explain, image)",
              "photo": {"pixels": "4000x3000", "bytes": photo.stat().st_size},
              "predictor_ms_per_photo": round(predictor_ms, 1), "bursts": runs}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
