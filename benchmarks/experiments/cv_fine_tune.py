"""Does fine-tuning the top of the backbone name unseen paintings better than today's head on a frozen backbone?

    python -m benchmarks.experiments.cv_fine_tune --cache-only     # the activations of every copy (the long part)
    python -m benchmarks.experiments.cv_fine_tune [--candidates today,top1,top5] [--folds 5]

Cross-validation on the shipped bundle's training and validation paintings of the 50 (the test split stays out), in
the folds of ``benchmarks/quality/similar_paintings.py``: artist-stratified, near-duplicate groups whole, joined also
by every copy the recognition's check verifies (a detail and its whole). Every candidate trains on the recipe's
copies of the other folds' paintings (re-encoded, mirrored, an upload-like copy, black and white, photographed in a
museum, a squashed thumbnail) and is scored on the held-out paintings as they are. A fifth of the training folds'
groups is held back to stop on (validation loss), so no candidate sees its held-out fold before it is scored.

Candidates (``CANDIDATES``): ``today`` is the shipped recipe's head on the frozen backbone; ``topK`` fine-tunes the top
K blocks with the head from the start (``training/fine_tuning.py``). The activations below the lowest cut are cached
once (``training/activations.py``); higher cuts are computed from them. Writes
benchmarks/results/cv_fine_tune.json and the per-artist sinks to cv_fine_tune_artists.csv.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from benchmarks.common.copies import gallery_table, honest_groups, verified_gallery_pairs
from benchmarks.common.folds import folds_of, scores_of, sink_columns, sinks, summary_of
from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance

LOWEST_CUT_BLOCKS = 5  # the deepest candidate fine-tunes stage 5 and 6 of Lite0 (blocks 11-15)
STOP_SHARE = 5  # one in this many of the training folds' groups is held back to stop on


@dataclass(frozen=True)
class Candidate:
    """A recipe under test: ``top_blocks`` fine-tuned (0: today's head on the frozen backbone), the head's learning
    rate, the backbone's share of it, and at most ``epochs`` epochs, stopping after ``patience`` without gain."""

    top_blocks: int = 0
    learning_rate: float = 1e-3
    backbone_scale: float = 0.1
    epochs: int = 25
    patience: int = 3
    warm_head: bool = False  # first the head alone on the frozen features, stopped on validation (not converged)


CANDIDATES = {
    "today": Candidate(0),
    "top1": Candidate(1),
    "top1-slow": Candidate(1, backbone_scale=0.03),
    "top5": Candidate(5),
    # linear probe, then fine-tune (LP-FT): the head as today's recipe trains it, stopped at its best validation loss,
    # then the top block and the head together at a small learning rate
    "top1-warm": Candidate(1, learning_rate=1e-4, backbone_scale=0.3, epochs=12, warm_head=True),
}


def pool_of(model: Path, n_folds: int) -> tuple[pd.DataFrame, list[str]]:
    """The bundle's training and validation paintings of the 50: file, sha1, label, width, height, fold."""
    from painting_classifier.artists import normalise_name
    from painting_classifier.serving.predict import Predictor

    predictor = Predictor.from_bundle(model, similar=None)
    gallery, bundle = predictor.gallery, predictor.bundle
    table = gallery_table(gallery, bundle)
    keys = {normalise_name(c): i for i, c in enumerate(bundle.classes)}
    table["label"] = table["artist"].map(lambda a: keys.get(normalise_name(a), -1))
    table["file"] = [str(gallery.file_of(i)) for i in range(len(table))]
    table["honest_group"] = honest_groups(table, verified_gallery_pairs(gallery))
    pool = table[table["split"].isin(["train", "val"]) & (table["label"] >= 0)].reset_index(drop=True)
    pool["fold"] = folds_of(pool["honest_group"], pool["label"], n_folds)
    sizes = [Image.open(f).size for f in pool["file"]]
    pool["width"], pool["height"] = [w for w, _ in sizes], [h for _, h in sizes]
    return pool, list(bundle.classes)


def copies_of(config) -> list:
    """The variants every painting is trained on (the recipe's), and as it is for scoring."""
    from painting_classifier.training.features import AS_IS, SQUASHED, training_variants

    return [AS_IS, *training_variants(config), SQUASHED]


def cache_all(pool: pd.DataFrame, config, first_block: int, cache: Path) -> None:
    """Compute the activations below ``first_block`` of every copy of every pool painting."""
    from painting_classifier.training import models
    from painting_classifier.training.activations import cached_activations
    from painting_classifier.training.features import SQUASHED, larger_than_thumbnails

    model = models.build_model(config, 50)
    for variant in copies_of(config):
        rows = pool[larger_than_thumbnails(pool)] if variant == SQUASHED else pool
        started = time.time()
        cached_activations(model, config, first_block, list(rows["file"]), rows["sha1"], cache, variant)
        print(f"{variant.suffix or 'as is'}: {len(rows)} copies in {time.time() - started:.0f} s", flush=True)


def copies_table(pool: pd.DataFrame, config, first_block: int, cache: Path):
    """(activations of every training copy, the rows of each painting's copies, activations as it is)."""
    from painting_classifier.training import models
    from painting_classifier.training.activations import Activations, cached_activations
    from painting_classifier.training.features import AS_IS, SQUASHED, larger_than_thumbnails

    model = models.build_model(config, 50)
    parts, owners = [], []
    as_is = None
    for variant in copies_of(config):
        rows = np.flatnonzero(larger_than_thumbnails(pool)) if variant == SQUASHED else np.arange(len(pool))
        found = cached_activations(model, config, first_block, list(pool["file"].iloc[rows]),
                                   pool["sha1"].iloc[rows], cache, variant, progress=False)
        if variant == AS_IS:
            as_is = found
        else:
            parts.append(found)
            owners.append(rows)
    owner = np.concatenate(owners)
    copies = [np.flatnonzero(owner == i) for i in range(len(pool))]
    return Activations.join(parts), copies, as_is


def stop_rows(pool: pd.DataFrame, train: np.ndarray) -> np.ndarray:
    """A ``1 / STOP_SHARE`` of the ``train`` rows, whole groups, stratified by artist, to stop on."""
    inner = folds_of(pool["honest_group"].iloc[train].reset_index(drop=True),
                     pool["label"].iloc[train].reset_index(drop=True), STOP_SHARE, seed=1)
    return train[inner == 0]


def copy_rows(copies: list[np.ndarray], train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the rows of every training copy of the ``train`` paintings, the painting each row is a copy of)."""
    return (np.concatenate([copies[i] for i in train]),
            np.concatenate([np.full(len(copies[i]), i) for i in train]))


def fit_on_copies(config, head, features, owner, labels, stop_features, stop_labels, weights, n_classes) -> int:
    """Fit ``head`` as today's recipe does, on the features of every training copy (each labelled as the painting
    ``owner`` it copies), stopped at its best loss on the stop set; returns the epochs run."""
    import keras

    head.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                 loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing))
    one_hot = np.eye(n_classes, dtype=np.float32)
    history = head.fit(features, one_hot[labels[owner]], epochs=config.epochs, batch_size=config.batch_size,
                       class_weight=weights, shuffle=True, verbose=0,
                       validation_data=(stop_features, one_hot[stop_labels]),
                       callbacks=[keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True)])
    return len(history.history["loss"])


def train_today(config, features, copies, labels, train, stop, as_is_features, weights, n_classes):
    """Today's recipe: its head on the frozen backbone's features of every training copy, stopped on ``stop``."""
    import keras

    from painting_classifier.training import models

    keras.utils.set_random_seed(config.seed)
    rows, owner = copy_rows(copies, train)
    head = models.build_head(features.shape[1], n_classes, config)
    models.adapt_head(head, features[rows])
    epochs = fit_on_copies(config, head, features[rows], owner, labels, as_is_features[stop], labels[stop], weights,
                           n_classes)
    return head, epochs


def train_tuned(config, candidate: Candidate, activations, copies, labels, train, stop, as_is, weights, n_classes):
    """The top ``candidate.top_blocks`` blocks and the head, trained together from the start on drawn copies."""
    import keras

    from painting_classifier.training import models
    from painting_classifier.training.activations import first_tuned_block
    from painting_classifier.training.fine_tuning import CopyBatches, features_above, tuning_model

    keras.utils.set_random_seed(config.seed)
    first = first_tuned_block(config, candidate.top_blocks)
    model = models.build_model(config, n_classes)
    head = model.get_layer(models.HEAD)
    sample = np.array([copies[i][0] for i in train])  # one copy each is enough to standardise on
    models.adapt_head(head, features_above(model, config, first, activations.take(sample))[1])
    if candidate.warm_head:
        warm_up_head(config, model, first, activations, copies, labels, train, stop, as_is, weights, n_classes)
    trainable = tuning_model(model, config, first, candidate.learning_rate, candidate.backbone_scale)
    batches = CopyBatches(activations, [copies[i] for i in train], labels[train], n_classes, config.batch_size,
                          weights, config.seed)
    one_hot = np.eye(n_classes, dtype=np.float32)
    stop_set = as_is.take(stop)
    history = trainable.fit(batches, epochs=candidate.epochs, verbose=2,
                            validation_data=((stop_set.maps.astype(np.float32), stop_set.lower), one_hot[labels[stop]]),
                            callbacks=[keras.callbacks.EarlyStopping(patience=candidate.patience,
                                                                     restore_best_weights=True)])
    return model, first, len(history.history["loss"])


def warm_up_head(config, model, first, activations, copies, labels, train, stop, as_is, weights, n_classes) -> None:
    """The model's head trained alone, as today's recipe trains it, on the frozen top's features of every training
    copy, and stopped at its best loss on ``stop``."""
    from painting_classifier.training import models
    from painting_classifier.training.fine_tuning import features_above

    rows, owner = copy_rows(copies, train)
    features = features_above(model, config, first, activations.take(rows))[1]
    stop_features = features_above(model, config, first, as_is.take(stop))[1]
    fit_on_copies(config, model.get_layer(models.HEAD), features, owner, labels, stop_features, labels[stop], weights,
                  n_classes)


def chosen_of(candidates: dict) -> str:
    """The candidate with the best out-of-fold balanced accuracy among those whose worst precision (artists named at
    least ``MIN_NAMED`` times) is no lower than today's: class-balanced, and no new sink."""
    complete = {name: c for name, c in candidates.items() if c["out_of_fold"]}
    floor = complete["today"]["out_of_fold"]["worst_precision"] if "today" in complete else 0.0
    allowed = {name: c for name, c in complete.items() if c["out_of_fold"]["worst_precision"] >= floor}
    return max(allowed, key=lambda name: allowed[name]["out_of_fold"]["balanced"])


