"""Training: split, stage 1 (head on cached backbone features), stage 2 (fine-tuning), bundle.

A run keeps its state in ``OUT/training/`` (config, split, per-stage history,
BackupAndRestore checkpoints, best weights), so ``resume=True`` continues a
killed run from its last finished epoch. The stages share one :class:`Run`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..bundle import SUMMARY_KEYS
from ..config import Config, default_cache_dir
from ..scope import CALIBRATION_MIN_SIDE, Scope, fit_scope
from . import evaluate, models
from .data import EXCLUDED, DataError, Dataset, assign_splits, class_weights, scan_sources, tf_image_dataset
from .features import MIRRORED, HeadFeatures
from .fine_tuning import tune_top
from .keras_bundle import save_bundle, serving_copy
from .near_duplicates import find_groups, groups_table
from .negatives import scan_negatives
from .negatives import summary as negatives_summary
from .stages import compile_stage, run_stage, stage_history, validate_head

STATE_DIR = "training"

log = logging.getLogger(__name__)


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


@dataclass
class Run:
    """What the stages of one training run share."""

    config: Config
    dataset: Dataset
    table: pd.DataFrame  # every painting with its split (train / val / test)
    state: Path  # OUT/training: config, split, per-stage logs and checkpoints
    cache: Path  # root of the feature cache
    strategy: object
    progress: bool = True
    callbacks: tuple = ()  # extra Keras callbacks for every stage
    model: object = None
    stages: list[str] = field(default_factory=list)  # stages run so far, in order
    fitted_on: tuple[str, ...] = ("train",)  # the splits the final weights were fitted on
    validation: dict | None = None  # validation metrics of the final model (before any refit)
    val_probabilities: np.ndarray | None = None  # the same model's validation probabilities
    negatives: pd.DataFrame | None = None  # other painters' paintings (``negatives.py``), split by artist
    negatives_rejected: float | None = None  # share of the validation negatives out of scope
    features: HeadFeatures | None = None  # the head's features of the run's paintings under the final model
    _weights: dict = field(default_factory=dict, repr=False)

    @property
    def n_classes(self) -> int:
        return len(self.dataset.classes)

    @property
    def has_val(self) -> bool:
        return bool((self.table["split"] == "val").any())

    def part(self, *splits: str) -> pd.DataFrame:
        """The paintings of ``splits``, split by split in the order given."""
        return pd.concat([self.table[self.table["split"] == split] for split in splits])

    def class_weights_of(self, *splits: str) -> dict[int, float]:
        """The original's class weights over the paintings of ``splits`` (computed once per set of splits)."""
        if splits not in self._weights:
            self._weights[splits] = class_weights(self.part(*splits)["label"], self.n_classes)
        return self._weights[splits]

    def fit_class_weights(self, *splits: str) -> dict[int, float] | None:
        """The class weights ``model.fit`` gets for ``splits``: None when the config switches them off."""
        return self.class_weights_of(*splits) if self.config.class_weights else None


# --- stages --------------------------------------------------------------------------------------------------

def train_head(run: Run) -> None:
    """Stage 1: the head on cached backbone features, then calibration and refit as configured."""
    config = run.config
    models.freeze_backbone(run.model)
    features = run.features = HeadFeatures(run.model, run.dataset, config, run.cache, run.progress)
    head = run.model.get_layer(models.HEAD)
    x_train, y_train = features.training_set(run.part("train"))
    models.adapt_head(head, x_train)
    initial = run.state / "initial_head.weights.h5"
    if not initial.is_file():
        head.save_weights(initial)
    fit = {"x": x_train, "y": y_train, "epochs": config.epochs, "batch_size": config.batch_size,
           "class_weight": run.fit_class_weights("train"), "shuffle": True}
    if run.has_val:
        fit["validation_data"] = features.labelled(run.part("val"))
    compile_stage(head, config.learning_rate, run)
    log.info(f"Stage 1: training the head on {len(x_train)} cached feature vectors")
    run_stage(run, "head", head, fit)
    if run.has_val:
        run.validation = validate_head(run, head, features)
    if config.refit:
        _refit_head(run, head, features, initial)


