"""The one retrain of #19/#23/#24, chosen by cross-validation: training data, class balance and the scope
score's style signal against other painters.

    python -m benchmarks.experiments.cv_retrain [--folds 5] [--uploads 400] [--compute]

**Paintings**: best-artworks-sample's train + validation paintings under the default recipe's seed split
(its test split is never read), more-paintings and more-paintings-2, near-duplicate groups kept whole, dealt
into artist-stratified folds. A candidate head is a logistic regression on the standardised cached head
features (the stand-in of ``cv_training_data.py``), trained on the other folds' training variants (re-encoded,
mirrored, one degraded copy: the default recipe's) and scored out of fold on paintings as they are, per
source, and on a seeded subset of the sample's and more-paintings' held-out paintings as every real-world
upload kind of ``real_world.py`` (through the serving crop, without the museum search).

**Scope**: other-artists is dealt into folds by artist, so each fold's negatives are painters the scope
score never saw. Fold k fits the scope score (``scope.fit_scope``) on the training side of fold k of both
and the chosen head's fold-k model; the threshold keeps 95 % of fold k's held-out paintings of the 50, and
the share of fold k's other painters below it is "rejected". Candidates: the style signal's weight
(0 = today's score) and its regularisation C.

Writes benchmarks/results/cv_retrain.json.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common.folds import (
    MORE,
    MORE_2,
    SAMPLE,
    auroc,
    feature_source,
    fit_head,
    folds_of,
    pool_of_paintings,
    probabilities_of,
    scores_of,
    upload_rows_of,
)
from benchmarks.common.paths import DATA, RESULTS
from benchmarks.common.provenance import provenance

HEADS = {  # name: (sources trained on, class weights, logit adjustment)
    "sample + more-paintings": ((SAMPLE, MORE), True, 0.0),
    "+ more-paintings-2": ((SAMPLE, MORE, MORE_2), True, 0.0),
    "+ more-paintings-2, no class weights": ((SAMPLE, MORE, MORE_2), False, 0.0),
    "+ more-paintings-2, logit-adjusted": ((SAMPLE, MORE, MORE_2), False, 1.0),
}
TIE = 1.0  # points of merit within which the simpler head is kept (top-1 on 1,571 paintings: +-1.2 points)
STYLE_WEIGHTS = (0.0, 1.0, 2.0, 4.0)
STYLE_CS = (1e-3, 1e-2)


def main() -> None:
    from benchmarks.common.uploads import KINDS, UploadVariant
    from painting_classifier.config import default_cache_dir, recipe
    from painting_classifier.scope import fit_scope
    from painting_classifier.training.data import sha1_of_file
    from painting_classifier.training.features import AS_IS, RECODED, RECODED_MIRRORED, Variant

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--uploads", type=int, default=400, help="held-out paintings scored as uploads")
    parser.add_argument("--compute", action="store_true", help="compute features that are not cached yet")
    parser.add_argument("--heads", default=";".join(HEADS), help="head candidates, separated by ;")
    parser.add_argument("--json", type=Path, default=RESULTS / "cv_retrain.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    started = time.time()
    config, cache = recipe("default"), default_cache_dir()

    _, features = feature_source(config, cache, args.compute)
    dataset, pool = pool_of_paintings(config, cache)
    n_classes = len(dataset.classes)
    files, y = dataset.files(pool), pool["label"].to_numpy()
    fold = folds_of(pool["group"], pool["artist"], args.folds)
    training_variants = [RECODED, RECODED_MIRRORED, Variant(copy=0, seed=config.seed)]
    clean_x = features(files, pool["sha1"], AS_IS)
    source = pool["source"].to_numpy()
    upload_rows = upload_rows_of(pool, args.uploads)
    kinds = [k for k in KINDS if k != "clean"]
    upload_x = {kind: features([files[i] for i in upload_rows], pool["sha1"].iloc[upload_rows],
                               UploadVariant(kind)) for kind in kinds}
    negatives = sorted((DATA / "other-artists" / "images").glob("*/*"))
    neg = pd.DataFrame({"file": [str(f) for f in negatives], "artist": [f.parent.name for f in negatives]})
    neg["sha1"] = [sha1_of_file(f) for f in negatives]
    neg_clean_x = features(neg["file"], neg["sha1"], AS_IS)
    neg_train_x = [features(neg["file"], neg["sha1"], v) for v in training_variants]
    train_x = [features(files, pool["sha1"], v) for v in training_variants]

    heads, fold_models = {}, {}
    fits: dict = {}  # (sources, weighted, fold) -> fitted stand-in: logit adjustment reuses the unweighted fit
    for name in args.heads.split(";"):
        sources, weighted, tau = HEADS[name]
        probs = np.zeros((len(pool), n_classes))
        upload_probs = {kind: np.zeros((len(upload_rows), n_classes)) for kind in kinds}
        for k in range(args.folds):
            held = fold == k
            train = ~held & np.isin(source, sources)
            if (sources, weighted, k) not in fits:
                fits[sources, weighted, k] = fit_head(np.concatenate([x[train] for x in train_x]),
                                                      np.tile(y[train], len(train_x)), weighted, n_classes)
            model = fits[sources, weighted, k]
            prior = np.bincount(y[train], minlength=n_classes) / train.sum()
            fold_models[name, k] = (model, prior, tau)
            probs[held] = probabilities_of(model, clean_x[held], n_classes, prior, tau)
            mine = held[upload_rows]
            for kind in kinds:
                upload_probs[kind][mine] = probabilities_of(model, upload_x[kind][mine], n_classes, prior, tau)
            print(f"{name}: fold {k} done ({time.time() - started:.0f} s)", flush=True)
        heads[name] = head_scores(y, probs, source, upload_rows, upload_probs, dataset.classes)
        heads[name]["merit"] = round(merit(heads[name]), 2)
        print(name, json.dumps({k: v for k, v in heads[name].items() if k != "per_artist_recall"}), flush=True)
    chosen = chosen_head(heads)

    neg_fold = np.zeros(len(neg), int)
    order = np.random.default_rng(1).permutation(sorted(neg["artist"].unique()))
    for i, artist in enumerate(order):
        neg_fold[(neg["artist"] == artist).to_numpy()] = i % args.folds
    scope = scope_candidates(fold_models, chosen, args.folds, fold, source, HEADS[chosen][0], train_x, clean_x,
                             neg_fold, neg_train_x, neg_clean_x, n_classes, fit_scope)
    result = {**provenance(None, 1), "folds": args.folds, "paintings": {s: int((source == s).sum()) for s in
                                                                       (SAMPLE, MORE, MORE_2)},
              "other_artists": {"paintings": len(neg), "artists": int(neg["artist"].nunique())},
              "uploads_scored": len(upload_rows), "heads": heads, "chosen_head": chosen, "scope": scope,
              "seconds": round(time.time() - started)}
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(scope, indent=1))


def merit(scores: dict) -> float:
    """What a head is chosen on: the mean of clean top-1 and balanced accuracy (sample + more-paintings) and
    top-1 over every upload kind, out of fold."""
    clean = scores["sample + more-paintings"]
    uploads = [v["top1"] for k, v in scores["uploads"].items() if k != "clean"]
    return (clean["top1"] + clean["balanced"] + float(np.mean(uploads))) / 3


def chosen_head(heads: dict) -> str:
    """The first candidate (in the order of HEADS: simplest first) within ``TIE`` points of the best merit."""
    best = max(merit(h) for h in heads.values())
    return next(name for name, h in heads.items() if merit(h) >= best - TIE)


def head_scores(y, probs, source, upload_rows, upload_probs, classes) -> dict:
    """One candidate's out-of-fold figures: per source, as uploads (and the loss against clean), per artist."""
    clean_sources = np.isin(source, [SAMPLE, MORE])
    clean_upload = scores_of(y[upload_rows], probs[upload_rows])
    return {
        "sample + more-paintings": scores_of(y[clean_sources], probs[clean_sources]),
        "sample": scores_of(y[source == SAMPLE], probs[source == SAMPLE]),
        "more-paintings-2": scores_of(y[source == MORE_2], probs[source == MORE_2]),
        "uploads": {"clean": clean_upload, **{kind: scores_of(y[upload_rows], p) for kind, p in upload_probs.items()}},
        "upload_loss_top1": {kind: round(clean_upload["top1"] - scores_of(y[upload_rows], p)["top1"], 1)
                             for kind, p in upload_probs.items()},
        "per_artist_recall": recall_per_artist(y[clean_sources], probs[clean_sources], classes),
    }


