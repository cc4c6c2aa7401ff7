"""A classroom burst: thirty students send a 12-megapixel phone photo to the app at the same moment.

    python benchmarks/classroom_burst.py [--model assets/model] [--students 30]

One phone photo (4000 x 3000 JPEG, about 2-3 MB: a painting of the sample framed on a wall, or a
generated one without the sample) is sent by every student at once through the HTTP API of
``app.py``, started in its own process. Each student is a ``curl`` client doing what a browser does
(upload, /predict, read the event stream, fetch the preview image), all started together; curl
keeps the clients' own CPU use small, since they share the machine with the app (with one
``gradio_client`` per student, the clients used more CPU than the app itself). Reported: the burst's wall
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
import subprocess
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


def wait_for(port: int, server, timeout: float = 180) -> None:
    """Block until the app answers on ``port`` (or its process ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)  # polling a port that is not open yet
    raise RuntimeError("the app did not start")


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) a process has used so far (Linux; ``None``: nothing to measure)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def curl(*args: str) -> bytes:
    return subprocess.run(["curl", "-s", "--fail", *args], capture_output=True, check=True).stdout


def ask(url: str, photo: Path) -> bool:
    """One student, as a browser does it: upload the photo, call /predict, read the answer from the event
    stream, fetch the preview image it names. True when the answer and the image arrived."""
    path = json.loads(curl("-F", f"files=@{photo}", f"{url}/gradio_api/upload"))[0]
    body = json.dumps({"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, 5, True]})
    event = json.loads(curl("-H", "Content-Type: application/json", "-d", body, f"{url}/gradio_api/call/predict"))
    stream = curl("-N", f"{url}/gradio_api/call/predict/{event['event_id']}").decode()
    if "event: complete" not in stream:
        return False
    label, _, _, seen = json.loads(stream.split("event: complete", 1)[1].split("data:", 1)[1].strip().splitlines()[0])
    return bool(label) and len(curl("-o", "-", seen["url"])) > 0


def burst(url: str, photo: Path, students: int) -> tuple[float, list[float], int]:
    """(wall seconds, each student's seconds, answers) for ``students`` students asking at the same moment."""
    start_line = threading.Barrier(students + 1)
    seconds, answers = [0.0] * students, [False] * students

    def student(i: int) -> None:
        start_line.wait()
        began = time.perf_counter()
        try:
            answers[i] = ask(url, photo)
        except (subprocess.CalledProcessError, ValueError, KeyError, IndexError):
            answers[i] = False
        seconds[i] = time.perf_counter() - began

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

    workdir = Path(tempfile.mkdtemp())
    photo = phone_photo(workdir / "phone.jpg")
    predictor = Predictor.from_bundle(args.model)
    for _ in range(3):
        predictor.predict(photo)
    began = time.perf_counter()
    for _ in range(args.students):
        predictor.predict(photo)
    predictor_each = (time.perf_counter() - began) / args.students
    runtime = predictor.runtime

    del predictor
    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--model", str(args.model), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, server)
        url = f"http://127.0.0.1:{port}"
        burst(url, photo, 2)  # warm-up: first upload, first queue round
        server_cpu = cpu_seconds(server.pid)
        wall, seconds, answered = burst(url, photo, args.students)
        server_cpu = cpu_seconds(server.pid) - server_cpu
    finally:
        server.terminate()
        server.wait()
    result = {
        "model": str(args.model), "cpus": os.cpu_count(), "students": args.students, "runtime": runtime,
        "clients": "curl, one per student (upload, /predict, the preview image)",
        "photo": {"pixels": "4000x3000", "bytes": photo.stat().st_size},
        "predictor_ms_per_photo": round(1000 * predictor_each, 1),
        "app_ms_per_photo": round(1000 * wall / args.students, 1),
        "ratio": round(wall / args.students / predictor_each, 2),
        "answered": answered,
        "app_cpu_ms_per_photo": round(1000 * server_cpu / args.students, 1),
        "student_wait_s": {"p50": round(statistics.median(seconds), 2), "max": round(max(seconds), 2)},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