def _refit_head(run: Run, head, features: HeadFeatures, initial: Path) -> None:
    """Train the head again from its initial weights on train + validation, for the epochs validation chose."""
    logged = stage_history(run.state, "head")
    epochs = int(logged.loc[logged["val_loss"].idxmin(), "epoch"]) + 1  # CSVLogger counts from 0
    run.fitted_on = ("train", "val")
    x_all, y_all = features.training_set(run.part(*run.fitted_on))
    head.load_weights(initial)
    compile_stage(head, run.config.learning_rate, run)
    log.info(f"Refit: the head again from scratch on train + validation ({len(x_all)} vectors), "
          f"{epochs} epochs as chosen on validation")
    refit = {"x": x_all, "y": y_all, "epochs": epochs, "batch_size": run.config.batch_size,
             "class_weight": run.fit_class_weights(*run.fitted_on), "shuffle": True}
    run_stage(run, "refit", head, refit, keep_last=True)
    if run.validation and run.validation["temperature"] is not None:  # the refit head keeps that temperature
        models.set_temperature(head, run.validation["temperature"])


def _image_stream(run: Run, part: pd.DataFrame, training: bool):
    """Batches of one split's paintings, decoded once into a uint8 cache file of the run."""
    image_cache = run.state / "image_cache"  # deleted with the run's state when it finishes
    key = hashlib.sha1("".join(part["sha1"]).encode()).hexdigest()[:16]
    return tf_image_dataset(run.dataset.files(part), part["label"].to_numpy(),
                            run.config.input_size, run.n_classes, run.config.batch_size, shuffle=training,
                            augment=training and run.config.augment, cache=str(image_cache / key),
                            seed=run.config.seed)


def train_on_images(run: Run) -> None:
    """End-to-end training of a backbone without pretrained weights (the seed CNN), streaming paintings with
    tf.data."""
    config = run.config
    learning_rate, epochs, stage = config.learning_rate, config.epochs, "end_to_end"
    log.info(f"Training {config.backbone} end to end")
    image_cache = run.state / "image_cache"
    image_cache.mkdir(parents=True, exist_ok=True)
    for stale in image_cache.glob("*.lockfile"):  # left by a killed run
        stale.unlink()
    fit = {"x": _image_stream(run, run.part("train"), True), "epochs": epochs,
           "class_weight": run.fit_class_weights("train")}
    if run.has_val:
        fit["validation_data"] = _image_stream(run, run.part("val"), False)
    compile_stage(run.model, learning_rate, run)
    run_stage(run, stage, run.model, fit)
    run.fitted_on = ("train",)
    run.validation = None  # the backbone changed: cached features no longer describe the model
    run.val_probabilities = None


# --- the run around the stages -------------------------------------------------------------------------------

def _start_state(out: Path, config: Config | None, resume: bool) -> Config:
    """The run's config, saved in OUT/training (a new run starts from an empty state; resume reads it)."""
    state = out / STATE_DIR
    if resume:
        if not (state / "config.json").is_file():
            raise DataError(f"nothing to resume in {out} (no {STATE_DIR}/config.json)")
        config = Config.from_dict(json.loads((state / "config.json").read_text()))
        log.info(f"Resuming the run in {out}")
    else:
        config = config or Config()
        if state.exists():
            shutil.rmtree(state)
    config.validate()
    state.mkdir(parents=True, exist_ok=True)
    config.save(state / "config.json")
    return config


def _prepare_split(dataset: Dataset, config: Config, state: Path, resume: bool, cache: Path,
                   progress: bool) -> pd.DataFrame:
    """Every painting with its near-duplicate group and split: drawn anew, or (on resume) as the
    interrupted run drew them."""
    split_csv = state / "split.csv"
    table = dataset.paintings.copy()
    if resume and split_csv.is_file():
        previous = pd.read_csv(split_csv).set_index(["source", "path"])
        keys = pd.MultiIndex.from_frame(table[["source", "path"]])
        table["group"] = previous["group"].reindex(keys).to_numpy()
        table["split"] = previous["split"].reindex(keys).to_numpy()
        new = table["split"].isna()
        if new.any():
            raise DataError(f"{int(new.sum())} paintings are new since the run started; "
                            "resume with the same data or start a new run")
        return table
    if config.duplicate_similarity:
        table["group"] = find_groups(dataset, cache, config.duplicate_similarity, progress,
                                     geometric=config.geometric_duplicates)
    else:
        table["group"] = table["sha1"]
    table["split"] = assign_splits(table, dataset.train_only, config.test_fraction, config.val_fraction,
                                   config.seed)
    table[["source", "path", "artist", "label", "sha1", "group", "split"]].to_csv(split_csv, index=False)
    return table


def _read_history(run: Run) -> pd.DataFrame:
    """All stages' logs as one table: stage, step (1-based across stages), epoch (1-based), metrics."""
    frames = []
    for stage in run.stages:
        frame = stage_history(run.state, stage)
        if len(frame):
            frame.insert(0, "stage", stage)
            frames.append(frame)
    history = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(history):
        history.insert(1, "step", np.arange(1, len(history) + 1))
        history["epoch"] = history["epoch"] + 1
    return history


