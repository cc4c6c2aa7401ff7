"""What the end-to-end tests share: free ports, ``python app.py`` started and waited for, and Chromium."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium tests skip where Debian's chromium is not installed, but never in CI, which installs it
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                    reason="Debian's chromium is not installed (apt-get install chromium)")
SCREENSHOTS = ROOT / "tests" / "screenshots"


BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


@contextmanager
def chromium():
    """Headless Debian Chromium through Playwright, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"app.py exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)  # polling a port that is not open yet
    raise AssertionError(f"app.py did not answer on {url} within {timeout}s")


@contextmanager
def running_app(tiny_bundle, tiny_quiz, tmp_path: Path, *options: str, port: int | None = None):
    """``python app.py`` on the tiny bundle and quiz with ``options``, on ``port`` (default: a free one) and with a
    private data directory: its URL and the file its output goes to."""
    port = port or free_port()
    log = tmp_path / f"app-{port}.log"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data-home"), "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "app.py", "--model", str(tiny_bundle), "--port", str(port),
                                    "--quiz", str(tiny_quiz), *options], cwd=ROOT, stdout=output,
                                   stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, process, log)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def printed(log: Path, pattern: str, timeout: float = 30) -> re.Match:
    """The first match of ``pattern`` in what the app has printed to ``log``, waiting for it to be printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text())
        if found:
            return found
        time.sleep(0.1)  # polling a file the app writes to
    raise AssertionError(f"the app never printed {pattern!r}: {log.read_text()[-2000:]}")
