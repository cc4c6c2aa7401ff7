"""The crop finder on generated photos of real paintings: how close its box is, and how often it crops a
clean painting.

    python -m benchmarks.quality.crop_finder [--data ../shared/data/best-artworks-sample] [--every 8]

Every N-th painting (scaled to at most 600 px) is tried as it is (any crop is a false crop) and framed
on a plain wall by the training augmentation's ``framed_on_wall`` (frame 3-10 % of the long side, a light
mat 30 % of the time, 35-80 % of the wall's width; no perspective, so the true box is exact). Writes benchmarks/results/crop_finder.json.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.common.paths import DATA, RESULTS
from benchmarks.common.provenance import provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "best-artworks-sample")
    parser.add_argument("--every", type=int, default=8)
    parser.add_argument("--json", type=Path, default=RESULTS / "crop_finder.json")
    args = parser.parse_args()

    from painting_classifier.training.augment import framed_on_wall
    from painting_classifier.vision.crop import find_painting
    from painting_classifier.vision.images import load_rgb

    files = sorted((args.data / "images").rglob("*.jpg"))[:: args.every]
    rng = np.random.default_rng(0)
    false_crops, missed, errors, frame_kept, seconds = 0, 0, [], 0, []
    for path in files:
        img = load_rgb(path)
        img.thumbnail((600, 600))
        started = time.perf_counter()
        false_crops += int(find_painting(img) is not None)
        seconds.append(time.perf_counter() - started)
        photo, box = framed_on_wall(img, rng)
        crop = find_painting(photo)
        if crop is None:
            missed += 1
            continue
        error = np.abs(np.array(crop.box) - np.array(box)).max()
        errors.append(int(error))
        frame_kept += int(error > 10)
    result = {**provenance(None, runs=1), "paintings": len(files), "false_crops_on_clean": int(false_crops), "missed_on_wall": missed,
              "box_error_px": {"median": float(np.median(errors)), "p90": float(np.percentile(errors, 90)),
                               "max": int(max(errors))},
              "more_than_10px_off (frame kept)": frame_kept,
              "ms_per_clean_painting": round(1000 * float(np.median(seconds)), 1)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
