"""Compare bundles on their test splits: summary metrics and per-artist recall grouped by how many
paintings of the artist the first bundle was fitted on.

    python -m benchmarks.quality.compare_bundles BUNDLE [BUNDLE ...] [--json OUT]

Reads only the bundles' metrics.json and artists.csv (no prediction). The bundles should share
their test split (e.g. the same --data folder with and without --train-only folders); a warning
says when they do not.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from benchmarks.common.provenance import provenance

BINS = [(1, 5), (6, 10), (11, 20), (21, 50), (51, 10_000)]


def recall_by_training_paintings(bundle: Path, reference_counts: pd.Series) -> dict[str, float]:
    """Mean test recall of the artists whose reference training-painting count falls in each bin."""
    per_artist = json.loads((bundle / "metrics.json").read_text())["per_artist"]
    recall = pd.Series({a: m["recall"] for a, m in per_artist.items() if m["n"] > 0})
    out = {}
    for low, high in BINS:
        artists = reference_counts[(reference_counts >= low) & (reference_counts <= high)].index
        present = recall.reindex(artists).dropna()
        label = f"{low}-{high}" if high < 10_000 else f">{low - 1}"
        out[label] = {"artists": int(len(present)), "recall": round(float(present.mean()), 3) if len(present) else None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write the comparison here")
    args = parser.parse_args()
    reference = pd.read_csv(args.bundles[0] / "artists.csv").set_index("label_name")["train_paintings"]
    tests = [set(pd.read_csv(b / "split.csv").query("split == 'test'")["sha1"]) for b in args.bundles]
    if any(t != tests[0] for t in tests):
        print("warning: the bundles' test splits differ", file=sys.stderr)
    rows = {}
    for bundle in args.bundles:
        metrics = json.loads((bundle / "metrics.json").read_text())
        fitted = pd.read_csv(bundle / "artists.csv")["train_paintings"]
        rows[str(bundle)] = {
            "test": {k: metrics[k] for k in ("n_images", "top1", "top5", "balanced_accuracy", "macro_f1")},
            "validation": metrics.get("validation"),
            "paintings_fitted_on": int(fitted.sum()),
            "recall_by_training_paintings_of_first_bundle": recall_by_training_paintings(bundle, reference),
        }
        print(bundle, json.dumps(rows[str(bundle)], indent=1))
    if args.json:
        checksums = ",".join(json.loads((b / "manifest.json").read_text())["model_sha256"] for b in args.bundles)
        args.json.write_text(json.dumps({**provenance(checksums, runs=1), "bundles": rows}, indent=1))


if __name__ == "__main__":
    main()
