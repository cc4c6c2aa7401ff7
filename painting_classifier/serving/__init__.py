"""Serving a bundle: the LiteRT model, the Predictor (upload -> painting -> artists, scope, map) and batch
prediction. No TensorFlow; never imports ``training``."""
