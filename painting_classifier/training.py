"""Training: split, stage 1 (head on cached backbone features), stage 2 (fine-tuning), bundle.

A run keeps its state in ``OUT/training/`` (config, split, per-stage history,
BackupAndRestore checkpoints, best weights), so ``resume=True`` continues a
killed run from its last finished epoch.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import evaluate, models
from .bundle import save_bundle, serving_copy
from .config import Config, default_cache_dir
from .data import DataError, Dataset, class_weights, scan_dataset, split_paintings, tf_image_dataset

STATE_DIR = "training"
FEATURES_VERSION = "2"  # bump when feature extraction changes so stale caches are not reused


def make_strategy(name: str):
    """A tf.distribute strategy: ``default`` (one device), ``mirrored`` (all local GPUs, else all
    logical CPUs) or ``multi-worker`` (machines described by $TF_CONFIG)."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy(devices=[d.name for d in devices])
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}")


def _features_key(config: Config) -> str:
    weights = config.weights
    if weights not in ("imagenet", "none") and Path(weights).is_file():
        weights = hashlib.sha1(Path(weights).read_bytes()).hexdigest()
    spec = [FEATURES_VERSION, config.backbone, weights, config.view_side, config.scales, config.style_stats,
            config.pooled_features, config.border]
    return f"{config.backbone}-" + hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:16]


def cached_features(extractor, root: Path, paintings: pd.DataFrame, config: Config, cache_dir: Path,
                    flip: bool = False, progress: bool = True) -> np.ndarray:
    """Backbone features of each painting (or its mirror image), computed once and cached on
    disk under ``cache_dir/features/<backbone key>/<image sha1>[_flip].npy``."""
    import tensorflow as tf

    folder = cache_dir / "features" / _features_key(config)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "_flip" if flip else ""
    files = [folder / f"{sha}{suffix}.npy" for sha in paintings["sha1"]]
    missing = [i for i, f in enumerate(files) if not f.is_file()]
    if missing:
        paths = [str(root / paintings["path"].iloc[i]) for i in missing]
        batches = tf_image_dataset(paths, None, config.input_size, 1, batch_size=4)
        forward = models.compiled_forward(extractor)
        desc = "Computing features" + (" (mirrored)" if flip else "")
        with tqdm(total=len(missing), desc=desc, unit="img", disable=not progress) as bar:
            position = 0
            for images, _ in batches:
                if flip:
                    images = tf.image.flip_left_right(images)
                feats = forward(images).numpy()
                for row in feats:
                    target = files[missing[position]]
                    tmp = target.with_suffix(".tmp.npy")
                    np.save(tmp, row.astype(np.float32))
                    tmp.replace(target)
                    position += 1
                bar.update(len(feats))
    return np.stack([np.load(f) for f in files])


def _stage_callbacks(stage_dir: Path, config: Config, monitor: str, extra=(), early_stopping: bool = True) -> list:
    import keras

    history_csv = stage_dir / "history.csv"
    best_so_far = None
    if history_csv.is_file():
        logged = pd.read_csv(history_csv)
        if monitor in logged and len(logged):
            best_so_far = float(logged[monitor].min())
    stopping = [
        keras.callbacks.ModelCheckpoint(str(stage_dir / "best.weights.h5"), monitor=monitor,
                                        save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=best_so_far),
        keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience, restore_best_weights=True),
    ] if early_stopping else []
    return [keras.callbacks.BackupAndRestore(str(stage_dir / "backup")),
            keras.callbacks.CSVLogger(str(history_csv), append=True), *stopping, *extra]


def _compile(model, learning_rate: float, config: Config) -> None:
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=5, name="top5")],
    )


def _run_stage(name: str, state: Path, model, fit_kwargs: dict, config: Config, has_val: bool,
               callbacks=(), keep_last: bool = False) -> None:
    """Fit one stage with checkpoints; a stage already finished (on resume) just reloads its weights.

    The stage ends with its best weights (lowest validation loss, else training loss), or with
    the last epoch's when ``keep_last`` (a fixed number of epochs chosen beforehand).
    """
    stage_dir = state / name
    stage_dir.mkdir(parents=True, exist_ok=True)
    final = stage_dir / ("last.weights.h5" if keep_last else "best.weights.h5")
    if not (stage_dir / "done").exists():
        monitor = "val_loss" if has_val else "loss"
        stage_callbacks = _stage_callbacks(stage_dir, config, monitor, callbacks, early_stopping=not keep_last)
        model.fit(**fit_kwargs, callbacks=stage_callbacks, verbose=2)
        if keep_last:
            model.save_weights(final)
        (stage_dir / "done").touch()
    if final.is_file():
        model.load_weights(final)


def _read_history(state: Path, stages: list[str]) -> pd.DataFrame:
    frames = []
    for stage in stages:
        csv = state / stage / "history.csv"
        if csv.is_file():
            frame = pd.read_csv(csv).drop_duplicates("epoch", keep="last")
            frame.insert(0, "stage", stage)
            frames.append(frame)
    history = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(history):
        history.insert(1, "step", np.arange(1, len(history) + 1))
        history["epoch"] = history["epoch"] + 1
    return history


