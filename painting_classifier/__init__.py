"""Who painted this? An artist classifier for the "Best Artworks of All Time" data set."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the CLI

from .bundle import Bundle, BundleError, load_bundle  # noqa: E402
from .config import Config, recipe  # noqa: E402
from .data import DataError, scan_dataset  # noqa: E402
from .predict import Predictor  # noqa: E402

__all__ = ["Bundle", "BundleError", "Config", "DataError", "Predictor", "load_bundle", "recipe", "scan_dataset"]
__version__ = "0.1.0"
