"""Honest splits: which paintings of the shipped split are copies of one another (a detail and its whole, a
squashed thumbnail) that the near-duplicate embedding missed, and which of them sit on both sides of the split?

    python -m benchmarks.quality.verified_copies [--model assets/model] [--gallery assets/gallery]

Every painting of the gallery is looked up among the others with the recognition's check
(``training/geometric_duplicates.py``). Reported: the verified pairs among the bundle's paintings, how many of the
bundle's near-duplicate groups they join (``Config.geometric_duplicates`` does so from the next retrain on), and
every pair that joins a test painting to a training or validation one, to be looked at. Writes
benchmarks/results/verified_copies.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common.copies import gallery_table, honest_groups, unseen_predictor, verified_gallery_pairs
from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance


def test_top1(model: Path, leaky: set[str]) -> dict:
    """The shipped model's top-1 on its test split (its style answer, as for a painting it does not hold), with and
    without the test paintings that have a verified copy among the training ones: how much the leak flattered."""
    predictor = unseen_predictor(model, "test")
    bundle = predictor.bundle
    rows = bundle.split[bundle.split["split"] == "test"]
    names = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
    right = np.array([predictor.identify(file).ranked[0][0] == names[artist]
                      for file, artist in zip(bundle.files(rows), rows["artist"])])
    copied = np.array([f"{source}/{path}" in leaky for source, path in zip(rows["source"], rows["path"])])
    return {"all": round(float(right.mean()), 4), "n": len(right),
            "without_copied": round(float(right[~copied].mean()), 4), "n_without_copied": int((~copied).sum()),
            "copied_right": int(right[copied].sum()), "copied": int(copied.sum())}


def main(argv: list[str] | None = None) -> dict:
    from painting_classifier import load_bundle
    from painting_classifier.serving.gallery import Gallery

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--gallery", type=Path, default=SHIPPED_MODEL.parent / "gallery")
    parser.add_argument("--json", type=Path, default=RESULTS / "verified_copies.json")
    args = parser.parse_args(argv)

    bundle = load_bundle(args.model)
    gallery = Gallery(args.gallery)
    folders = {name: bundle.data_folder(name) for name in bundle.data_names}
    folders.update(gallery.source_folders)
    pairs = verified_gallery_pairs(gallery, folders)
    table = gallery_table(gallery, bundle)
    groups = honest_groups(table, pairs)
    in_split = (table["split"] != "other").to_numpy()
    name = (table["source"] + "/" + table["file"] + " (" + table["split"] + ")").to_numpy()
    crossing = [{"a": name[a], "b": name[b], "same_artist": bool(table["artist"][a] == table["artist"][b]),
                 "inliers": int(n)} for a, b, n in zip(pairs["a"], pairs["b"], pairs["inliers"])
                if in_split[a] and in_split[b] and (table["split"][a] == "test") != (table["split"][b] == "test")]
    before, after = table["group"][in_split].nunique(), len(np.unique(groups[in_split]))
    leaky = {c["a"] if "(test)" in c["a"] else c["b"] for c in crossing}
    report = {**provenance(bundle.checksum, runs=1), "gallery_paintings": len(gallery),
              "test_top1": test_top1(args.model, {name.split(" (")[0] for name in leaky}),
              "verified_pairs_in_gallery": len(pairs),
              "verified_pairs_in_split": int(sum(in_split[a] and in_split[b] for a, b in zip(pairs["a"], pairs["b"]))),
              "merges": int(before - after), "groups_before": int(before), "groups_after": int(after),
              "test_paintings_with_a_copy_in_train_or_val": len({c["a"] if "(test)" in c["a"] else c["b"]
                                                                 for c in crossing}),
              "pairs_across_the_test_split": crossing}
    args.json.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "pairs_across_the_test_split"}, indent=1))
    return report


if __name__ == "__main__":
    main()
