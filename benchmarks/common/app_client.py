"""Talking to ``app.py`` as a browser does, over plain HTTP with ``curl`` (light on the CPU the app shares):
start it in its own process, upload a file, call an endpoint and read its answer from the event stream."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common.paths import ROOT


class AppFailed(RuntimeError):
    """The app answered with an error, or not at all."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(*options: str, port: int | None = None, env: dict | None = None,
              python: str = sys.executable) -> tuple[subprocess.Popen, str]:
    """``python app.py OPTIONS --port PORT`` in its own process (output discarded); (process, base URL)."""
    port = port or free_port()
    server = subprocess.Popen([python, str(ROOT / "app.py"), *options, "--port", str(port)], cwd=ROOT,
                              env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, f"http://127.0.0.1:{port}"


def all_at_once(work, n: int) -> tuple[list[threading.Thread], float, list[float]]:
    """``work(i)`` for i in 0..n-1 on threads released together by one barrier (n students at the same moment):
    the running threads, when they were released (``time.perf_counter``) and each call's seconds (filled in as the
    calls end; join the threads first)."""
    start_line = threading.Barrier(n + 1)
    seconds = [0.0] * n

    def timed(i: int) -> None:
        start_line.wait()
        began = time.perf_counter()
        work(i)
        seconds[i] = time.perf_counter() - began

    threads = [threading.Thread(target=timed, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    start_line.wait()
    return threads, time.perf_counter(), seconds


def wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 180) -> None:
    """Block until the app's page answers (or its process ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        if subprocess.run(["curl", "-s", "--fail", "-o", "/dev/null", url + "/"]).returncode == 0:
            return
        time.sleep(0.05)  # polling a server that is still starting
    raise AppFailed(f"the app did not start (exit code {server.poll()})")


def curl(*args: str) -> bytes:
    done = subprocess.run(["curl", "-s", "--show-error", "--fail-with-body", *args], capture_output=True)
    if done.returncode:
        raise AppFailed(f"curl {' '.join(args[-1:])}: {done.stderr.decode().strip()} {done.stdout[:200]!r}")
    return done.stdout


def upload(url: str, file: Path) -> dict:
    """Upload ``file``; the FileData to pass to an endpoint."""
    path = json.loads(curl("-F", f"files=@{file}", f"{url}/gradio_api/upload"))[0]
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def call(url: str, api: str, data: list) -> list:
    """Call endpoint ``api`` (e.g. "predict") with ``data`` and return its outputs; ``AppFailed`` with the app's
    message when it answers with an error."""
    event = json.loads(curl("-H", "Content-Type: application/json", "-d", json.dumps({"data": data}),
                            f"{url}/gradio_api/call/{api}"))
    stream = curl("-N", f"{url}/gradio_api/call/{api}/{event['event_id']}").decode()
    if "event: complete" not in stream:
        raise AppFailed(f"/{api} answered: {stream[-300:]}")
    return json.loads(stream.split("event: complete", 1)[1].split("data:", 1)[1].strip().splitlines()[0])


def fetch(file_data: dict) -> bytes:
    """The bytes of an output file the app serves."""
    return curl("-o", "-", file_data["url"])


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AppFailed(f"no RSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loaded_libraries(pid: int) -> set[str]:
    """The shared libraries a process has mapped (to tell whether TensorFlow was ever loaded)."""
    return {Path(line.split()[-1]).name for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
            if line.split()[-1].endswith(".so") or ".so." in line.split()[-1]}
