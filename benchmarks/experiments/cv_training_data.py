"""Training data and degraded copies, cross-validated: the sample alone or with ``more-paintings``,
with 0 or 3 upload-like copies per painting.

    python -m benchmarks.experiments.cv_training_data --bundle B [--folds 5]

``B`` is a bundle trained on the sample with ``--train-only more-paintings`` (its split.csv names
both folders; the sample's test split is never read). The sample's train + validation paintings
are cut into artist-stratified folds, near-duplicate groups kept whole; each fold is scored by a
class-weighted logistic regression on standardised cached head features (the default recipe's
features; its copies must be cached, e.g. by training that bundle). ``more-paintings`` joins every
fold's training side, minus any painting grouped with one of the fold's held-out paintings.
Held-out paintings of the bundle's validation split are also scored as the real-world uploads of
``real_world.py`` (their features cached by ``upload_mix.py``). Writes
benchmarks/results/cv_training_data.csv.
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common.paths import RESULTS

SAMPLE = "best-artworks-sample"


def folds_of(paintings: pd.DataFrame, n_folds: int) -> np.ndarray:
    """Fold of each painting: groups dealt out round-robin within each artist, in a seeded order."""
    rng = np.random.default_rng(0)
    fold = np.zeros(len(paintings), int)
    for _, rows in paintings.groupby("artist"):
        groups = rows["group"].unique()
        for i, group in enumerate(rng.permutation(groups)):
            fold[np.flatnonzero((paintings["group"] == group).to_numpy())] = i % n_folds
    return fold


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.preprocessing import StandardScaler

    from benchmarks.common.uploads import KINDS, UploadVariant
    from painting_classifier import load_bundle
    from painting_classifier.config import default_cache_dir, recipe
    from painting_classifier.training.features import AS_IS, MIRRORED, Variant, cached_features

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--copies", default="0,1,2,3", help="copy counts to compare")
    parser.add_argument("--backbone", default="lite0", help="the default recipe with this backbone (e.g. lite2)")
    parser.add_argument("--compute", action="store_true", help="compute features that are not cached yet")
    parser.add_argument("--no-uploads", action="store_true", help="score clean paintings only")
    parser.add_argument("--no-mirror", action="store_true", help="train without the mirrored paintings")
    parser.add_argument("--csv", type=Path, default=RESULTS / "cv_training_data.csv")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    bundle = load_bundle(args.bundle)
    table = bundle.split[bundle.split["split"] != "test"].reset_index(drop=True)
    table["label"] = table["artist"].map(bundle.classes.index)
    files = [str(f) for f in bundle.files(table)]
    config = recipe("default")
    config.backbone = args.backbone

    def missing():
        if not args.compute:
            raise RuntimeError("features are not cached: train the bundle with these copies first, or --compute")
        from painting_classifier.training.models import build_model, feature_extractor
        return feature_extractor(build_model(config, len(bundle.classes)))

    def features(variant):
        return cached_features(missing, files, table["sha1"], config, default_cache_dir(), variant,
                               progress=args.compute)

    sample = (table["source"] == SAMPLE).to_numpy()
    fold = np.full(len(table), -1)
    fold[sample] = folds_of(table[sample].reset_index(drop=True), args.folds)
    y = table["label"].to_numpy()
    clean = features(AS_IS)
    val = np.flatnonzero((table["split"] == "val").to_numpy() & sample)
    uploads = {kind: cached_features(missing, [files[i] for i in val], table["sha1"].iloc[val], config,
                                     default_cache_dir(), UploadVariant(kind), progress=False)
               for kind in KINDS if kind != "clean" and not args.no_uploads}
    rows = []
    for copies in [int(c) for c in args.copies.split(",")]:
        variants = [features(v) for v in [AS_IS] + [MIRRORED] * (not args.no_mirror)
                    + [Variant(copy=i, seed=config.seed) for i in range(copies)]]
        for with_more in (False, True):
            probs = np.zeros((len(y), len(bundle.classes)))
            upload_hits = {kind: 0 for kind in uploads}
            for k in range(args.folds):
                held_out = fold == k
                train = (fold >= 0) & ~held_out
                if with_more:
                    train |= ~sample & ~table["group"].isin(table.loc[held_out, "group"]).to_numpy()
                x = np.concatenate([v[train] for v in variants])
                scaler = StandardScaler().fit(x)
                clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
                clf.fit(scaler.transform(x), np.tile(y[train], len(variants)))
                probs[np.ix_(held_out, clf.classes_)] = clf.predict_proba(scaler.transform(clean[held_out]))
                mine = np.isin(val, np.flatnonzero(held_out))
                for kind, x_upload in uploads.items():
                    predicted = clf.classes_[clf.predict_proba(scaler.transform(x_upload[mine])).argmax(1)]
                    upload_hits[kind] += int((predicted == y[val[mine]]).sum())
            scored = fold >= 0
            pred = probs[scored].argmax(1)
            top5 = (np.argsort(-probs[scored], axis=1)[:, :5] == y[scored, None]).any(axis=1).mean()
            rows.append({"training data": "sample + more-paintings" if with_more else "sample only",
                         "copies": copies, "paintings scored": int(scored.sum()),
                         "cv_top1": round(float((pred == y[scored]).mean()), 3), "cv_top5": round(float(top5), 3),
                         "cv_balanced": round(float(balanced_accuracy_score(y[scored], pred)), 3),
                         "backbone": args.backbone,
                         "uploads_top1_mean": round(sum(upload_hits.values()) / len(uploads) / len(val), 3)
                         if uploads else None,
                         **{f"{kind}_top1": round(hits / len(val), 3) for kind, hits in upload_hits.items()}})
            print(rows[-1], flush=True)
    pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
