"""A classroom burst: thirty students send a 12-megapixel phone photo to the app at the same moment.

    python benchmarks/classroom_burst.py [--model assets/model] [--students 30]

One phone photo (4000 x 3000 JPEG, about 3 MB: a painting of the sample framed on a wall, or a
generated one without the sample) is sent by every student at once through the app's HTTP API
(``gradio_client``, one client per student, all started together). Reported: the burst's wall
time per photo against ``Predictor.predict``'s own time per photo on the same file (the ratio
is the app's overhead), every student's answer time (p50 / max), and that all were answered.
Writes benchmarks/results/classroom_burst.json.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SAMPLE = ROOT.parent / "shared" / "data" / "best-artworks-sample" / "images"


def phone_photo(path: Path) -> Path:
    """A 12-megapixel JPEG of a framed painting on a wall, with sensor noise (as big as a phone's)."""
    from real_world import make_upload

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def burst(url: str, photo: Path, students: int) -> tuple[float, list[float], int]:
    """(wall seconds, each student's seconds, answers) for ``students`` simultaneous /predict calls."""
    from gradio_client import Client, handle_file

    clients = [Client(url, verbose=False) for _ in range(students)]
    start_line = threading.Barrier(students + 1)
    seconds, answers = [0.0] * students, [0] * students

    def student(i: int) -> None:
        start_line.wait()
        began = time.perf_counter()
        result = clients[i].predict(handle_file(str(photo)), 5, api_name="/predict")
        seconds[i] = time.perf_counter() - began
        answers[i] = bool(result)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(students)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, seconds, sum(answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "assets" / "model")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "classroom_burst.json")
    args = parser.parse_args()

    from painting_classifier import Predictor
    from painting_classifier.serve import build_demo, launch

    workdir = Path(tempfile.mkdtemp())
    photo = phone_photo(workdir / "phone.jpg")
    predictor = Predictor.from_bundle(args.model)
    for _ in range(3):
        predictor.predict(photo)
    began = time.perf_counter()
    for _ in range(args.students):
        predictor.predict(photo)
    predictor_each = (time.perf_counter() - began) / args.students

    port = free_port()
    demo = build_demo(predictor)
    launch(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    burst(url, photo, 2)  # warm-up: first upload, first queue round
    wall, seconds, answered = burst(url, photo, args.students)
    demo.close()
    result = {
        "model": str(args.model), "cpus": os.cpu_count(), "students": args.students,
        "photo": {"pixels": "4000x3000", "bytes": photo.stat().st_size},
        "predictor_ms_per_photo": round(1000 * predictor_each, 1),
        "app_ms_per_photo": round(1000 * wall / args.students, 1),
        "ratio": round(wall / args.students / predictor_each, 2),
        "answered": answered,
        "student_wait_s": {"p50": round(statistics.median(seconds), 2), "max": round(max(seconds), 2)},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
