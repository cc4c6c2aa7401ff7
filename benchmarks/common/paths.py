"""Where the benchmarks find the project, the data and their results folder."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
# The shared data folders (``../shared/data`` beside a checkout, or $PAINTING_DATA_ROOT).
DATA = Path(os.environ.get("PAINTING_DATA_ROOT") or ROOT.parent / "shared" / "data")
SHIPPED_MODEL = ROOT / "assets" / "model"
