"""Training with Keras/TensorFlow: data scanning and splits, augmented copies, backbones and their weights, the
model, cached features, the run, evaluation, and writing a bundle (``keras_bundle``). Only the CLI imports it."""
