"""Probe for #24: would training copies that look like museum photos teach the head to name the painter of a
real visitor's photo, once the painting is found in it?

    python -m benchmarks.experiments.museum_probe

The development photos say the finder is not the whole story: given a hand-drawn box around the painting
(``museum_photos.DEV_BOXES``), session 10's model named 8 of the 15 painters. This adds to the training
side of ``cv_retrain.py``'s folds (same folds, same logistic-regression stand-in, class weights; the recipe's
variants, squashed and black-and-white copies as ``thumbnail_probe.py`` chose) one more copy of every painting:

- ``in museum``: ``augment.in_museum``, the painting in a gilt frame on a wall, under a spotlight, sometimes with
  visitors in front, photographed at a slant, cut out with 0-25 % of frame and wall;
- ``museum light``: ``augment.museum_photo`` (the recipe's ``museum_copies``, chosen on this probe): the same,
  cut close to the painting (0-8 %), then the warm, hazy light of a gallery and a reflection on the varnish half
  the time.

It scores out of fold on clean paintings, on 400 of them as uploads (``real_world.py``'s kinds: the loss
against clean) and as museum photos cut at the painting's box (``museum_scenes.py``, seeds the training copies
never use); and the 15 development photos cut at their hand-drawn boxes (the fold models' mean probability).
Writes benchmarks/results/museum_probe.json.
"""
import json
import warnings

import numpy as np

from benchmarks.common import folds as cv
from benchmarks.common.museum_dev import DEV
from benchmarks.common.paths import RESULTS
from benchmarks.common.provenance import provenance

PROBE_VERSION = "1"


class MuseumVariant:
    """A painting as a museum photo (``features.Variant``'s interface): ``in museum`` (a training copy) or
    ``museum photo`` (cut exactly at the painting's box, in the scene's own light: the held-out photos scored,
    seed 100)."""

    def __init__(self, kind: str, seed: int):
        self.kind, self.seed = kind, seed
        self.suffix = f"_mp{PROBE_VERSION}-{kind.replace(' ', '-')}-s{seed}"

    def load(self, path: str, sha1: str, size: int) -> np.ndarray:
        from painting_classifier.training import augment
        from painting_classifier.vision.images import load_rgb, resize_square

        rng = augment.copy_rng(self.seed, sha1, 0)
        img = load_rgb(path, min_side=size)
        if self.kind == "in museum":
            img = augment.in_museum(img, rng)
        else:
            img = augment.museum_photo(img, rng, margin=0.0, light=False)
        return resize_square(img, size)


def dev_crops(size: int) -> tuple[np.ndarray, list[str]]:
    """The development photos cut at their hand-drawn boxes, as the model's input; and their artists."""
    from benchmarks.common.museum_dev import dev_paintings
    from painting_classifier.vision.images import resize_square

    paintings, artists = dev_paintings(DEV)
    return np.stack([resize_square(painting, size) for painting in paintings]), artists


ROWS = {"as shipped": (), "+ a museum copy of every painting (in museum)": ("in museum",),
        "+ a museum copy of every painting (museum light)": ("museum light",)}


def main() -> None:
    from benchmarks.common.uploads import UploadVariant
    from painting_classifier.config import default_cache_dir, recipe
    from painting_classifier.training import models
    from painting_classifier.training.features import IN_MUSEUM, RECODED, RECODED_MIRRORED, SQUASHED, Variant

    warnings.filterwarnings("ignore")
    config, cache = recipe("default"), default_cache_dir()
    extractor, features = cv.feature_source(config, cache)

    dataset, pool = cv.pool_of_paintings(config, cache)
    files, y, sha1s = dataset.files(pool), pool["label"].to_numpy(), pool["sha1"]
    fold = cv.folds_of(pool["group"], pool["artist"], 5)
    full_size = np.isin(pool["source"].to_numpy(), [cv.SAMPLE, cv.MORE])
    sized = np.flatnonzero(full_size)
    train_x = [features(files, sha1s, v) for v in (RECODED, RECODED_MIRRORED, Variant(copy=0, seed=42),
                                                   Variant(recoded=True, grayscale=True))]
    train_y = [y] * len(train_x)
    squashed = features([files[i] for i in sized], sha1s.iloc[sized], SQUASHED)
    clean_x = features(files, sha1s, Variant())
    rows = cv.upload_rows_of(pool, 400)
    kinds = ["thumbnail", "screenshot", "bw", "rotated", "detail"]
    uploads = {k: features([files[i] for i in rows], sha1s.iloc[rows], UploadVariant(k)) for k in kinds}
    uploads["museum photo"] = features([files[i] for i in rows], sha1s.iloc[rows], MuseumVariant("museum photo", 100))
    copies = {"in museum": features(files, sha1s, MuseumVariant("in museum", 0)),
              "museum light": features(files, sha1s, IN_MUSEUM)}
    dev_pixels, dev_artists = dev_crops(config.input_size)
    dev_x = models.compiled_forward(extractor())(dev_pixels.astype(np.float32)).numpy()
    display = dict(zip(dataset.artists["name"], range(len(dataset.artists))))
    dev_y = np.array([display[a] for a in dev_artists])
    results = []
    for name, extra in ROWS.items():
        probs, dev_probs = np.zeros((len(pool), 50)), np.zeros((len(dev_y), 50))
        upload_probs = {k: np.zeros((len(rows), 50)) for k in uploads}
        for k in range(5):
            held, train = fold == k, fold != k
            xs = [x[train] for x in train_x] + [squashed[train[sized]]] + [copies[e][train] for e in extra]
            ys = [t[train] for t in train_y] + [y[sized][train[sized]]] + [y[train] for _ in extra]
            model = cv.fit_head(np.concatenate(xs), np.concatenate(ys), True, 50)
            probs[held] = cv.probabilities_of(model, clean_x[held], 50, None, 0.0)
            mine = held[rows]
            for kind, x in uploads.items():
                upload_probs[kind][mine] = cv.probabilities_of(model, x[mine], 50, None, 0.0)
            dev_probs += cv.probabilities_of(model, dev_x, 50, None, 0.0) / 5
        clean_400 = cv.scores_of(y[rows], probs[rows])["top1"]
        dev = cv.scores_of(dev_y, dev_probs)
        results.append({"training": name, "clean": cv.scores_of(y[full_size], probs[full_size]),
                        "clean_uploads_400_top1": clean_400,
                        "upload_loss_top1": {kind: round(clean_400 - cv.scores_of(y[rows], p)["top1"], 1)
                                             for kind, p in upload_probs.items()},
                        "dev_photos_at_hand_boxes": {"n": dev["n"], "top1": round(dev["top1"] * dev["n"] / 100),
                                                     "top5": round(dev["top5"] * dev["n"] / 100)}})
        print(json.dumps(results[-1]), flush=True)
    out = RESULTS / "museum_probe.json"
    out.write_text(json.dumps({**provenance(None, 1), "folds": 5, "uploads_scored": len(rows), "rows": results},
                              indent=1))


if __name__ == "__main__":
    main()
