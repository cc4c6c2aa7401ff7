"""Scoring a model on paintings: probabilities, top-k, balanced accuracy, macro-F1, per artist."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from tqdm.auto import tqdm

from .data import tf_image_dataset

log = logging.getLogger(__name__)


def predict_probabilities(model, paths: list[str], input_size: int, batch_size: int = 4,
                          tta: bool = False, progress: bool = True) -> np.ndarray:
    """Class probabilities for image files, streamed through tf.data (optionally averaged with mirror images)."""
    import tensorflow as tf

    from .models import compiled_forward

    n_classes = model.output_shape[-1]
    batches = tf_image_dataset(paths, None, input_size, n_classes, batch_size)
    run = compiled_forward(model)

    def forward(images):
        probs = run(images)
        return (probs + run(tf.image.flip_left_right(images))) / 2 if tta else probs

    out = []
    with tqdm(total=len(paths), desc="Predicting", unit="img", disable=not progress) as bar:
        for images, _ in batches:
            out.append(forward(images).numpy())
            bar.update(len(images))
    return np.concatenate(out) if out else np.zeros((0, n_classes), np.float32)


def top_k_accuracy(y_true: np.ndarray, probs: np.ndarray, k: int) -> float:
    top = np.argsort(-probs, axis=1)[:, :k]
    return float(np.mean([t in row for t, row in zip(y_true, top)])) if len(y_true) else float("nan")


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same ranking, more (T < 1) or less (T > 1) confident."""
    logits = np.log(np.maximum(probs, 1e-12)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(y_true, probs: np.ndarray) -> float:
    """The softmax temperature that minimises the negative log-likelihood of ``y_true`` (temperature scaling)."""
    y_true = np.asarray(y_true, dtype=int)
    grid = np.geomspace(0.1, 10, 241)
    nll = [-np.mean(np.log(np.maximum(apply_temperature(probs, t)[np.arange(len(y_true)), y_true], 1e-12)))
           for t in grid]
    return float(grid[int(np.argmin(nll))])


def compute_metrics(y_true, probs: np.ndarray, classes: list[str]) -> dict:
    """top1, top5, balanced_accuracy, macro_f1 (both over the artists present), mean_confidence (mean top-1
    probability: close to top1 when the probabilities are calibrated), per_artist, confusion matrix."""
    y_true = np.asarray(y_true, dtype=int)
    y_pred = probs.argmax(axis=1)
    present = np.unique(y_true)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(len(classes)), zero_division=0)
    per_artist = {
        classes[i]: {"n": int(support[i]), "precision": float(precision[i]),
                     "recall": float(recall[i]), "f1": float(f1[i])}
        for i in range(len(classes)) if support[i] or (y_pred == i).any()
    }
    return {
        "n_images": int(len(y_true)),
        "top1": float(np.mean(y_pred == y_true)),
        "top5": top_k_accuracy(y_true, probs, 5),
        "balanced_accuracy": float(np.mean(recall[present])),
        "macro_f1": float(np.mean(f1[present])),
        "mean_confidence": float(probs.max(axis=1).mean()) if len(y_true) else float("nan"),
        "n_artists": int(len(present)),
        "per_artist": per_artist,
        "classes": list(classes),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=np.arange(len(classes))).tolist(),
    }


def summary_line(metrics: dict) -> str:
    return (f"top-1 {metrics['top1']:.1%}  top-5 {metrics['top5']:.1%}  balanced {metrics['balanced_accuracy']:.1%}"
            f"  macro-F1 {metrics['macro_f1']:.3f}  ({metrics['n_images']} paintings, {metrics['n_artists']} artists)")


def evaluate_bundle(model_dir, data=None, split: str | None = None, data_root=None, tta: bool | None = None,
                    progress: bool = True) -> dict:
    """A bundle's metrics (``compute_metrics``) on a folder of paintings it never saw (``data``; artists matched by
    name, others left out) or on its own ``split`` (read from where its data folders are now: ``data_root``).
    ``DataError`` when the paintings are missing or none is by the model's artists."""
    from ..bundle import load_bundle
    from .data import DataError, scan_dataset
    from .keras_bundle import keras_model_of

    bundle = load_bundle(model_dir)
    label_of = {name: i for i, name in enumerate(bundle.classes)}
    if data:
        dataset = scan_dataset(data, require_csv=False, classes=bundle.classes, progress=progress)
        log.info(dataset.report())
        # the folder's own artists.csv may order artists differently: map by name to the model's outputs
        paintings = dataset.paintings[dataset.paintings["artist"].isin(label_of)]
        files = dataset.files(paintings)
    else:
        paintings = bundle.split[bundle.split["split"] == split]
        files = [str(f) for f in bundle.files(paintings, data_root)]
        missing = [f for f in files if not Path(f).is_file()]
        if missing:
            raise DataError(f"{len(missing)} paintings of the {split} split are missing, e.g. {missing[0]} "
                            "(pass --data-root)")
    if paintings.empty:
        raise DataError("no paintings of the model's artists to evaluate")
    labels = np.array([label_of[a] for a in paintings["artist"]])
    probabilities = predict_probabilities(keras_model_of(bundle), files, bundle.input_size,
                                          tta=bundle.config.tta if tta is None else tta, progress=progress)
    return compute_metrics(labels, probabilities, bundle.classes)
