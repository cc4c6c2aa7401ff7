"""Per artist: how often the model names it, how often that is right (precision) and how often its paintings are
named right (recall). The shipped model on its test split (the head alone), beside the chosen recipe's out-of-fold
figures in cross-validation as the app answers: the head with its similar paintings' painters blended in
(``quality/similar_paintings.py --head-probabilities``, from ``experiments/cv_fine_tune.py``'s folds; the head alone
where that has not been run), and the paintings each artist was trained on. An artist named
often and seldom right is a sink: it soaks up other painters' paintings.

    python -m benchmarks.quality.per_artist [--bundle assets/model] [--publish]

Writes benchmarks/results/per_artist.csv and prints it as a Markdown table (for docs/experiments.md); ``--publish``
also records it in the bundle's measured.json, for the Training tab.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from benchmarks.common.bundle_figures import publish
from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance


def test_named(metrics: dict, classes: list[str]) -> dict[str, int]:
    """How often the model named each artist on the test split (the confusion matrix's columns)."""
    import numpy as np

    matrix = np.asarray(metrics["confusion_matrix"])
    return {name: int(matrix[:, i].sum()) for i, name in enumerate(classes)}


def main() -> None:
    from painting_classifier import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--cv", type=Path, default=RESULTS / "cv_fine_tune.json")
    parser.add_argument("--csv", type=Path, default=RESULTS / "per_artist.csv")
    parser.add_argument("--publish", action="store_true", help="also record it in the bundle's measured.json")
    args = parser.parse_args()
    bundle = load_bundle(args.bundle)
    test = bundle.metrics["per_artist"]
    named = test_named(bundle.metrics, list(bundle.classes))
    chosen = json.loads(args.cv.read_text())["chosen"]
    served = RESULTS / "similar_paintings_artists.csv"
    if served.is_file():  # the blend the app serves, on the chosen recipe's out-of-fold answers
        cv, prefix, chosen = pd.read_csv(served).set_index("artist"), "served_", f"{chosen} + similar paintings"
    else:
        cv, prefix = pd.read_csv(args.cv.with_name("cv_fine_tune_artists.csv")).set_index("artist"), f"{chosen}_"
    trained = dict(zip(bundle.artists["label_name"], bundle.artists["train_paintings"]))

    def percent(value):
        return None if value is None or pd.isna(value) else round(100 * float(value), 1)

    rows = [{"artist": name.replace("_", " "), "trained_on": int(trained[name]),
             "test_n": test.get(name, {}).get("n", 0), "test_named": named[name],
             "test_recall": percent(test[name]["recall"]) if name in test else None,
             "test_precision": percent(test[name]["precision"]) if named[name] else None,
             "cv_n": int(cv.loc[name, "paintings"]), "cv_named": int(cv.loc[name, f"{prefix}named"]),
             "cv_recall": percent(cv.loc[name, f"{prefix}recall"]),
             "cv_precision": percent(cv.loc[name, f"{prefix}precision"])}
            for name in bundle.classes]
    table = pd.DataFrame(rows).sort_values("cv_named", ascending=False)
    meta = provenance(bundle.checksum, 1)
    table.assign(commit=meta["commit"], model_sha256=meta["model_sha256"], cores=meta["cores"],
                 runs=meta["runs"], cv_recipe=chosen).to_csv(args.csv, index=False)
    if args.publish:
        publish(args.bundle, "per_artist", {**meta, "cv_recipe": chosen,
                                            "rows": json.loads(table.to_json(orient="records"))})
    print("| artist | trained on | test n | test named | test recall | test precision | CV n | CV named | CV recall "
          "| CV precision |")
    print("|---|---|---|---|---|---|---|---|---|---|")

    def shown(value) -> str:
        return "—" if value is None or pd.isna(value) else f"{value:g}"

    for r in table.itertuples():
        print(f"| {r.artist} | {r.trained_on} | {r.test_n} | {r.test_named} | {shown(r.test_recall)} | "
              f"{shown(r.test_precision)} | {r.cv_n} | {r.cv_named} | {shown(r.cv_recall)} | {shown(r.cv_precision)} |")


if __name__ == "__main__":
    main()
