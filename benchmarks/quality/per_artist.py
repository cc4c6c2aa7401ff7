"""Recall and precision per artist: the shipped model on its test split, beside the chosen head's out-of-fold
figures in cross-validation (``cv_retrain.py``) and the paintings each artist was trained on.

    python -m benchmarks.quality.per_artist [--bundle assets/model] [--cv benchmarks/results/cv_retrain.json]

Writes benchmarks/results/per_artist.csv and prints it as a Markdown table (for docs/experiments.md).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance


def main() -> None:
    from painting_classifier import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--cv", type=Path, default=RESULTS / "cv_retrain.json")
    parser.add_argument("--csv", type=Path, default=RESULTS / "per_artist.csv")
    args = parser.parse_args()
    bundle = load_bundle(args.bundle)
    test = bundle.metrics["per_artist"]
    cv = json.loads(args.cv.read_text())
    oof = cv["heads"][cv["chosen_head"]]["per_artist_recall"]
    trained = dict(zip(bundle.artists["label_name"], bundle.artists["train_paintings"]))
    rows = [{"artist": name.replace("_", " "), "trained_on": int(trained[name]),
             "test_n": test.get(name, {}).get("n", 0),
             "test_recall": round(100 * test[name]["recall"], 1) if name in test else None,
             "test_precision": round(100 * test[name]["precision"], 1) if name in test else None,
             "cv_n": oof[name]["n"], "cv_recall": oof[name]["recall"], "cv_precision": oof[name]["precision"]}
            for name in bundle.classes]
    table = pd.DataFrame(rows).sort_values("cv_recall")
    meta = provenance(bundle.checksum, 1)
    table.assign(commit=meta["commit"], model_sha256=meta["model_sha256"], cores=meta["cores"],
                 runs=meta["runs"]).to_csv(args.csv, index=False)
    print("| artist | trained on | test n | test recall | test precision | CV n | CV recall | CV precision |")
    print("|---|---|---|---|---|---|---|---|")
    def shown(value) -> str:
        return "—" if value is None or pd.isna(value) else f"{value:g}"

    for r in table.itertuples():
        print(f"| {r.artist} | {r.trained_on} | {r.test_n} | {shown(r.test_recall)} | {shown(r.test_precision)} | "
              f"{r.cv_n} | {shown(r.cv_recall)} | {shown(r.cv_precision)} |")


if __name__ == "__main__":
    main()
