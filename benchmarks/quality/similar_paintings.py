"""Do the painters of the most similar paintings name an unseen painting better than the head alone?

    python -m benchmarks.quality.similar_paintings [--model assets/model] [--folds 5]

Cross-validation on the bundle's training and validation paintings of the 50 (the test split stays out), in
artist-stratified folds that keep near-duplicate groups whole, joined also by every copy the recognition's check
verifies (a detail and its whole). In each fold the logistic-regression stand-in of the head learns on the other
folds' features, and the held-out paintings' nearest neighbours come from a gallery without the held-out fold
(other-artists' paintings stay in it, as in the shipped gallery). The answer blends the head's probabilities with
the neighbours' painters (``serving/similar.py``: share ``BLEND``, neighbour weights ``SHARPNESS``), for a grid of
both. The neighbours concentrate the answer on a few painters, which costs top-5: the grid point is chosen on the
folds' mean balanced accuracy among those that lose at most ``TOP5_LOSS`` points of top-5; it wins where it beats
the head alone in top-1 and balanced accuracy. The stand-in is weaker than the trained head: ``--head-probabilities``
takes the real head's out-of-fold probabilities instead (``experiments/cv_fine_tune.py`` saves them, in the same
pool and folds, for the bundle it ran on), and the served share (``similar.BLEND``) follows that run. Writes
benchmarks/results/similar_paintings_cv.json (with the real head: similar_paintings_cv_real_head.json, with the
served blend's sinks out of fold, and per artist in similar_paintings_artists.csv).
"""
from __future__ import annotations

import argparse
import json
import types
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common.copies import gallery_table, honest_groups, verified_gallery_pairs
from benchmarks.common.folds import fit_head, folds_of, probabilities_of, scores_of, sink_columns, sinks, summary_of
from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance

SHARES = (0.0, 0.2, 0.3, 0.4, 0.5, 0.7)
SHARPNESSES = (0.02, 0.05, 0.1)
TOP5_LOSS = 1.0  # top-5 points a blend may cost


def gallery_features(predictor, gallery) -> np.ndarray:
    """The model's features of every gallery painting, cached by model and paintings."""
    from painting_classifier.config import default_cache_dir
    from painting_classifier.serving.similar import model_features, paintings_key

    path = default_cache_dir() / "gallery-features" / f"{predictor.bundle.checksum[:16]}-{paintings_key(gallery)}.npy"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        files = [gallery.file_of(i) for i in range(len(gallery))]
        np.save(path, model_features(predictor, files).astype(np.float32))
    return np.load(path)


def neighbours_in(vectors: np.ndarray, rows: np.ndarray, queries: np.ndarray, paintings: pd.DataFrame):
    """The neighbours (``SimilarPaintings.nearest``) of each query vector among gallery ``rows`` only."""
    from painting_classifier.serving.similar import NEIGHBOURS, SimilarPaintings

    kept = types.SimpleNamespace(paintings=paintings.iloc[rows].reset_index(drop=True))
    search = SimilarPaintings(None, [(kept, vectors[rows].astype(np.float32))])
    return [search.nearest(query, NEIGHBOURS) for query in queries]


def fold_scores(head: np.ndarray, neighbours: list, labels: np.ndarray, names: list[str]) -> dict:
    """Scores of the held-out paintings for every (share, sharpness) of the grid."""
    from painting_classifier.serving.similar import blended as blend

    found = {}
    for sharpness in SHARPNESSES:
        for share in SHARES:
            blended = np.stack([blend(p, n, names, share, sharpness) for p, n in zip(head, neighbours)])
            found[f"{share}/{sharpness}"] = scores_of(labels, blended)
    return found


def grouping_effect(features, labels, pool, table, folds: int, classes: int) -> dict:
    """The head alone in folds that keep only the embedding's near-duplicate groups whole (how cross-validation split
    before the verified copies joined a detail and its whole)."""
    fold = folds_of(table["group"].iloc[pool].reset_index(drop=True), pd.Series(labels[pool]), folds)
    scores = []
    for f in range(folds):
        held, kept = pool[fold == f], pool[fold != f]
        head = probabilities_of(fit_head(features[kept], labels[kept], True, classes), features[held], classes, None, 0)
        scores.append(scores_of(labels[held], head))
    return {metric: round(float(np.mean([s[metric] for s in scores])), 1) for metric in ("top1", "top5", "balanced")}


def artists_csv(labels: np.ndarray, head: np.ndarray, served: np.ndarray, classes: list[str]) -> None:
    """Per artist, out of fold: how often named and rightly, and recall, the head alone and as served (blended)."""
    table = sinks(labels, head.argmax(1), classes).join(sink_columns(labels, served, classes, "served_"))
    table.round(3).to_csv(RESULTS / "similar_paintings_artists.csv", index=False)


