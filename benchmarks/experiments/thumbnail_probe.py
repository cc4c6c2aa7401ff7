"""Probe for #23's thumbnail loss: every full-size training painting also as a squashed thumbnail, and every
painting also in black and white.

    python -m benchmarks.experiments.thumbnail_probe

more-paintings-2's squashed 224 px JPEG-50 copies make small soft pictures a cue for the artists who have many
of them (256 px thumbnails lost 23 points of test top-1 with the retrained model). This adds to the training side
of ``cv_retrain.py``'s folds (same folds, same logistic-regression stand-in, class weights) one more variant of
each painting of the sample and more-paintings: squashed to 256 x 256 and stored at JPEG 50, as more-paintings-2's
copies are (``photo_effects.squashed``); and then a black-and-white copy of every painting too. It scores out of fold
on clean paintings and on 400 of them as uploads (the loss against clean, top-1 points). The recipe's
``thumbnail_copies`` and ``grayscale_copies`` were chosen on it. Writes benchmarks/results/thumbnail_probe.json.
"""
import json
import warnings

import numpy as np

from benchmarks.common import folds as cv
from benchmarks.common.paths import RESULTS
from benchmarks.common.provenance import provenance

ROWS = {"as shipped": (), "with a squashed copy of every full-size painting": ("squashed",),
        "with a squashed copy of every full-size painting and a black-and-white copy of every painting":
            ("squashed", "grayscale")}


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from benchmarks.common.uploads import UploadVariant
    from painting_classifier.config import default_cache_dir, recipe
    from painting_classifier.training.features import AS_IS, RECODED, RECODED_MIRRORED, SQUASHED, Variant

    warnings.filterwarnings("ignore")
    config, cache = recipe("default"), default_cache_dir()
    extractor, features = cv.feature_source(config, cache)

    dataset, pool = cv.pool_of_paintings(config, cache)
    files, y = dataset.files(pool), pool["label"].to_numpy()
    fold = cv.folds_of(pool["group"], pool["artist"], 5)
    full_size = np.isin(pool["source"].to_numpy(), [cv.SAMPLE, cv.MORE])
    train_x = [features(files, pool["sha1"], v) for v in (RECODED, RECODED_MIRRORED, Variant(copy=0, seed=42))]
    clean_x = features(files, pool["sha1"], AS_IS)
    sized = np.flatnonzero(full_size)
    squashed_x = np.zeros_like(clean_x)
    squashed_x[sized] = features([files[i] for i in sized], pool["sha1"].iloc[sized], SQUASHED)
    gray_x = features(files, pool["sha1"], Variant(recoded=True, grayscale=True))
    rows = cv.upload_rows_of(pool, 400)
    kinds = ["thumbnail", "screenshot", "bw", "rotated", "detail"]
    uploads = {k: features([files[i] for i in rows], pool["sha1"].iloc[rows], UploadVariant(k)) for k in kinds}
    results = []
    for name, extra in ROWS.items():
        probs = np.zeros((len(pool), 50))
        upload_probs = {k: np.zeros((len(rows), 50)) for k in kinds}
        for k in range(5):
            held, train = fold == k, fold != k
            xs, ys = [x[train] for x in train_x], [y[train]] * len(train_x)
            if "squashed" in extra:
                xs.append(squashed_x[train & full_size])
                ys.append(y[train & full_size])
            if "grayscale" in extra:
                xs.append(gray_x[train])
                ys.append(y[train])
            x, labels = np.concatenate(xs), np.concatenate(ys)
            scaler = StandardScaler().fit(x)
            clf = LogisticRegression(C=1.0, max_iter=300, tol=1e-3, class_weight="balanced")
            clf.fit(scaler.transform(x).astype(np.float32), labels)
            probs[held] = clf.predict_proba(scaler.transform(clean_x[held]).astype(np.float32))
            mine = held[rows]
            for kind in kinds:
                upload_probs[kind][mine] = clf.predict_proba(scaler.transform(uploads[kind][mine]).astype(np.float32))
        clean_400 = cv.scores_of(y[rows], probs[rows])["top1"]
        results.append({"training": name,
                        "clean": cv.scores_of(y[full_size], probs[full_size]), "clean_uploads_400_top1": clean_400,
                        "upload_loss_top1": {kind: round(clean_400 - cv.scores_of(y[rows], p)["top1"], 1)
                                             for kind, p in upload_probs.items()}})
        print(json.dumps(results[-1]), flush=True)
    out = RESULTS / "thumbnail_probe.json"
    out.write_text(json.dumps({**provenance(None, 1), "folds": 5, "uploads_scored": len(rows), "rows": results},
                              indent=1))

if __name__ == "__main__":
    main()
