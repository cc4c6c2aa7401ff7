"""A classroom burst: thirty students send a 12-megapixel phone photo to the app at the same moment.

    python -m benchmarks.serving.classroom_burst [--model assets/model] [--students 30] [--runs 3]

Every student sends their own phone photo (4000 x 3000 JPEG, about 2-3 MB: a photo of another painting of the
sample, or of a generated one without the sample) at once, each as a new file (the app answers a file it has seen before
from memory), through the HTTP API of
``app.py``, started in its own process. Each student is a ``curl`` client doing what the page does
(upload, /predict, read the event stream, fetch the preview image, then /explain and its image), all
started together; curl keeps the clients' own CPU use small, since they share the machine with the app.
Each run is a burst without /explain and one with it. Reported per run: the burst's wall time per photo,
against ``Predictor.identify``'s own time per photo on the same files (the ratio is the app's overhead),
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
from benchmarks.common.paths import DATA, RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance

SAMPLE = DATA / "best-artworks-sample" / "images"
KIND = "phone"  # benchmarks/common/uploads.py: a phone photo of the painting itself (slant, light, blur)


def phone_photos(folder: Path, students: int) -> list[Path]:
    """One 12-megapixel JPEG per student, each a phone photo of another painting (``KIND``), with sensor noise: the
    sample's first paintings, or generated ones without the sample."""
    from benchmarks.common.uploads import make_upload

    paintings = sorted(SAMPLE.rglob("*.jpg"))[:students] if SAMPLE.is_dir() else []
    photos = []
    for i in range(students):
        if i < len(paintings):
            wall = Image.open(io.BytesIO(make_upload(paintings[i], KIND)[0]))
        else:
            rng = np.random.default_rng(i)
            wall = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).resize((1600, 1200))
        photo = np.asarray(wall.resize((4000, 3000), Image.Resampling.BICUBIC), np.float32)
        photo += np.random.default_rng(i).normal(0, 4, photo.shape)
        photos.append(folder / f"student_{i}.jpg")
        Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(photos[-1], "JPEG", quality=92)
    return photos


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


def fresh_copies(photos: list[Path], folder: Path) -> list[Path]:
    """A copy of each photo with different bytes after the image's end (the same picture to decode, but a new file
    to the app, which answers a file it has answered before from memory)."""
    copies = []
    for i, photo in enumerate(photos):
        copies.append(folder / photo.name)
        copies[-1].write_bytes(photo.read_bytes() + f"burst {time.time_ns()}".encode())
    return copies


def burst(url: str, students_photos: list[Path], explain: bool) -> dict:
    """Every student asking at the same moment, each with their own photo (sent as a new file): wall seconds, each
    one's wait, answers, errors."""
    students = len(students_photos)
    errors = [None] * students
    folder = Path(tempfile.mkdtemp(dir=students_photos[0].parent))
    photos = fresh_copies(students_photos, folder)

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


def predictor_ms_per_photo(model: Path, photos: list[Path]) -> tuple[float, str, str]:
    """``Predictor.identify``'s own time per photo on the students' photos, one after another (after warm-up), its
    runtime and the model's checksum."""
    from painting_classifier import Predictor

    predictor = Predictor.from_bundle(model)
    for photo in photos[:3]:
        predictor.identify(photo)
    began = time.perf_counter()
    for photo in photos:
        predictor.identify(photo)
    return 1000 * (time.perf_counter() - began) / len(photos), predictor.runtime, predictor.bundle.checksum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS / "classroom_burst.json")
    args = parser.parse_args()

    photos = phone_photos(Path(tempfile.mkdtemp()), args.students)
    predictor_ms, runtime, checksum = predictor_ms_per_photo(args.model, photos)
    server, url = start_app("--model", str(args.model))
    runs = []
    try:
        wait_until_serving(url, server)
        burst(url, photos[:2], explain=True)  # warm-up: first upload, first queue round
        for _ in range(args.runs):
            cpu = cpu_seconds(server.pid)
            without = burst(url, photos, explain=False)
            with_explain = burst(url, photos, explain=True)
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
              "photos": {"pixels": "4000x3000", "count": len(photos),
                         "mean_bytes": round(float(np.mean([p.stat().st_size for p in photos])))},
              "predictor_ms_per_photo": round(predictor_ms, 1), "bursts": runs}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
