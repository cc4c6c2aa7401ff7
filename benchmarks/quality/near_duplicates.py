"""How well near-duplicate grouping separates copies of one painting from different paintings.

    python -m benchmarks.quality.near_duplicates [--data DIR ...] [--every 12]

For every ``--every``-th painting of the folders (default: the sample and more-paintings) it makes
generated near-duplicates -- resized to 40 %, cropped by 5 % on each side, colour and brightness
shifted, each re-encoded as a JPEG of quality 40 -- and reports, per threshold of the Lite0
embeddings' cosine similarity, the share of copies that reach their original (recall) and how many
pairs of the real paintings reach it (real near-duplicates, or different paintings that would be
grouped). Writes benchmarks/results/near_duplicates.json.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from benchmarks.common.paths import DATA, RESULTS
from benchmarks.common.provenance import provenance

THRESHOLDS = (0.7, 0.75, 0.8, 0.85, 0.9)


def copies_of(image: Image.Image) -> dict[str, Image.Image]:
    w, h = image.size
    return {"resized to 40 %": image.resize((int(w * 0.4), int(h * 0.4)), Image.Resampling.BILINEAR),
            "cropped by 5 %": image.crop((int(w * 0.05), int(h * 0.05), int(w * 0.95), int(h * 0.95))),
            "colour and brightness": ImageEnhance.Color(ImageEnhance.Brightness(image).enhance(1.15)).enhance(0.8)}


def main() -> None:
    from painting_classifier import Config
    from painting_classifier.config import default_cache_dir
    from painting_classifier.training.data import scan_sources, sha1_of_file
    from painting_classifier.training.near_duplicates import embeddings, similar_pairs

    shared = DATA
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append",
                        default=None, help="data folders (default: best-artworks-sample and more-paintings)")
    parser.add_argument("--every", type=int, default=12, help="make copies of every N-th painting")
    args = parser.parse_args()
    folders = args.data or [shared / "best-artworks-sample", shared / "more-paintings"]
    dataset = scan_sources(folders, progress=False)
    files = dataset.files(dataset.paintings)
    cache = default_cache_dir()
    real = embeddings(files, dataset.paintings["sha1"], cache)
    originals, kinds, copy_files = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(0, len(files), args.every):
            image = Image.open(files[n]).convert("RGB")
            for kind, copy in copies_of(image).items():
                path = Path(tmp) / f"{n}-{len(kinds)}.jpg"
                copy.save(path, "JPEG", quality=40)
                originals.append(n)
                kinds.append(kind)
                copy_files.append(str(path))
        copies = embeddings(copy_files, [sha1_of_file(f) for f in copy_files], Path(tmp) / "cache", progress=False)
    similarity = np.einsum("ij,ij->i", copies, real[originals])
    kinds = np.array(kinds)
    rows = []
    for threshold in THRESHOLDS:
        pairs = similar_pairs(real, threshold)
        row = {"threshold": threshold, "real_pairs": int(len(pairs[0])),
               "recall": round(float((similarity >= threshold).mean()), 3)}
        row.update({f"recall {k}": round(float((similarity[kinds == k] >= threshold).mean()), 3)
                    for k in sorted(set(kinds))})
        rows.append(row)
        print(row)
    result = {**provenance(None, runs=1), "paintings": len(files), "copies": len(copy_files), "default": Config().duplicate_similarity,
              "rows": rows}
    out = RESULTS / "near_duplicates.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