def run_candidate(name: str, config, pool, classes, cut: int, cache: Path, results: Path,
                  only: set[int] | None = None) -> dict:
    """Out-of-fold probabilities of one candidate, fold by fold, with each fold's scores and epochs."""
    from painting_classifier.training import models
    from painting_classifier.training.activations import deeper_cut, first_tuned_block
    from painting_classifier.training.data import class_weights
    from painting_classifier.training.fine_tuning import features_above

    candidate = CANDIDATES[name]
    labels, n_classes = pool["label"].to_numpy(), len(classes)
    done = results / name  # each fold's results, so that a killed run goes on at the next fold
    done.mkdir(parents=True, exist_ok=True)
    to_run = [f for f in sorted(pool["fold"].unique())
              if not (done / f"fold{f}.json").is_file() and (only is None or f in only)]
    if to_run:
        activations, copies, as_is = copies_table(pool, config, cut, cache)
        frozen = models.build_model(config, n_classes)
        if candidate.top_blocks == 0:
            features = features_above(frozen, config, cut, activations)[1]
            as_is_features = features_above(frozen, config, cut, as_is)[1]
        else:
            first = first_tuned_block(config, candidate.top_blocks)
            activations = deeper_cut(frozen, config, cut, first, activations)
            as_is = deeper_cut(frozen, config, cut, first, as_is)
    out_of_fold = np.zeros((len(pool), n_classes), np.float32)
    folds = []
    for f in sorted(pool["fold"].unique()):
        held = np.flatnonzero(pool["fold"].to_numpy() == f)
        if f not in to_run and not (done / f"fold{f}.json").is_file():
            continue
        if (done / f"fold{f}.json").is_file():
            out_of_fold[held] = np.load(done / f"fold{f}.npy")
            folds.append(json.loads((done / f"fold{f}.json").read_text()))
            continue
        started = time.time()
        train_all = np.flatnonzero(pool["fold"].to_numpy() != f)
        stop = stop_rows(pool, train_all)
        train = np.setdiff1d(train_all, stop)
        weights = class_weights(labels[train], n_classes) if config.class_weights else None
        if candidate.top_blocks == 0:
            head, epochs = train_today(config, features, copies, labels, train, stop, as_is_features, weights,
                                       n_classes)
            out_of_fold[held] = np.asarray(head.predict(as_is_features[held], verbose=0))
        else:
            model, first, epochs = train_tuned(config, candidate, activations, copies, labels, train, stop, as_is,
                                               weights, n_classes)
            out_of_fold[held] = features_above(model, config, first, as_is.take(held))[0]
        folds.append({"fold": int(f), **scores_of(labels[held], out_of_fold[held]), "epochs": epochs,
                      "minutes": round((time.time() - started) / 60, 1)})
        np.save(done / f"fold{f}.npy", out_of_fold[held])
        (done / f"fold{f}.json").write_text(json.dumps(folds[-1]))
        print(f"{name} fold {f}: {folds[-1]}", flush=True)
    scored = np.isin(pool["fold"].to_numpy(), [f["fold"] for f in folds])
    return {"candidate": candidate.__dict__, "folds": folds,
            "out_of_fold": summary_of(labels[scored], out_of_fold[scored], classes) if len(folds) == len(
                pool["fold"].unique()) else None, "probabilities": out_of_fold}


