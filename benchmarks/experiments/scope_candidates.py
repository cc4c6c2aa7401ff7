"""How the scope score was chosen: candidate scores compared on data that is not the test split.

    python -m benchmarks.experiments.scope_candidates [--bundle assets/model] [--other ../shared/data/not-the-50]

In scope: the bundle's validation paintings. Out of scope: (a) the photos and (b) the other artists'
paintings of the *development half* of ``--other`` (every second file of images.csv; the other half
and the test split are left for ``scope.py``), and (c) "unknown artists" simulated on validation:
10 of the artists left out of the head's training, 3 draws, their validation paintings out of scope.

The head is a stand-in, as in ``cv_training_data.py``: a class-weighted logistic regression on
standardised cached features of the training split (every training variant), so that validation
paintings are unseen (the bundle's own head was refitted on them). Prints AUROC and the share
rejected at a threshold that keeps 95 % of validation paintings, and writes
benchmarks/results/scope_candidates.csv.
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common.paths import DATA, RESULTS, SHIPPED_MODEL


def candidates(train_z, train_labels, x_z, components: int = 128) -> dict[str, np.ndarray]:
    """Each candidate score (higher: more in scope) of standardised features ``x_z``."""
    from scipy.special import logsumexp, softmax
    from sklearn.linear_model import LogisticRegression

    from painting_classifier.scope import fit_scope

    head = LogisticRegression(C=0.01, max_iter=300, class_weight="balanced").fit(train_z, train_labels)
    logits = head.decision_function(x_z)
    top = softmax(logits, axis=1).max(axis=1)
    scope = fit_scope(train_z, x_z, softmax(logits, axis=1), components)  # the shipped painting-likeness
    z = (x_z - scope.mean) / scope.scale
    along = z @ scope.axes.T
    outside = np.sum(np.square(z - along @ scope.axes), axis=1)
    unit = train_z / np.linalg.norm(train_z, axis=1, keepdims=True)
    nearest = np.sort((x_z / np.linalg.norm(x_z, axis=1, keepdims=True)) @ unit.T, axis=1)[:, -5]
    return {"top probability": top, "energy": logsumexp(logits, axis=1), "max logit": logits.max(axis=1),
            "Mahalanobis (PCA 128)": -np.sum(np.square(along) / scope.variances, axis=1),
            "residual (PCA 128)": -np.sqrt(outside), "5th-nearest cosine": nearest,
            "probabilistic PCA": scope.likeness(x_z)}


def with_combination(scores: dict, reference: dict) -> dict:
    """Fill in the chosen combination: both parts standardised on the validation paintings' scores."""
    def standard(name):
        return (scores[name] - reference[name].mean()) / reference[name].std()
    scores["probabilistic PCA + top probability"] = (standard("probabilistic PCA") + standard("top probability")) / 2
    return scores


def rows_for(inside: dict, outside: dict, against: str) -> list[dict]:
    from sklearn.metrics import roc_auc_score

    rows = []
    for name, score in inside.items():
        threshold = np.quantile(score, 0.05)
        truth = np.r_[np.ones(len(score)), np.zeros(len(outside[name]))]
        rows.append({"against": against, "score": name, "n": len(outside[name]),
                     "auroc": roc_auc_score(truth, np.r_[score, outside[name]]),
                     "rejected_at_95_kept": float((outside[name] < threshold).mean())})
    return rows


def main() -> None:
    from painting_classifier import load_bundle
    from painting_classifier.config import default_cache_dir
    from painting_classifier.serving.predict import Predictor
    from painting_classifier.training.features import AS_IS, MIRRORED, Variant, cached_features
    from painting_classifier.training.keras_serving import model_for_serving
    from painting_classifier.training.models import feature_extractor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--other", type=Path, default=DATA / "not-the-50")
    parser.add_argument("--csv", type=Path, default=RESULTS / "scope_candidates.csv")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)

    bundle = load_bundle(args.bundle)
    config, extractor = bundle.config, feature_extractor(bundle.model)
    label_of = {name: i for i, name in enumerate(bundle.classes)}

    def features_of(part, variant):
        paintings = bundle.split[bundle.split["split"] == part]
        return cached_features(lambda: extractor, [str(f) for f in bundle.files(paintings)], paintings["sha1"],
                               config, default_cache_dir(), variant, progress=False)

    variants = [AS_IS, MIRRORED] + [Variant(copy=i, seed=config.seed) for i in range(config.degraded_copies)]
    train = np.concatenate([features_of("train", v) for v in variants])
    train_labels = np.tile([label_of[a] for a in bundle.split.query("split == 'train'")["artist"]], len(variants))
    val, val_labels = features_of("val", AS_IS), np.array([label_of[a] for a in bundle.split.query("split == 'val'")["artist"]])
    catalogue = pd.read_csv(args.other / "images.csv").iloc[::2]  # the development half
    predictor = Predictor(bundle, warm_up=False, model=model_for_serving(bundle, "keras"))
    other = extractor.predict(np.stack([predictor.prepare(args.other / f) for f in catalogue["file"]]).astype(np.float32),
                              batch_size=8, verbose=0)
    mean, scale = train.mean(axis=0), np.maximum(train.std(axis=0), 1e-2)
    z = lambda x: (x - mean) / scale  # noqa: E731
    inside = candidates(z(train), train_labels, z(val))
    inside = with_combination(inside, inside)
    outside = with_combination(candidates(z(train), train_labels, z(other)), inside)
    rows = []
    for group, name in (("photos", "photos"), ("other_art", "other artists")):
        mask = (catalogue["group"] == group).to_numpy()
        rows += rows_for(inside, {k: v[mask] for k, v in outside.items()}, name)
    rng = np.random.default_rng(0)
    for draw in range(3):  # unknown artists, simulated
        left_out = rng.choice(len(bundle.classes), 10, replace=False)
        kept = ~np.isin(train_labels, left_out)
        unseen_mask = np.isin(val_labels, left_out)
        seen = candidates(z(train[kept]), train_labels[kept], z(val))
        seen = with_combination(seen, {k: v[~unseen_mask] for k, v in seen.items()})
        rows += rows_for({k: v[~unseen_mask] for k, v in seen.items()}, {k: v[unseen_mask] for k, v in seen.items()},
                         f"unknown artists (draw {draw + 1})")
    table = pd.DataFrame(rows)
    table["against"] = table["against"].str.replace(r" \(draw \d\)", "", regex=True)
    summary = table.groupby(["against", "score"], sort=False)[["n", "auroc", "rejected_at_95_kept"]].mean().round(3)
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(args.csv)
    print(summary.to_string())


if __name__ == "__main__":
    main()