def recall_per_artist(labels: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> dict:
    """Out-of-fold recall and precision of each artist, in per cent."""
    predicted = probabilities.argmax(1)
    table = {}
    for i, name in enumerate(classes):
        mine, said = labels == i, predicted == i
        table[name] = {"n": int(mine.sum()),
                       "recall": round(100 * float((predicted[mine] == i).mean()), 1) if mine.any() else None,
                       "precision": round(100 * float((labels[said] == i).mean()), 1) if said.any() else None}
    return table


def scope_candidates(fold_models, chosen, n_folds, fold, source, sources, train_x, clean_x, neg_fold, neg_train_x,
                     neg_clean_x, n_classes, fit_scope) -> dict:
    """Artist-held-out rejection of other painters and AUROC for each style weight and C, over the folds (the
    principal axes fitted once per fold; the style signal once per fold and C)."""
    from painting_classifier.scope import _style_signal

    inside, outside, rejected = {}, {}, {}
    for k in range(n_folds):
        model, prior, tau = fold_models[chosen, k]
        held, train = fold == k, (fold != k) & np.isin(source, sources)
        positives = np.concatenate([x[train] for x in train_x])
        negatives = np.concatenate([x[neg_fold != k] for x in neg_train_x])
        held_x, neg_x = clean_x[held], neg_clean_x[neg_fold == k]
        held_probs = probabilities_of(model, held_x, n_classes, prior, tau)
        neg_probs = probabilities_of(model, neg_x, n_classes, prior, tau)
        scope = fit_scope(positives, held_x, held_probs)  # thresholds on the held-out paintings of the 50
        for c in STYLE_CS:
            scope.other_weights, scope.other_bias = _style_signal(scope, positives, negatives, c)
            style = scope.style(held_x)
            scope.other_stats = np.array([style.mean(), max(style.std(), 1e-6)])
            for w in STYLE_WEIGHTS:
                scope.other_weight = w
                pos_score, neg_score = scope.scores(held_x, held_probs), scope.scores(neg_x, neg_probs)
                threshold = np.quantile(pos_score, 0.05)
                rejected.setdefault((w, c), []).append(float((neg_score < threshold).mean()))
                inside.setdefault((w, c), []).append(pos_score - threshold)  # pooled relative to each fold's threshold
                outside.setdefault((w, c), []).append(neg_score - threshold)
            print(f"scope: fold {k}, C={c} done", flush=True)
    return {f"weight {w:g}, C {c:g}": {
        "weight": w, "C": c, "rejected_other_artists": round(100 * float(np.mean(rejected[w, c])), 1),
        "auroc": round(auroc(np.concatenate(inside[w, c]), np.concatenate(outside[w, c])), 3)}
        for (w, c) in rejected}


if __name__ == "__main__":
    main()
