"""The app as a Hugging Face Space runs it: a fresh virtual environment with requirements.txt alone (no
TensorFlow), ``GRADIO_SERVER_NAME=0.0.0.0`` and port 7860, an empty cache."""
import os
import socket
import subprocess
import sys

import pytest
from gradio_client import Client, handle_file

from tests.e2e.servers import wait_until_serving
from tests.helpers import ROOT, packages_in

pytestmark = pytest.mark.slow


def space_port() -> int:
    """7860 as on a Space, unless something on this machine already listens there."""
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", 7860))
            return 7860
        except OSError:
            s.bind(("0.0.0.0", 0))
            return s.getsockname()[1]


def test_app_serves_from_requirements_txt_alone_without_tensorflow(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
                              ROOT / "requirements.txt"], capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    assert subprocess.run([python, "-c", "import tensorflow"], capture_output=True).returncode != 0
    port = space_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(GRADIO_SERVER_NAME="0.0.0.0", GRADIO_SERVER_PORT=str(port), HOME=str(tmp_path / "home"),
               PAINTING_CLASSIFIER_CACHE=str(tmp_path / "cache"), GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    log = tmp_path / "app.log"
    with open(log, "w") as output:
        server = subprocess.Popen([python, "-X", "importtime", "app.py"], cwd=ROOT, env=env, stdout=output,
                                  stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_serving(url, server, log, timeout=180)
            painting = ROOT / "assets" / "examples" / "Vincent_van_Gogh_203.jpg"
            label, card, *_ = Client(url, verbose=False).predict(handle_file(str(painting)), 3, True,
                                                                 api_name="/predict")
        finally:
            server.terminate()
            server.wait(timeout=60)
    assert label["label"] == "Vincent van Gogh" and card.startswith("### Vincent van Gogh")
    imported = packages_in(log.read_text())
    assert "gradio" in imported and "ai_edge_litert" in imported
    assert "tensorflow" not in imported and "keras" not in imported
