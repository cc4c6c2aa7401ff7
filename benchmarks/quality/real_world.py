"""Real-world uploads: top-1 / top-5 of a bundle when its paintings arrive as people send them.

    python -m benchmarks.quality.real_world [--bundle assets/model] [--split test|val] [--data DIR] [--json OUT]

Each painting is turned into every kind of upload below (deterministic per file and kind), encoded
as a file, and identified through ``Predictor`` as the app does: with the crop finder on, and off.
Kinds: clean (the file as it is), wall (framed, hanging on a wall, the frame filling about half of
the photo, slight perspective), bw (black-and-white reproduction), thumbnail (256 px, JPEG q35),
detail (the central 60 % of each side), phone (perspective, uneven light, blur, noise, JPEG),
screenshot (shown in a browser window), rotated (turned 90 degrees), glare (a reflection).

The uploads are made here, independently of the training augmentation (``augment.py``).
``--data`` takes a folder of paintings (any layout the trainer reads) instead of the bundle's split.
Writes benchmarks/results/real_world.json (or ``--json``).
"""
from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common.bundle_figures import publish
from benchmarks.common.copies import unseen_predictor
from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance
from benchmarks.common.uploads import KINDS, box_iou, make_upload


def paintings_of(args) -> tuple[list[Path], list[str]]:
    """(files, artist names) to benchmark: a data folder, or the bundle's split."""
    from painting_classifier import load_bundle
    from painting_classifier.training.data import scan_dataset

    bundle = load_bundle(args.bundle)
    names = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
    if args.data:
        dataset = scan_dataset(args.data, progress=False)
        rows = dataset.paintings
        files = [Path(f) for f in dataset.files(rows)]
    else:
        rows = bundle.split[bundle.split["split"] == args.split]
        files = bundle.files(rows)
    files, artists = files[: args.limit or None], [names.get(a, a) for a in rows["artist"]][: args.limit or None]
    return files, artists


def run_kind(predictor, files: list[Path], artists: list[str], kind: str, crop: bool) -> dict:
    """Top-1 / top-5 of one kind of upload (and how often, and how well, a painting was cut out)."""
    top1 = top5 = cropped = 0
    ious, seconds = [], []
    for path, artist in zip(files, artists):
        upload, box = make_upload(path, kind)
        start = time.perf_counter()
        found = predictor.identify(upload, top_k=5, find=crop)
        seconds.append(time.perf_counter() - start)
        names = [name for name, _ in found.ranked]
        top1 += names[0] == artist
        top5 += artist in names
        cropped += found.crop is not None
        if box is not None:  # the crop's coordinates are the decoded image's, maybe at reduced scale
            scale = found.located.image_size[0] / Image.open(io.BytesIO(upload)).width
            ious.append(box_iou(found.crop.box, [c * scale for c in box]) if found.crop is not None else 0.0)
    n = max(1, len(files))
    row = {"kind": kind, "crop": crop, "n": len(files), "top1": round(top1 / n, 4), "top5": round(top5 / n, 4),
           "cropped": round(cropped / n, 4), "ms_per_image": round(1000 * float(np.median(seconds)), 1)}
    if ious:
        row["painting_iou"] = round(float(np.mean(ious)), 3)
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--split", default="test", choices=("test", "val", "train"))
    parser.add_argument("--data", type=Path, help="a folder of paintings instead of the bundle's split")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds of upload")
    parser.add_argument("--no-crop-runs", action="store_true", help="skip the runs with the crop finder off")
    parser.add_argument("--limit", type=int, default=0, help="only the first N paintings")
    parser.add_argument("--json", type=Path, default=RESULTS / "real_world.json")
    parser.add_argument("--publish", action="store_true",
                        help="also record the results in the bundle's measured.json (the About tab's figures)")
    args = parser.parse_args(argv)

    from painting_classifier import Predictor

    files, artists = paintings_of(args)
    # a split's paintings as paintings the project does not hold: its gallery does hold them
    predictor = Predictor.from_bundle(args.bundle) if args.data else unseen_predictor(args.bundle, args.split)
    rows = []
    for kind in args.kinds.split(","):
        for crop in (True,) if args.no_crop_runs else (True, False):
            rows.append(run_kind(predictor, files, artists, kind, crop))
            print(json.dumps(rows[-1]), flush=True)
    clean = next((r["top1"] for r in rows if r["kind"] == "clean" and r["crop"]), None)
    for row in rows:
        row["change_vs_clean"] = None if clean is None else round(row["top1"] - clean, 4)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {**provenance(predictor.bundle.checksum, runs=1), "bundle": str(args.bundle),
              "paintings": args.data and str(args.data) or f"{args.split} split", "runtime": predictor.runtime,
              "results": rows}
    args.json.write_text(json.dumps(report, indent=1))
    if args.publish:
        publish(args.bundle, "real_world", report)
    return rows


if __name__ == "__main__":
    main()