def _prepare_split(dataset: Dataset, config: Config, state: Path, resume: bool) -> pd.DataFrame:
    split_csv = state / "split.csv"
    table = dataset.paintings.copy()
    if resume and split_csv.is_file():
        previous = pd.read_csv(split_csv).set_index("path")["split"]
        table["split"] = table["path"].map(previous)
        new = table["split"].isna()
        if new.any():
            raise DataError(f"{int(new.sum())} paintings are new since the run started; "
                            "resume with the same data or start a new run")
    else:
        table["split"] = split_paintings(table, config.test_fraction, config.val_fraction, config.seed)
        table[["path", "artist", "label", "sha1", "split"]].to_csv(split_csv, index=False)
    return table


def _train_head(model, config: Config, dataset: Dataset, parts: dict, state: Path, strategy, cache: Path,
                weights, progress: bool, callbacks, stages: list) -> dict | None:
    """Stage 1: the head on cached backbone features. Returns validation metrics (before any refit)."""
    n_classes = len(dataset.classes)
    one_hot = np.eye(n_classes, dtype=np.float32)
    models.freeze_backbone(model)
    extractor = models.feature_extractor(model)

    def features(part, flip=False):
        return cached_features(extractor, dataset.root, part, config, cache, flip, progress)

    def inputs(part):
        x, y = features(part), one_hot[part["label"]]
        if config.augment:
            x, y = np.concatenate([x, features(part, flip=True)]), np.concatenate([y, y])
        return x, y

    x_train, y_train = inputs(parts["train"])
    has_val = len(parts["val"]) > 0
    fit = {"x": x_train, "y": y_train, "epochs": config.epochs, "batch_size": config.batch_size,
           "class_weight": weights, "shuffle": True}
    if has_val:
        fit["validation_data"] = (features(parts["val"]), one_hot[parts["val"]["label"]])
    head = model.get_layer("head")
    models.adapt_head(head, x_train)
    initial = state / "initial_head.weights.h5"
    if not initial.is_file():
        head.save_weights(initial)
    with strategy.scope():
        _compile(head, config.learning_rate, config)
    print(f"Stage 1: training the head on {len(x_train)} cached feature vectors")
    _run_stage("head", state, head, fit, config, has_val, callbacks)
    stages.append("head")
    if not has_val:
        return None
    probs = np.asarray(head.predict(fit["validation_data"][0], verbose=0))
    if config.tta:
        probs = (probs + np.asarray(head.predict(features(parts["val"], flip=True), verbose=0))) / 2
    temperature = None
    if config.calibrate:
        temperature = evaluate.fit_temperature(parts["val"]["label"].to_numpy(), probs)
        probs = evaluate.apply_temperature(probs, temperature)
        models.set_temperature(head, temperature)
        print(f"Calibration: softmax temperature {temperature:.3f}, fitted on validation")
    validation = evaluate.compute_metrics(parts["val"]["label"].to_numpy(), probs, dataset.classes)
    validation["temperature"] = temperature

    if config.refit:
        logged = pd.read_csv(state / "head" / "history.csv").drop_duplicates("epoch", keep="last")
        epochs = int(logged.loc[logged["val_loss"].idxmin(), "epoch"]) + 1  # CSVLogger counts from 0
        both = pd.concat([parts["train"], parts["val"]])
        x_all, y_all = inputs(both)
        refit_weights = class_weights(both["label"], n_classes) if config.class_weights else None
        head.load_weights(initial)
        with strategy.scope():
            _compile(head, config.learning_rate, config)
        print(f"Refit: the head again from scratch on train + validation ({len(x_all)} vectors), "
              f"{epochs} epochs as chosen on validation")
        refit = {"x": x_all, "y": y_all, "epochs": epochs, "batch_size": config.batch_size,
                 "class_weight": refit_weights, "shuffle": True}
        _run_stage("refit", state, head, refit, config, False, callbacks, keep_last=True)
        stages.append("refit")
        if temperature is not None:  # the refit head keeps the temperature validation chose
            models.set_temperature(head, temperature)
    return validation


