"""What every training stage does: compile, fit with checkpoints that a killed run resumes from, and its log.

A stage keeps its state in ``OUT/training/<stage>/``: the CSVLogger history, BackupAndRestore's checkpoints, the best
(or last) weights, and ``done`` once finished, so a resumed run reloads a finished stage instead of fitting it again.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from . import evaluate, models
from .features import MIRRORED

log = logging.getLogger(__name__)


def compile_stage(model, learning_rate: float, run) -> None:
    """Adam and the cross-entropy of the recipe (label smoothing), with accuracy and top-5, under the run's strategy."""
    import keras

    with run.strategy.scope():
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=run.config.label_smoothing),
            metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=5, name="top5")],
        )


def stage_history(state: Path, stage: str) -> pd.DataFrame:
    """One stage's CSVLogger log, an epoch re-run after a resume counted once (CSVLogger's 0-based epochs)."""
    csv = state / stage / "history.csv"
    return pd.read_csv(csv).drop_duplicates("epoch", keep="last") if csv.is_file() else pd.DataFrame()


def _stage_callbacks(stage_dir: Path, run, monitor: str, early_stopping: bool, patience: int) -> list:
    import keras

    csv = stage_dir / "history.csv"
    logged = pd.read_csv(csv) if csv.is_file() else pd.DataFrame()  # every epoch logged, re-runs included
    best_so_far = float(logged[monitor].min()) if monitor in logged and len(logged) else None
    stopping = [
        keras.callbacks.ModelCheckpoint(str(stage_dir / "best.weights.h5"), monitor=monitor,
                                        save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=best_so_far),
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True),
    ] if early_stopping else []
    return [keras.callbacks.BackupAndRestore(str(stage_dir / "backup")),
            keras.callbacks.CSVLogger(str(stage_dir / "history.csv"), append=True), *stopping, *run.callbacks]


def run_stage(run, name: str, model, fit_kwargs: dict, keep_last: bool = False, patience: int | None = None) -> None:
    """Fit one stage with checkpoints; a stage already finished (on resume) just reloads its weights.

    The stage ends with its best weights (lowest validation loss, else training loss), or with
    the last epoch's when ``keep_last`` (a fixed number of epochs chosen beforehand).
    """
    stage_dir = run.state / name
    stage_dir.mkdir(parents=True, exist_ok=True)
    final = stage_dir / ("last.weights.h5" if keep_last else "best.weights.h5")
    if not (stage_dir / "done").exists():
        monitor = "val_loss" if "validation_data" in fit_kwargs else "loss"
        callbacks = _stage_callbacks(stage_dir, run, monitor, not keep_last,
                                     run.config.patience if patience is None else patience)
        model.fit(**fit_kwargs, callbacks=callbacks, verbose=2)
        if keep_last:
            model.save_weights(final)
        (stage_dir / "done").touch()
    if final.is_file():
        model.load_weights(final)
    run.stages.append(name)


def validate_head(run, head, features) -> dict:
    """Validation metrics of the trained head; fits its softmax temperature first with ``calibrate``."""
    val = run.part("val")
    labels = val["label"].to_numpy()
    probs = np.asarray(head.predict(features.of(val), verbose=0))
    if run.config.tta:
        probs = (probs + np.asarray(head.predict(features.of(val, MIRRORED), verbose=0))) / 2
    temperature = None
    if run.config.calibrate:
        temperature = evaluate.fit_temperature(labels, probs)
        probs = evaluate.apply_temperature(probs, temperature)
        models.set_temperature(head, temperature)
        log.info(f"Calibration: softmax temperature {temperature:.3f}, fitted on validation")
    validation = evaluate.compute_metrics(labels, probs, run.dataset.classes)
    validation["temperature"] = temperature
    run.val_probabilities = probs
    return validation
