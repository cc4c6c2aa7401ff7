"""Serving never loads TensorFlow: the Predictor, the CLI's predict and the app run on LiteRT alone."""
import subprocess
import sys

import pytest

from tests.helpers import ROOT, packages_in

pytestmark = pytest.mark.slow


def imported_modules(args: list[str]) -> tuple[set[str], str]:
    """The top-level packages ``python -X importtime ARGS`` imported, and what it printed."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return packages_in(done.stderr), done.stdout


def test_predictor_identifies_and_explains_without_tensorflow(tiny_bundle, styles_dataset):
    painting = styles_dataset / "images" / "Claude_Monet" / "Claude_Monet_1.jpg"
    modules, printed = imported_modules(["-c", "from painting_classifier import Predictor\n"
                                         f"p = Predictor.from_bundle({str(tiny_bundle)!r})\n"
                                         f"found = p.identify({str(painting)!r})\n"
                                         "assert p.explanation(found).max() == 1.0\nprint(found.ranked[0][0])"])
    assert "ai_edge_litert" in modules and printed.strip()
    assert not {"tensorflow", "keras", "sklearn"} & modules


def test_cli_predict_runs_without_tensorflow(tiny_bundle, styles_dataset):
    painting = styles_dataset / "images" / "Piet_Mondrian" / "Piet_Mondrian_1.jpg"
    modules, printed = imported_modules(["-m", "painting_classifier", "predict", "--model", str(tiny_bundle),
                                         str(painting)])
    assert "ai_edge_litert" in modules and not {"tensorflow", "keras"} & modules
    assert "\t" in printed  # "Artist<TAB>probability" lines
