"""Scope: how well a bundle's scope score tells the 50 artists' paintings from everything else.

    python -m benchmarks.quality.scope [--bundle assets/model] [--other ../shared/data/not-the-50] [--json OUT]

In scope: the bundle's own test split (paintings of the 50 artists the model never trained on), as
files and as every kind of real-world upload of ``real_world.py``. Out of scope: the photos and the
other artists' paintings of ``--other`` (``images.csv``: file, group = photos | other_art).
Everything goes through ``Predictor.identify_many`` as the app and the CLI see it (crop finder on).

Reports the share of test paintings kept in scope, of photos and other artists' paintings
rejected, and the AUROC of the scope score against each, beside the AUROC of the top probability
alone. Writes benchmarks/results/scope.json (or ``--json``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common.bundle_figures import publish
from benchmarks.common.paths import DATA, RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance


def identified(predictor, images: list) -> pd.DataFrame:
    """Scope score, in-scope flag and top probability of each image."""
    rows = []
    for result in predictor.identify_many(images, top_k=1):
        if isinstance(result, ValueError):
            raise result
        rows.append({"scope_score": result.scope_score, "in_scope": result.in_scope,
                     "top_probability": result.ranked[0][1], "out_of_scope": result.out_of_scope})
    return pd.DataFrame(rows)


def auroc(inside: pd.Series, outside: pd.Series) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(inside)), np.zeros(len(outside))], np.r_[inside, outside]))


def against(paintings: pd.DataFrame, others: pd.DataFrame) -> dict:
    """Rejection and AUROCs of one out-of-scope group against the in-scope paintings."""
    return {"n": len(others), "rejected": float((~others["in_scope"]).mean()),
            "said_not_a_painting": float((others["out_of_scope"] == "not a painting").mean()),
            "auroc": auroc(paintings["scope_score"], others["scope_score"]),
            "auroc_top_probability": auroc(paintings["top_probability"], others["top_probability"])}


def uploads_kept(predictor, files: list[Path]) -> dict:
    """Share of the test paintings kept in scope when they arrive as each kind of real-world upload."""
    from benchmarks.common.uploads import KINDS, make_upload

    return {kind: float(identified(predictor, [make_upload(f, kind)[0] for f in files])["in_scope"].mean())
            for kind in KINDS}


def main(argv: list[str] | None = None) -> dict:
    from painting_classifier import load_bundle
    from painting_classifier.serving.predict import Predictor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--other", type=Path, default=DATA / "not-the-50")
    parser.add_argument("--data-root", type=Path, help="where the bundle's data folders live now")
    parser.add_argument("--no-uploads", action="store_true", help="skip the real-world uploads of the test split")
    parser.add_argument("--json", type=Path, default=RESULTS / "scope.json")
    parser.add_argument("--publish", action="store_true",
                        help="also record the results in the bundle's measured.json (the About tab's figures)")
    args = parser.parse_args(argv)

    bundle = load_bundle(args.bundle)
    if bundle.scope is None:
        parser.error(f"{args.bundle} has no scope score (train it again)")
    predictor = Predictor(bundle)
    test_files = bundle.files(bundle.split[bundle.split["split"] == "test"], args.data_root)
    paintings = identified(predictor, test_files)
    catalogue = pd.read_csv(args.other / "images.csv")
    outside = identified(predictor, [args.other / f for f in catalogue["file"]])
    outside["group"] = catalogue["group"].to_numpy()
    report = {**provenance(bundle.checksum, runs=1), "bundle": str(args.bundle),
              "threshold": bundle.scope.threshold, "test_paintings": len(paintings),
              "test_kept": float(paintings["in_scope"].mean()),
              "photos": against(paintings, outside[outside["group"] == "photos"]),
              "other_artists": against(paintings, outside[outside["group"] == "other_art"])}
    if not args.no_uploads:
        report["test_uploads_kept"] = uploads_kept(predictor, test_files)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    if args.publish:
        publish(args.bundle, "scope", report)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
