"""The cross-validation folds the experiments share: the pool of paintings (the sample's train + validation, more-
paintings, more-paintings-2; near-duplicate groups whole), artist-stratified folds, cached head features, the
logistic-regression stand-in of the head and its scores."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common.paths import DATA

SAMPLE, MORE, MORE_2 = "best-artworks-sample", "more-paintings", "more-paintings-2"
MIN_NAMED = 10  # the worst precision counts artists named at least this often out of fold


def folds_of(groups: pd.Series, artists: pd.Series, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold of each row: near-duplicate groups dealt out round-robin within each artist, in a seeded order."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(groups), int)
    for _, rows in groups.groupby(artists.to_numpy()):
        for i, group in enumerate(rng.permutation(rows.unique())):
            fold[(groups == group).to_numpy()] = i % n_folds
    return fold



def pool_of_paintings(config, cache: Path) -> tuple[object, pd.DataFrame]:
    """(dataset, its non-test paintings with group and fold-free split) under the recipe's seed split."""
    from painting_classifier.training.data import EXCLUDED, assign_splits, scan_sources
    from painting_classifier.training.near_duplicates import find_groups

    dataset = scan_sources([DATA / SAMPLE], [DATA / MORE, DATA / MORE_2], progress=False)
    table = dataset.paintings.copy()
    table["group"] = find_groups(dataset, cache, config.duplicate_similarity, False)
    table["split"] = assign_splits(table, dataset.train_only, config.test_fraction, config.val_fraction,
                                   config.seed)
    return dataset, table[~table["split"].isin(["test", EXCLUDED])].reset_index(drop=True)



def feature_source(config, cache: Path, compute: bool = True):
    """(extractor, features): ``features(files, sha1s, variant)`` gives the cached backbone features of ``config``,
    computing missing ones with ``extractor()``, the feature model built once on first use (without ``compute``, a
    missing feature is an error)."""
    from painting_classifier.training.features import cached_features

    built = []

    def extractor():
        if not compute:
            raise RuntimeError("features are not cached: run with --compute")
        if not built:
            from painting_classifier.training.models import build_model, feature_extractor
            built.append(feature_extractor(build_model(config, 50)))
        return built[0]

    def features(files, sha1s, variant):
        return cached_features(extractor, list(files), list(sha1s), config, cache, variant, progress=compute)

    return extractor, features



def upload_rows_of(pool: pd.DataFrame, n: int) -> np.ndarray:
    """The rows of ``pool`` scored as uploads: ``n`` of the sample's and more-paintings' paintings, seeded."""
    full_size = np.flatnonzero(np.isin(pool["source"].to_numpy(), [SAMPLE, MORE]))
    return np.sort(np.random.default_rng(0).choice(full_size, min(n, len(full_size)), replace=False))



def scores_of(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Top-1, top-5 and balanced accuracy, in per cent."""
    from sklearn.metrics import balanced_accuracy_score

    predicted = probabilities.argmax(1)
    top5 = (np.argsort(-probabilities, axis=1)[:, :5] == labels[:, None]).any(axis=1)
    return {"n": int(len(labels)), "top1": round(100 * float((predicted == labels).mean()), 1),
            "top5": round(100 * float(top5.mean()), 1),
            "balanced": round(100 * float(balanced_accuracy_score(labels, predicted)), 1)}



def fit_head(x: np.ndarray, y: np.ndarray, weighted: bool, n_classes: int):
    """(scaler, classifier) of the logistic-regression stand-in for the head."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(C=1.0, max_iter=300, tol=1e-3, class_weight="balanced" if weighted else None)
    clf.fit(scaler.transform(x).astype(np.float32), y)
    return scaler, clf



def probabilities_of(model, x: np.ndarray, n_classes: int, prior: np.ndarray | None, tau: float) -> np.ndarray:
    """Class probabilities of the stand-in (every class, in label order), logit-adjusted by ``tau`` * log prior."""
    scaler, clf = model
    p = np.full((len(x), n_classes), 1e-12)
    p[:, clf.classes_] = clf.predict_proba(scaler.transform(x).astype(np.float32))
    if tau and prior is not None:
        p = p / np.power(prior, tau)
        p /= p.sum(axis=1, keepdims=True)
    return p



def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(inside)), np.zeros(len(outside))], np.r_[inside, outside]))


def sinks(labels: np.ndarray, predicted: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Per artist, out of fold: paintings, recall, how often named, and how often that is right."""
    rows = []
    for i, name in enumerate(classes):
        named = predicted == i
        rows.append({"artist": name, "paintings": int((labels == i).sum()),
                     "recall": float((predicted[labels == i] == i).mean()) if (labels == i).any() else np.nan,
                     "named": int(named.sum()),
                     "precision": float((labels[named] == i).mean()) if named.any() else np.nan})
    return pd.DataFrame(rows)



def sink_columns(labels: np.ndarray, probabilities: np.ndarray, classes: list[str], prefix: str) -> pd.DataFrame:
    """``sinks``' named, precision and recall columns of one set of answers, named ``<prefix>named`` and so on."""
    return sinks(labels, probabilities.argmax(1), classes)[["named", "precision", "recall"]].add_prefix(prefix)

def summary_of(labels, probabilities, classes) -> dict:
    """Top-1, top-5, balanced, and the worst precision among artists named at least ``MIN_NAMED`` times."""
    table = sinks(labels, probabilities.argmax(1), classes)
    often = table[table["named"] >= MIN_NAMED]
    worst = often.loc[often["precision"].idxmin()]
    return {**scores_of(labels, probabilities), "worst_precision": round(100 * float(worst["precision"]), 1),
            "worst_precision_artist": worst["artist"], "worst_named": int(worst["named"])}
