"""Who painted this? An artist classifier for the "Best Artworks of All Time" data set.

The package by role: ``vision/`` (pictures: decoding, finding the painting, views, maps), ``serving/`` (the
LiteRT model and the Predictor), ``app/`` (the Gradio app, one module per tab), ``training/`` (Keras/TensorFlow:
data, copies, model, run, writing bundles); at the top the bundle reader, the scope score, the configuration, the
artists' names, logging and the CLI. Nothing in vision, serving or app imports training.

The names below are imported when first used, so that importing one module (``painting_classifier.logs``)
loads nothing else, and serving never loads TensorFlow.
"""
import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the CLI

_EXPORTS = {"Bundle": "bundle", "BundleError": "bundle", "load_bundle": "bundle", "Config": "config",
            "recipe": "config", "DataError": "training.data", "scan_dataset": "training.data",
            "Predictor": "serving.predict"}
__all__ = sorted(_EXPORTS)
__version__ = "0.3.0"


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'painting_classifier' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
