"""Choosing the training augmentation: validation top-1 / top-5 of head-only bundles on every kind of
real-world upload, computed from cached backbone features (fast enough to compare many heads).

    python -m benchmarks.quality.upload_mix BUNDLE [BUNDLE ...] [--split val] [--json OUT]

The bundles must be trained without ``--refit`` (their validation paintings unseen) and share a
backbone. Each validation painting becomes every upload kind of ``real_world.py``, goes through
the serving path (decode, crop finder, resize) and the backbone once; the features are cached
like the training features, so every further bundle costs a head's forward pass only.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common.paths import RESULTS
from benchmarks.common.provenance import provenance
from benchmarks.common.uploads import KINDS, UploadVariant


def scores(bundle_path: Path, split: str, kinds: list[str], source: str | None = None) -> dict:
    """Top-1 / top-5 / balanced accuracy of one bundle's head on each kind of upload of its ``split`` (only the
    paintings of data folder ``source``, when given)."""
    from sklearn.metrics import balanced_accuracy_score

    from painting_classifier import load_bundle
    from painting_classifier.config import default_cache_dir
    from painting_classifier.training.features import cached_features
    from painting_classifier.training.models import HEAD, feature_extractor

    bundle = load_bundle(bundle_path)
    rows = bundle.split[bundle.split["split"] == split]
    if source:
        rows = rows[rows["source"] == source]
    labels = rows["artist"].map(bundle.classes.index).to_numpy()
    files = [str(f) for f in bundle.files(rows)]
    head = bundle.model.get_layer(HEAD)
    out = {}
    for kind in kinds:
        x = cached_features(lambda: feature_extractor(bundle.model), files, rows["sha1"], bundle.config,
                            default_cache_dir(), UploadVariant(kind))
        top5 = np.argsort(-np.asarray(head.predict(x, verbose=0)), axis=1)[:, :5]
        out[kind] = {"top1": round(float((top5[:, 0] == labels).mean()), 4),
                     "top5": round(float((top5 == labels[:, None]).any(axis=1).mean()), 4),
                     "balanced": round(float(balanced_accuracy_score(labels, top5[:, 0])), 4)}
    uploads = [out[k]["top1"] for k in kinds if k != "clean"]
    out["mean top-1 of the uploads"] = round(float(np.mean(uploads)), 4) if uploads else None
    out["paintings"] = len(rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--split", default="val", choices=("val", "train"))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--source", help="score only the paintings of this data folder (e.g. best-artworks-sample)")
    parser.add_argument("--json", type=Path, default=RESULTS / "upload_mix.json")
    args = parser.parse_args()
    results = {}
    for bundle in args.bundles:
        config = json.loads((bundle / "manifest.json").read_text())["config"]
        results[str(bundle)] = {"degraded_copies": config.get("degraded_copies", 0),
                                "kinds": scores(bundle, args.split, args.kinds.split(","), args.source)}
        print(bundle, json.dumps(results[str(bundle)]), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    checksums = ",".join(json.loads((b / "manifest.json").read_text())["model_sha256"] for b in args.bundles)
    args.json.write_text(json.dumps({**provenance(checksums, runs=1), "split": args.split, "source": args.source,
                                     "results": results}, indent=1))


if __name__ == "__main__":
    main()