def _probabilities(run: Run, part: pd.DataFrame) -> np.ndarray:
    return evaluate.predict_probabilities(run.model, run.dataset.files(part),
                                          run.config.input_size, tta=run.config.tta, progress=run.progress)


def _score(run: Run, part: pd.DataFrame) -> dict:
    return evaluate.compute_metrics(part["label"].to_numpy(), _probabilities(run, part), run.dataset.classes)


def score_run(run: Run) -> dict:
    """Test metrics (validation's when there is no test split), with the validation summary beside them."""
    validation = run.validation
    if validation is None and run.has_val:
        run.val_probabilities = _probabilities(run, run.part("val"))
        validation = evaluate.compute_metrics(run.part("val")["label"].to_numpy(), run.val_probabilities,
                                              run.dataset.classes)
    if validation:
        log.info(f"Validation: {evaluate.summary_line(validation)}")
    test = run.part("test")
    metrics = _score(run, test) if len(test) else dict(validation)
    metrics["split"] = "test" if len(test) else "val"
    if validation:  # recipes are chosen on these numbers, never on the test split's
        metrics["validation"] = {k: validation[k] for k in SUMMARY_KEYS}
        if validation.get("temperature"):
            metrics["temperature"] = validation["temperature"]
    log.info(f"Test: {evaluate.summary_line(metrics)}")
    return metrics


def fit_run_scope(run: Run) -> Scope | None:
    """The scope score of the trained model (``scope.py``): principal axes of the training paintings'
    features (every training variant), thresholds on validation paintings with the probabilities of
    the model before any refit. None without validation paintings."""
    if run.val_probabilities is None:
        return None
    features = run.features or HeadFeatures(run.model, run.dataset, run.config, run.state, run.progress)
    train, val = run.part("train"), run.part("val")
    full_size = (val[["width", "height"]].max(axis=1) >= CALIBRATION_MIN_SIDE).to_numpy()
    if full_size.sum() >= 20:  # the thresholds come from full-size validation paintings (scope.py)
        val, val_probabilities = val[full_size], run.val_probabilities[full_size]
    else:
        val_probabilities = run.val_probabilities
    train_features, _ = features.training_set(train)
    val_features = features.of(val)
    if run.config.tta:  # as the Predictor sees an image: its features averaged with the mirror image's
        val_features = (val_features + features.of(val, MIRRORED)) / 2
    negatives = None
    if run.negatives is not None:
        negatives = features.training_set_of_files(run.negatives.query("split == 'train'"))
    scope = fit_scope(train_features, val_features, val_probabilities, negative_features=negatives)
    log.info(f"Scope score: fitted on {len(train_features)} training feature vectors"
          + (f" and {len(negatives)} of other painters'" if negatives is not None else "")
          + f", threshold {scope.threshold:.3f} keeps 95 % of {len(val)} validation paintings")
    if run.negatives is not None and (run.negatives["split"] == "val").any():
        run.negatives_rejected = _negatives_rejected(run, features, scope)
        log.info(f"Scope score: rejects {run.negatives_rejected:.1%} of validation painters' paintings "
              "(artists it never saw)")
    return scope


def _negatives_rejected(run: Run, features: HeadFeatures, scope: Scope) -> float:
    """Share of the validation negatives (painters the scope score never saw) it puts out of scope."""
    held = features.of_files(run.negatives.query("split == 'val'"))
    probabilities = np.asarray(run.model.get_layer(models.HEAD).predict(held, verbose=0))
    return float((scope.scores(held, probabilities) < scope.threshold).mean())


def _artists_table(run: Run) -> pd.DataFrame:
    """artists.csv of the bundle: the data set's facts plus paintings found, fitted on, and class weights."""
    dataset = run.dataset
    artists = dataset.artists[["name", "years", "genre", "nationality", "bio", "wikipedia", "label_name"]].copy()
    artists["paintings"] = dataset.counts().to_numpy()
    fitted = run.part(*run.fitted_on)
    artists["train_paintings"] = fitted["artist"].value_counts().reindex(dataset.classes, fill_value=0).to_numpy()
    weights = run.class_weights_of(*run.fitted_on)
    artists["class_weight"] = [weights[i] for i in range(run.n_classes)]
    return artists


