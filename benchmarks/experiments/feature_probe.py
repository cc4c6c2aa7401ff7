"""Which views and backbones carry the artist? 5-fold cross-validation on cached features.

    python -m benchmarks.experiments.feature_probe [--data ../shared/data/best-artworks-sample] [--bundle assets/model]

Uses the train + validation paintings of the bundle's split only (the test split is never read),
computes (or reuses) the pipeline's cached backbone features, and scores a class-weighted logistic
regression (scikit-learn, C = 1, trained on paintings and their mirror images) per feature set with
artist-stratified 5-fold cross-validation. Much less noisy than the 127-painting validation split.
Writes benchmarks/results/feature_probe.csv.
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common.paths import DATA, RESULTS, SHIPPED_MODEL

DIM = 1280  # EfficientNet-Lite pooled feature width; style statistics follow it in each scale block
# name -> [(backbone, scales of the cached features, style statistics cached?, which scale blocks, which part)]
# part: "gap" = pooled top features, "style" = style statistics, "all" = every cached column;
# an optional 6th item: other Config settings, e.g. {"border": 16}
FEATURE_SETS = {
    "lite0 whole painting": [("lite0", [1, 2, 3], False, [0], "gap")],
    "lite0 2x tiles": [("lite0", [1, 2, 3], False, [1], "gap")],
    "lite0 3x tiles": [("lite0", [1, 2, 3], False, [2], "gap")],
    "lite0 whole + 2x": [("lite0", [1, 2, 3], False, [0, 1], "gap")],
    "lite0 2x + 3x": [("lite0", [1, 2, 3], False, [1, 2], "gap")],
    "lite0 whole + 2x + 3x": [("lite0", [1, 2, 3], False, [0, 1, 2], "gap")],
    "lite2 whole painting": [("lite2", [1, 2], False, [0], "gap")],
    "lite2 2x tiles": [("lite2", [1, 2], False, [1], "gap")],
    "lite2 whole + 2x": [("lite2", [1, 2], False, [0, 1], "gap")],
    "lite0 whole+2x+3x & lite2 whole+2x": [("lite0", [1, 2, 3], False, [0, 1, 2], "gap"),
                                           ("lite2", [1, 2], False, [0, 1], "gap")],
    "lite0 style statistics, whole painting": [("lite0", [1, 2], True, [0], "style")],
    "lite0 style statistics, whole + 2x": [("lite0", [1, 2], True, [0, 1], "style")],
    "lite0 whole + 2x, pooled + style statistics": [("lite0", [1, 2], True, [0, 1], "all")],
    "lite0 whole + 2x, pooled + style statistics, 16 px border cut": [
        ("lite0", [1, 2], True, [0, 1], "all", {"border": 16})],
    "lite0 whole + 2x + 3x, pooled + style statistics": [("lite0", [1, 2, 3], True, [0, 1, 2], "all")],
    "lite2 whole + 2x, pooled + style statistics": [("lite2", [1, 2], True, [0, 1], "all")],
    "lite2 style statistics, whole + 2x": [("lite2", [1, 2], True, [0, 1], "style")],
    "lite2 style statistics only (no top convolution), whole + 2x, 224 px views": [
        ("lite2", [1, 2], True, [0, 1], "all", {"pooled_features": False, "view_size": 224})],
    "lite0 & lite2 whole + 2x, pooled + style statistics": [("lite0", [1, 2], True, [0, 1], "all"),
                                                            ("lite2", [1, 2], True, [0, 1], "all")],
}


def columns(width: int, blocks: list[int], part: str) -> list[int]:
    """Positions of the chosen scale blocks and part in a cached feature vector of ``width`` per scale."""
    start, stop = {"gap": (0, DIM), "style": (DIM, width), "all": (0, width)}[part]
    return [k * width + c for k in blocks for c in range(start, stop)]


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    from painting_classifier import Config, load_bundle
    from painting_classifier.config import default_cache_dir
    from painting_classifier.training.features import AS_IS, MIRRORED, cached_features
    from painting_classifier.training.models import build_model, feature_extractor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "best-artworks-sample")
    parser.add_argument("--bundle", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only", help="score only the feature sets whose names contain this text "
                        "(their rows replace the old ones in the CSV)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    bundle = load_bundle(args.bundle)
    paintings = bundle.split[bundle.split["split"] != "test"].reset_index(drop=True)
    y = paintings["artist"].map(bundle.classes.index).to_numpy()
    rng = np.random.default_rng(0)
    fold = np.zeros(len(paintings), int)
    for idx in paintings.groupby("artist").indices.values():  # artist-stratified folds
        fold[rng.permutation(idx)] = np.arange(len(idx)) % args.folds

    cache: dict = {}

    def features(backbone, scales, style, flip, settings=None):
        settings = settings or {}
        key = (backbone, tuple(scales), style, flip, tuple(sorted(settings.items())))
        if key not in cache:
            config = Config(backbone=backbone, scales=scales, style_stats=style, **settings)

            def extractor():
                return feature_extractor(build_model(config, len(bundle.classes)))
            files = [str(args.data.resolve() / path) for path in paintings["path"]]
            cache[key] = cached_features(extractor, files, paintings["sha1"], config, default_cache_dir(),
                                         MIRRORED if flip else AS_IS, progress=True)
        return cache[key]

    def feature_set(parts, flip):
        chosen = []
        for backbone, scales, style, blocks, part, *settings in parts:
            cached = features(backbone, scales, style, flip, *settings)
            chosen.append(cached[:, columns(cached.shape[1] // len(scales), blocks, part)])
        return np.concatenate(chosen, axis=1)

    rows = []
    for name, parts in FEATURE_SETS.items():
        if args.only and args.only not in name:
            continue
        x, x_flip = feature_set(parts, False), feature_set(parts, True)
        probs = np.zeros((len(y), len(bundle.classes)))
        for k in range(args.folds):
            train, held_out = fold != k, fold == k
            clf = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced")
            clf.fit(np.concatenate([x[train], x_flip[train]]), np.concatenate([y[train], y[train]]))
            probs[np.ix_(held_out, clf.classes_)] = clf.predict_proba(x[held_out])
        pred = probs.argmax(1)
        top5 = np.mean([t in np.argsort(-p)[:5] for t, p in zip(y, probs)])
        rows.append({"features": name, "dims": x.shape[1], "cv_top1": round(float(np.mean(pred == y)), 3),
                     "cv_top5": round(float(top5), 3), "cv_balanced": round(balanced_accuracy_score(y, pred), 3)})
        print(rows[-1], flush=True)
    out = RESULTS / "feature_probe.csv"
    table = pd.DataFrame(rows)
    if args.only and out.is_file():
        old = pd.read_csv(out)
        table = pd.concat([old[~old["features"].isin(table["features"])], table], ignore_index=True)
    table.to_csv(out, index=False)
    print(table.to_string(index=False))

if __name__ == "__main__":
    main()
