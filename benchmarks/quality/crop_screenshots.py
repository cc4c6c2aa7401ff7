"""Choosing how far off-centre the crop finder looks: screenshots, wall photos and clean paintings of validation
paintings, for several ``crop.MAX_OFF_CENTRE`` (and ``SURROUND_EDGES``) values.

    python -m benchmarks.quality.crop_screenshots [--model assets/model] [--n 150]

A web page often shows a painting left of centre. From the bundle's full-size validation paintings (not
more-paintings-2's 224 px copies, which a page would show tiny), ``--n`` become screenshots and ``--n`` others
wall photos (``real_world.make_upload``), and all ``2 * --n`` are tried clean too. For each setting: the share of
screenshots and wall photos whose painting is found (box IoU > 0.8 with the true one), the mean IoU (0 when
nothing is found), and how many clean paintings get a crop (a false crop). No test painting is used. Writes
benchmarks/results/crop_screenshots.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance
from benchmarks.common.uploads import box_iou, make_upload

SETTINGS = [(0.3, 0.6), (0.35, 0.6), (0.4, 0.6), (0.35, 0.8), (0.35, 1.0)]  # (MAX_OFF_CENTRE, SURROUND_EDGES)


def found_share(crop, photos) -> tuple[float, float]:
    """(share found with IoU > 0.8, mean IoU) of (photo, true box) pairs."""
    ious = [0.0 if (c := crop.find_painting(photo)) is None else box_iou(c.box, box) for photo, box in photos]
    return round(float(np.mean(np.array(ious) > 0.8)), 4), round(float(np.mean(ious)), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--n", type=int, default=150)
    args = parser.parse_args()

    from painting_classifier import crop, load_bundle
    from painting_classifier.vision.images import load_rgb

    bundle = load_bundle(args.model)
    split = bundle.split
    full_size = split[(split["split"] == "val") & (split["source"] != "more-paintings-2")]
    files = bundle.files(full_size.sample(n=2 * args.n, random_state=1))
    clean = [load_rgb(f, min_side=448) for f in files]
    screenshots = [(load_rgb(upload), box) for upload, box in (make_upload(f, "screenshot") for f in files[:args.n])]
    walls = [(load_rgb(upload), box) for upload, box in (make_upload(f, "wall") for f in files[args.n:])]
    rows = []
    for off_centre, surround in SETTINGS:
        crop.MAX_OFF_CENTRE, crop.SURROUND_EDGES = off_centre, surround
        shots_found, shots_iou = found_share(crop, screenshots)
        walls_found, walls_iou = found_share(crop, walls)
        rows.append({"max_off_centre": off_centre, "surround_edges": surround,
                     "screenshots_found": shots_found, "screenshots_iou": shots_iou,
                     "walls_found": walls_found, "walls_iou": walls_iou,
                     "false_crops_on_clean": sum(crop.find_painting(img) is not None for img in clean)})
        print(json.dumps(rows[-1]), flush=True)
    out = RESULTS / "crop_screenshots.json"
    out.write_text(json.dumps({**provenance(bundle.checksum, runs=1), "screenshots": args.n, "walls": args.n,
                               "clean": len(clean), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