def write_bundle(run: Run, out: Path, metrics: dict, save_h5: bool = False, scope: Scope | None = None,
                 negative_folders=()) -> None:
    """Save the trained model and everything known about the run as a bundle; then drop the run's state."""
    used = run.table[run.table["split"].isin(["train", "val", "test"])]
    sources = {name: {"folder": str(folder), "train_only": name in run.dataset.train_only}
               for name, folder in run.dataset.sources.items()}
    negatives = None
    if run.negatives is not None:
        negatives = {**negatives_summary(run.negatives, list(negative_folders), out),
                     "rejected_on_validation": run.negatives_rejected}
    save_bundle(out, run.model, run.config, _artists_table(run), _read_history(run),
                used[["path", "artist", "sha1", "split", "source", "group"]], metrics, run.dataset.skipped,
                str(run.dataset.root), sources=sources, near_duplicates=groups_table(run.table), scope=scope,
                negatives=negatives)
    if save_h5:
        serving_copy(run.model).save(out / "painting_classification.h5")
    shutil.rmtree(run.state)  # the bundle holds config, split and history; checkpoints are no longer needed
    log.info(f"Bundle written to {out}")


def train(data_dir, out_dir: str | Path, config: Config | None = None, resume: bool = False,
          cache_dir: str | Path | None = None, save_h5: bool = False, progress: bool = True,
          callbacks=(), train_only=(), negatives=(), gallery: str | Path | None = None,
          titles: str | Path | None = None) -> Path:
    """Train a classifier and write a bundle to ``out_dir``.

    ``data_dir``: one data set folder or a list of them (artists joined by name); the paintings of
    the ``train_only`` folders are used for training and validation only, never for testing.
    ``resume=True`` continues the interrupted run in ``out_dir`` with its saved config and split.
    ``callbacks`` are extra Keras callbacks for every stage. ``negatives``: folders of other painters'
    paintings the scope score learns "none of the 50" from (``negatives.py``). ``gallery``: a folder to index
    every painting of the data, training-only and negatives folders in, as the bundle's gallery of paintings to
    recognise (``serving/gallery_index.py``), named by the catalogue ``titles`` where given. Returns the bundle path.
    """
    import keras

    out = Path(out_dir)
    config = _start_state(out, config, resume)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    folders = list(data_dir) if isinstance(data_dir, (list, tuple)) else [data_dir]
    dataset = scan_sources(folders, list(train_only), progress=progress)
    log.info(dataset.report())
    table = _prepare_split(dataset, config, out / STATE_DIR, resume, cache, progress)
    log.info(", ".join(f"{name}: {int((table['split'] == name).sum())}" for name in ("train", "val", "test", EXCLUDED)
                    if name != EXCLUDED or (table["split"] == name).any())
          + (f"; {table['group'].duplicated().sum()} paintings grouped with a near-duplicate"
             if table["group"].duplicated().any() else ""))
    run = Run(config, dataset, table, out / STATE_DIR, cache, make_strategy(config.strategy), progress,
              tuple(callbacks))
    if negatives:
        run.negatives, skipped = scan_negatives(list(negatives), config.val_fraction, config.seed)
        log.info(f"Negatives: {len(run.negatives)} paintings by {run.negatives['artist'].nunique()} other painters"
              + (f"; skipped {len(skipped)} unreadable" if len(skipped) else ""))
    if config.strategy != "default":
        log.info(f"{config.strategy} strategy: training in sync on {run.strategy.num_replicas_in_sync} devices")
    keras.utils.set_random_seed(config.seed)
    with run.strategy.scope():
        run.model = models.build_model(config, run.n_classes)
    if config.fine_tune_blocks:
        tune_top(run)
    elif config.pretrained:
        train_head(run)
    else:
        train_on_images(run)
    metrics = score_run(run)
    scope = fit_run_scope(run)
    if run.strategy.extended.should_checkpoint:  # multi-worker: only the chief writes the bundle
        write_bundle(run, out, metrics, save_h5, scope, negatives)
        if gallery is not None:
            index_gallery(out, [*folders, *train_only, *negatives], Path(gallery), titles, progress)
    return out


def index_gallery(out: Path, folders: list, gallery: Path, titles, progress: bool) -> None:
    """The bundle's gallery: every painting of ``folders``, indexed and named in its manifest, and their vectors under
    the new model (``similar.npz``). The gallery's files depend on the paintings only and come out the same for the
    same paintings, so a retrain leaves them as they were."""
    from ..serving.gallery_index import attach_gallery, build_gallery
    from ..serving.similar_vectors import write_bundle_similar

    indexed = build_gallery(folders, gallery, titles, progress)
    attach_gallery(out, gallery)
    log.info(f"Gallery: {len(indexed.paintings)} paintings indexed in {gallery}")
    log.info(f"Similar paintings: {write_bundle_similar(out, progress)}")