def _train_on_images(model, config: Config, dataset: Dataset, parts: dict, state: Path, strategy, weights,
                     callbacks, stages: list) -> None:
    """Stage 2 (fine-tuning a pretrained backbone) or end-to-end training, streaming paintings with tf.data."""
    n_classes = len(dataset.classes)
    if config.pretrained:
        unfrozen = models.set_fine_tuning(model, config.fine_tune_layers)
        learning_rate, epochs, stage = config.fine_tune_learning_rate, config.fine_tune_epochs, "fine_tune"
        print(f"Stage 2: fine-tuning the top {unfrozen} backbone layers (BatchNorm frozen)")
    else:
        learning_rate, epochs, stage = config.learning_rate, config.epochs, "end_to_end"
        print(f"Training {config.backbone} end to end")
    image_cache = state / "image_cache"  # decoded uint8 paintings, per run (deleted when it finishes)
    image_cache.mkdir(parents=True, exist_ok=True)
    for stale in image_cache.glob("*.lockfile"):  # left by a killed run
        stale.unlink()

    def stream(part, training):
        key = hashlib.sha1("".join(part["sha1"]).encode()).hexdigest()[:16]
        return tf_image_dataset([str(dataset.root / p) for p in part["path"]], part["label"].to_numpy(),
                                config.input_size, n_classes, config.batch_size, shuffle=training,
                                augment=training and config.augment, cache=str(image_cache / key),
                                seed=config.seed)

    has_val = len(parts["val"]) > 0
    fit = {"x": stream(parts["train"], True), "epochs": epochs, "class_weight": weights}
    if has_val:
        fit["validation_data"] = stream(parts["val"], False)
    with strategy.scope():
        _compile(model, learning_rate, config)
    _run_stage(stage, state, model, fit, config, has_val, callbacks)
    stages.append(stage)


def train(data_dir: str | Path, out_dir: str | Path, config: Config | None = None, resume: bool = False,
          cache_dir: str | Path | None = None, save_h5: bool = False, progress: bool = True,
          callbacks=()) -> Path:
    """Train a classifier on the data set in ``data_dir`` and write a bundle to ``out_dir``.

    ``resume=True`` continues the interrupted run in ``out_dir`` with its saved config and split.
    ``callbacks`` are extra Keras callbacks for every stage. Returns the bundle path.
    """
    import keras

    out = Path(out_dir)
    state = out / STATE_DIR
    if resume:
        if not (state / "config.json").is_file():
            raise DataError(f"nothing to resume in {out} (no {STATE_DIR}/config.json)")
        config = Config.from_dict(json.loads((state / "config.json").read_text()))
        print(f"Resuming the run in {out}")
    else:
        config = config or Config()
        if state.exists():
            shutil.rmtree(state)
    config.validate()
    state.mkdir(parents=True, exist_ok=True)
    config.save(state / "config.json")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()

    dataset = scan_dataset(data_dir, progress=progress)
    print(dataset.report())
    table = _prepare_split(dataset, config, state, resume)
    parts = {name: table[table["split"] == name] for name in ("train", "val", "test")}
    print(", ".join(f"{name}: {len(part)}" for name, part in parts.items()))
    n_classes = len(dataset.classes)
    weights = class_weights(parts["train"]["label"], n_classes) if config.class_weights else None
    has_val = len(parts["val"]) > 0

    strategy = make_strategy(config.strategy)
    if config.strategy != "default":
        print(f"{config.strategy} strategy: training in sync on {strategy.num_replicas_in_sync} devices")
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = models.build_model(config, n_classes)
    stages, validation = [], None
    if config.pretrained:
        validation = _train_head(model, config, dataset, parts, state, strategy, cache, weights, progress,
                                 callbacks, stages)
    if not config.pretrained or config.fine_tune_epochs:
        _train_on_images(model, config, dataset, parts, state, strategy, weights, callbacks, stages)
        validation = None  # the backbone changed: cached features no longer describe the model
    history = _read_history(state, stages)

    def score(part):
        probs = evaluate.predict_probabilities(model, [str(dataset.root / p) for p in part["path"]],
                                               config.input_size, tta=config.tta, progress=progress)
        return evaluate.compute_metrics(part["label"].to_numpy(), probs, dataset.classes)

    if validation is None and has_val:
        validation = score(parts["val"])
    if validation:
        print(f"Validation: {evaluate.summary_line(validation)}")
    metrics = score(parts["test"]) if len(parts["test"]) else dict(validation)
    metrics["split"] = "test" if len(parts["test"]) else "val"
    if validation:  # recipes are chosen on these numbers, never on the test split's
        metrics["validation"] = {k: validation[k] for k in evaluate.SUMMARY_KEYS}
        if validation.get("temperature"):
            metrics["temperature"] = validation["temperature"]
    print(f"Test: {evaluate.summary_line(metrics)}")

    if not strategy.extended.should_checkpoint:  # multi-worker: only the chief writes the bundle
        return out
    artists = dataset.artists[["name", "years", "genre", "nationality", "bio", "wikipedia", "label_name"]].copy()
    artists["paintings"] = dataset.counts().to_numpy()
    # what the final weights were fitted on: the train split, plus validation after a refit
    fitted = pd.concat([parts["train"], parts["val"]]) if "refit" in stages else parts["train"]
    artists["train_paintings"] = fitted["artist"].value_counts().reindex(dataset.classes, fill_value=0).to_numpy()
    fitted_weights = class_weights(fitted["label"], n_classes)
    artists["class_weight"] = [fitted_weights[i] for i in range(n_classes)]
    split = table[["path", "artist", "sha1", "split"]]
    save_bundle(out, model, config, artists, history, split, metrics, dataset.skipped, str(dataset.root))
    if save_h5:
        serving_copy(model).save(out / "painting_classification.h5")
    shutil.rmtree(state)  # the bundle holds config, split and history; checkpoints are no longer needed
    print(f"Bundle written to {out}")
    return out