def results_dir(cache: Path, model: Path) -> Path:
    """Where the folds' results and out-of-fold probabilities of ``model``'s pool are kept: under its checksum, so
    that another bundle's pool (another split) never mixes with them."""
    from painting_classifier import load_bundle

    return cache / "cv_fine_tune" / load_bundle(model).checksum[:12]


def artists_table(report: dict, pool: pd.DataFrame, classes: list[str], results: Path) -> pd.DataFrame:
    """Per artist and complete candidate, out of fold: how often named, how often rightly, and recall."""
    labels = pool["label"].to_numpy()
    artists = sinks(labels, np.zeros(len(pool), int), classes)[["artist", "paintings"]]
    for name, found in report["candidates"].items():
        path = results / f"{name}.npy"
        if path.is_file() and found["out_of_fold"]:
            artists = artists.join(sink_columns(labels, np.load(path), classes, f"{name}_"))
    return artists


def main(argv: list[str] | None = None) -> None:
    from painting_classifier.config import default_cache_dir, recipe
    from painting_classifier.training.activations import first_tuned_block

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache-only", action="store_true", help="only compute the cached activations")
    parser.add_argument("--candidates", default="today,top1", help=f"comma-separated, of {', '.join(CANDIDATES)}")
    parser.add_argument("--json", type=Path, default=RESULTS / "cv_fine_tune.json")
    parser.add_argument("--tables-only", action="store_true", help="only write the per-artist table of the "
                        "candidates already run")
    parser.add_argument("--only-folds", default=None, help="comma-separated folds to compute now (the others are "
                        "taken from earlier runs where they exist)")
    args = parser.parse_args(argv)
    config, cache = recipe("default"), default_cache_dir()
    results = results_dir(cache, args.model)
    pool, classes = pool_of(args.model, args.folds)
    cut = first_tuned_block(config, LOWEST_CUT_BLOCKS)
    print(f"{len(pool)} paintings, {pool['honest_group'].nunique()} groups, {args.folds} folds", flush=True)
    if args.cache_only:  # (running candidates computes what is missing too)
        cache_all(pool, config, cut, cache)
        return
    report = json.loads(args.json.read_text()) if args.json.is_file() else {"candidates": {}}
    for name in [] if args.tables_only else args.candidates.split(","):
        only = {int(f) for f in args.only_folds.split(",")} if args.only_folds else None
        found = run_candidate(name, config, pool, classes, cut, cache, results, only)
        np.save(results / f"{name}.npy", found.pop("probabilities"))
        report["candidates"][name] = found
        report.update(provenance(None, runs=1), folds=args.folds, paintings=len(pool),
                      groups=int(pool["honest_group"].nunique()), chosen=chosen_of(report["candidates"]),
                      rule=chosen_of.__doc__.split("\n")[0].strip() + " " + chosen_of.__doc__.split("\n")[1].strip())
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    artists_table(report, pool, classes, results).round(3).to_csv(RESULTS / "cv_fine_tune_artists.csv", index=False)
    print(json.dumps({name: c["out_of_fold"] or c["folds"] for name, c in report["candidates"].items()}, indent=1))


if __name__ == "__main__":
    main()