def main(argv: list[str] | None = None) -> dict:
    from painting_classifier.artists import normalise_name
    from painting_classifier.serving import similar as similar_module
    from painting_classifier.serving.predict import Predictor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--head-probabilities", type=Path, default=None, metavar="NPY",
                        help="the real head's out-of-fold probabilities of the pool (cv_fine_tune/<bundle checksum>/"
                             "<candidate>.npy in the cache)")
    args = parser.parse_args(argv)
    real_head = np.load(args.head_probabilities) if args.head_probabilities else None
    args.json = args.json or RESULTS / ("similar_paintings_cv_real_head.json" if real_head is not None
                                        else "similar_paintings_cv.json")

    predictor = Predictor.from_bundle(args.model, similar=None)
    gallery, bundle = predictor.gallery, predictor.bundle
    features = gallery_features(predictor, gallery)
    vectors = similar_module.vectors_of(bundle.scope, features).astype(np.float16)
    table = gallery_table(gallery, bundle)
    keys = {normalise_name(c): i for i, c in enumerate(bundle.classes)}
    labels = table["artist"].map(lambda a: keys.get(normalise_name(a), -1)).to_numpy()
    pairs = verified_gallery_pairs(gallery)
    groups = honest_groups(table, pairs)
    pool = np.flatnonzero(table["split"].isin(["train", "val"]).to_numpy() & (labels >= 0))
    others = np.flatnonzero(labels < 0)
    fold = folds_of(pd.Series(groups[pool]), pd.Series(labels[pool]), args.folds)
    if real_head is not None and real_head.shape != (len(pool), len(keys)):
        raise SystemExit(f"{args.head_probabilities}: {real_head.shape}, not the pool's {(len(pool), len(keys))}")
    before = grouping_effect(features, labels, pool, table, args.folds, len(keys)) if real_head is None else None
    per_fold, served = [], np.zeros((len(pool), len(keys)), np.float32)
    for f in range(args.folds):
        held, kept = pool[fold == f], pool[fold != f]
        head = real_head[fold == f] if real_head is not None else probabilities_of(
            fit_head(features[kept], labels[kept], True, len(keys)), features[held], len(keys), None, 0)
        neighbours = neighbours_in(vectors, np.r_[kept, others], vectors[held], table)
        per_fold.append(fold_scores(head, neighbours, labels[held], predictor.names))
        served[fold == f] = np.stack([similar_module.blended(p, n, predictor.names) for p, n in zip(head, neighbours)])
        print(f"fold {f}: head {per_fold[-1]['0.0/0.02']}", flush=True)
    grid = {key: {metric: round(float(np.mean([scores[key][metric] for scores in per_fold])), 1)
                  for metric in ("top1", "top5", "balanced")} for key in per_fold[0]}
    head_alone = grid["0.0/0.02"]
    allowed = [key for key in grid if not key.startswith("0.0/") and grid[key]["top5"] >= head_alone["top5"] - TOP5_LOSS]
    best = max(allowed, key=lambda key: grid[key]["balanced"])
    wins = grid[best]["top1"] > head_alone["top1"] and grid[best]["balanced"] > head_alone["balanced"]
    report = {**provenance(bundle.checksum, runs=1), "folds": args.folds, "paintings": len(pool),
              "neighbours": similar_module.NEIGHBOURS, "verified_pairs": len(pairs),
              "groups": len(np.unique(groups[pool])), "head": "real (out of fold)" if real_head is not None
              else "logistic-regression stand-in", "head_alone": head_alone,
              "head_alone_with_embedding_groups_only": before,
              "top5_loss_allowed": TOP5_LOSS, "best": {"share/sharpness": best, **grid[best]}, "wins_on_cv": bool(wins),
              "served": {"share": similar_module.BLEND, "sharpness": similar_module.SHARPNESS},
              "grid_mean": grid, "per_fold": [{key: scores[key] for key in ("0.0/0.02", best)} for scores in per_fold]}
    if real_head is not None:  # the sinks, head alone and as served
        report["out_of_fold"] = {"head": summary_of(labels[pool], real_head, list(bundle.classes)),
                                 "served": summary_of(labels[pool], served, list(bundle.classes))}
        artists_csv(labels[pool], real_head, served, list(bundle.classes))
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: report[k] for k in ("head_alone", "head_alone_with_embedding_groups_only", "best", "wins_on_cv",
                                             "served")}, indent=1))
    return report


if __name__ == "__main__":
    main()
