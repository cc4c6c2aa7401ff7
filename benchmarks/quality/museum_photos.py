"""Museum photos: real visitors' photos and synthetic museum scenes, with the painting search on and off.

    python -m benchmarks.quality.museum_photos [--model assets/model] [--split val|test] [--scenes 120]
                                       [--margins 0,0.5,1,1.5]

Measured through ``Predictor.identify`` as the app does it:

- ``../shared/data/museum-photos-dev`` (15 real photos: selfies and walls at MoMA), and the same photos cut at a
  hand-drawn box around the painting (what a perfect finder would give the model);
- synthetic scenes (``museum_scenes.py``: gilt frames, walls, spotlights, neighbours, visitors, slant) made
  from the bundle's ``--split`` paintings, each with its neighbours drawn from the same split;
- the same paintings as clean files ("a painting that fills the picture must never get worse").

For each search margin (``Predictor.search_margin``: how far above the scope threshold a first look must be
to skip the search), top-1 and top-5 of each set, how often the search ran, and the time per photo. With
``--confidences``, also how far above the threshold a region must score to overrule a first look out of scope
(``Predictor.search_confidence``), against the share of photos and other artists' paintings in the development
half (even rows) of not-the-50 that stay rejected. With ``--gains``, how much a region must beat a whole picture
(``Predictor.search_gain``), against paintings sent as details, turned and in black and white. With
``--temperatures``, the scale of the scope scores that weigh the regions' answers in the combined one
(``Predictor.search_temperature``; 0.01: in effect the single most painting-like region's answer), on the photo
sets, the clean paintings and the same three upload kinds.
Choose the margin on ``--split val``; report ``--split test`` once. Writes
benchmarks/results/museum_photos_<split>.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from benchmarks.common.bundle_figures import publish
from benchmarks.common.copies import unseen_predictor
from benchmarks.common.museum_dev import DEV, dev_paintings
from benchmarks.common.paths import DATA, RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance


def scored(predictor, images: list, artists: list[str], find: bool) -> dict:
    """Top-1, top-5, searched share and time per image of ``images`` (paths or PIL images)."""
    top1 = top5 = searched = 0
    seconds = []
    for image, artist in zip(images, artists):
        start = time.perf_counter()
        found = predictor.identify(image, top_k=5, find=find)
        seconds.append(time.perf_counter() - start)
        names = [name for name, _ in found.ranked]
        top1, top5 = top1 + (names[0] == artist), top5 + (artist in names)
        searched += found.crop is not None and find
    n = max(1, len(artists))
    return {"n": len(artists), "top1": round(top1 / n, 4), "top5": round(top5 / n, 4),
            "cropped": round(searched / n, 4), "ms_p50": round(1000 * statistics.median(seconds), 1)}


def rejected(predictor, folder: Path) -> dict:
    """Shares of the development half (even rows) of not-the-50 called out of scope, per group."""
    catalogue = pd.read_csv(folder / "images.csv").iloc[::2]
    out = np.array([not predictor.identify(folder / f).in_scope for f in catalogue["file"]])
    return {group: round(float(out[(catalogue["group"] == group).to_numpy()].mean()), 4)
            for group in ("photos", "other_art")}


def confidence_sweep(predictor, sets: dict, confidences: list[float], not_the_50: Path) -> list[dict]:
    """For each ``search_confidence``: top-1 on the photo sets and the share of not-the-50 still rejected."""
    rows = []
    for confidence in confidences:
        predictor.search_confidence = confidence
        row = {"confidence": confidence, "rejected": rejected(predictor, not_the_50)}
        for name in ("scenes", "museum_photos_dev"):
            if name in sets:
                row[name] = scored(predictor, *sets[name], find=True)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def uploads_where_a_window_should_not_win(files: list[Path]) -> dict[str, list]:
    """``files`` sent as details, turned and in black and white (``real_world.py``'s uploads), per kind: whole
    paintings the search should leave whole."""
    from benchmarks.common.uploads import make_upload

    return {kind: [make_upload(file, kind)[0] for file in files] for kind in ("detail", "rotated", "bw")}


def gain_sweep(predictor, sets: dict, files: list[Path], artists: list[str], gains: list[float],
               uploads_of: int = 200) -> list[dict]:
    """For each ``search_gain``: top-1 on the photo sets and on paintings sent as details, turned and in black and
    white (real_world.py's uploads of the first ``uploads_of`` paintings), where a window of a whole painting
    should not win."""
    kinds = uploads_where_a_window_should_not_win(files[:uploads_of])
    names = artists[:uploads_of]
    rows = [{"gain": None, "search": False,
             **{kind: scored(predictor, uploads, names, find=False)["top1"] for kind, uploads in kinds.items()}}]
    for gain in gains:
        predictor.search_gain = gain
        row = {"gain": gain, "search": True,
               **{kind: scored(predictor, uploads, names, find=True)["top1"] for kind, uploads in kinds.items()}}
        for name in ("scenes", "museum_photos_dev"):
            if name in sets:
                row[name] = scored(predictor, *sets[name], find=True)["top1"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def temperature_sweep(predictor, sets: dict, files: list[Path], artists: list[str], temperatures: list[float],
                      uploads_of: int = 200) -> list[dict]:
    """For each ``search_temperature``: top-1 and top-5 on every set, and top-1 on details, turned and
    black-and-white uploads of the first ``uploads_of`` paintings."""
    kinds = uploads_where_a_window_should_not_win(files[:uploads_of])
    rows = []
    for temperature in temperatures:
        predictor.search_temperature = temperature
        row = {"temperature": temperature, **{name: scored(predictor, images, names, find=True)
                                              for name, (images, names) in sets.items()},
               **{kind: scored(predictor, uploads, artists[:uploads_of], find=True)["top1"]
                  for kind, uploads in kinds.items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def scenes_of(files: list[Path], n: int) -> list[Image.Image]:
    """``n`` synthetic museum photos of the first ``n`` files (neighbours: the next files)."""
    from painting_classifier.training.museum_scenes import museum_scene
    from painting_classifier.vision.images import load_rgb

    photos = []
    for i, file in enumerate(files[:n]):
        rng = np.random.default_rng(i)
        others = [load_rgb(files[(i + k) % len(files)], min_side=256) for k in (1, 2)]
        photos.append(museum_scene(load_rgb(file, min_side=768), rng, others).photo)
    return photos


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--split", default="val", choices=("val", "test"))
    parser.add_argument("--scenes", type=int, default=120)
    parser.add_argument("--margins", default="0,0.5,1,1.5")
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--confidences", default="", help="also sweep search_confidence over these values "
                        "(against the development half of --not-the-50)")
    parser.add_argument("--gains", default="", help="also sweep search_gain over these values (details, turned "
                        "and black-and-white uploads of the split's paintings against the photo sets)")
    parser.add_argument("--temperatures", default="", help="also sweep search_temperature over these values")
    parser.add_argument("--not-the-50", type=Path, default=DATA / "not-the-50")
    parser.add_argument("--data-root", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--publish", action="store_true",
                        help="also record the results in the bundle's measured.json (the About tab's figures)")
    args = parser.parse_args(argv)

    predictor = unseen_predictor(args.model, args.split)  # the style answer: recognition has its own benchmark
    bundle = predictor.bundle
    display = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
    part = bundle.split[bundle.split["split"] == args.split].sample(frac=1, random_state=0)
    files, artists = bundle.files(part, args.data_root), [display[a] for a in part["artist"]]
    scenes = scenes_of(files, args.scenes)
    sets = {"clean": (files, artists), "scenes": (scenes, artists[:len(scenes)])}
    if (args.dev / "images.csv").is_file():
        catalogue = pd.read_csv(args.dev / "images.csv")
        sets["museum_photos_dev"] = ([args.dev / f for f in catalogue["file"]], list(catalogue["artist"]))
        boxes = dev_paintings(args.dev)
    rows = [{"margin": None, "search": False, **{name: scored(predictor, images, names, find=False)
                                                   for name, (images, names) in sets.items()}}]
    print(json.dumps(rows[-1]), flush=True)
    for margin in (float(m) for m in args.margins.split(",")):
        predictor.search_margin = margin
        rows.append({"margin": margin, "search": True, **{name: scored(predictor, images, names, find=True)
                                                          for name, (images, names) in sets.items()}})
        print(json.dumps(rows[-1]), flush=True)
    report = {**provenance(bundle.checksum, runs=1), "model": str(args.model), "split": args.split,
              "scenes": len(scenes), "rows": rows}
    if "museum_photos_dev" in sets:  # the ceiling of the finder: the painting given, as a perfect one would
        report["museum_photos_dev_at_hand_boxes"] = scored(predictor, *boxes, find=False)
    if args.confidences:
        from painting_classifier.serving.predict import SEARCH_MARGIN

        predictor.search_margin = SEARCH_MARGIN
        report["confidence_sweep"] = confidence_sweep(predictor, sets, [float(c) for c in args.confidences.split(",")],
                                                      args.not_the_50)
    if args.gains:
        from painting_classifier.serving.predict import SEARCH_CONFIDENCE, SEARCH_MARGIN

        predictor.search_margin, predictor.search_confidence = SEARCH_MARGIN, SEARCH_CONFIDENCE
        report["gain_sweep"] = gain_sweep(predictor, sets, files, artists, [float(g) for g in args.gains.split(",")])
    if args.temperatures:
        from painting_classifier.serving.predict import SEARCH_CONFIDENCE, SEARCH_GAIN, SEARCH_MARGIN

        predictor.search_margin, predictor.search_confidence = SEARCH_MARGIN, SEARCH_CONFIDENCE
        predictor.search_gain = SEARCH_GAIN
        report["temperature_sweep"] = temperature_sweep(predictor, sets, files, artists,
                                                        [float(t) for t in args.temperatures.split(",")])
    out = args.json or RESULTS / f"museum_photos_{args.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    if args.publish:
        publish(args.model, f"museum_photos_{args.split}", report)
    return report


if __name__ == "__main__":
    main()
