"""The real-world upload and scope benchmarks run end to end on tiny generated sets; uploads are reproducible."""
import dataclasses
import json
import shutil

import pytest

from benchmarks.common import uploads
from benchmarks.quality import real_world


@pytest.fixture(scope="module")
def a_painting_file(styles_dataset):
    return next((styles_dataset / "images" / "Claude_Monet").iterdir())


@pytest.mark.parametrize("kind", uploads.KINDS)
def test_every_kind_of_upload_is_reproducible_and_readable(a_painting_file, kind):
    from painting_classifier.vision.images import load_rgb

    first, box = uploads.make_upload(a_painting_file, kind)
    assert first == uploads.make_upload(a_painting_file, kind)[0]
    upload = load_rgb(first)
    if box is not None:  # the painting lies inside the photo or screenshot
        assert 0 <= box[0] < box[2] <= upload.width and 0 <= box[1] < box[3] <= upload.height


@pytest.mark.slow
def test_benchmark_runs_end_to_end_and_publishes_its_figures_in_the_bundle(tiny_bundle, styles_dataset, tmp_path):
    from painting_classifier import load_bundle

    bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    out = tmp_path / "real_world.json"
    rows = real_world.main(["--bundle", str(bundle), "--data", str(styles_dataset), "--limit", "6",
                            "--kinds", "clean,wall,thumbnail", "--json", str(out), "--publish"])
    assert load_bundle(bundle).measured["real_world"] == json.loads(out.read_text())
    assert [(r["kind"], r["crop"]) for r in rows] == [(k, c) for k in ("clean", "wall", "thumbnail") for c in (True, False)]
    assert all(r["n"] == 6 and 0 <= r["top1"] <= r["top5"] <= 1 for r in rows)
    wall = next(r for r in rows if r["kind"] == "wall" and r["crop"])
    assert wall["cropped"] > 0.5 and wall["painting_iou"] > 0.5
    assert json.loads(out.read_text())["results"] == rows


def measured(bundle, results: dict):
    """``bundle`` as if its measured.json held ``results``."""
    return dataclasses.replace(bundle, measured=results)


def test_about_tab_shows_benchmark_results_of_its_own_model_only(tiny_bundle):
    from painting_classifier import load_bundle
    from painting_classifier.app.cards import model_card

    bundle = load_bundle(tiny_bundle)
    rows = [{"kind": "clean", "crop": True, "n": 6, "top1": 0.5, "top5": 1.0, "change_vs_clean": 0.0},
            {"kind": "thumbnail", "crop": True, "n": 6, "top1": 0.25, "top5": 0.75, "change_vs_clean": -0.25}]
    own = {"model_sha256": bundle.manifest["model_sha256"], "paintings": "test split", "results": rows}
    card = model_card(measured(bundle, {"real_world": own}), "litert")
    assert "256 px thumbnail, strong JPEG | 25.0% | 75.0% | -25.0 |" in card
    assert "Real-world uploads" not in model_card(measured(bundle, {"real_world": {**own, "model_sha256": "another"}}),
                                                  "litert")
    scope = {"model_sha256": bundle.manifest["model_sha256"], "test_kept": 0.95, "test_paintings": 12,
             "photos": {"rejected": 0.9, "n": 10, "auroc": 0.97}, "other_artists": {"rejected": 0.5, "n": 4, "auroc": 0.8}}
    assert "rejects 90% of 10 photos and" in model_card(measured(bundle, {"scope": scope}), "litert")
    assert "Not one of the 4?" not in model_card(measured(bundle, {"scope": {**scope, "model_sha256": "another"}}),
                                                 "litert")
    museum = {"model_sha256": bundle.manifest["model_sha256"], "rows": [
        {"search": False, "museum_photos_dev": {"n": 15, "top1": 0.2, "top5": 0.4}, "scenes": {"n": 60, "top1": 0.1}},
        {"search": True, "museum_photos_dev": {"n": 15, "top1": 0.4, "top5": 0.6}, "scenes": {"n": 60, "top1": 0.55}}]}
    card = model_card(measured(bundle, {"museum_photos_val": museum}), "litert")
    assert "of 15 real visitors' photos of paintings by the 4" in card
    assert "names the painter of 40% (20% without its search for the painting)" in card and "scenes, 55%" in card
    boxed = {**museum, "museum_photos_dev_at_hand_boxes": {"n": 15, "top1": 0.6, "top5": 0.8}}
    assert "cut at such boxes, the same photos get the painter first for 60% and among the five names for 80%" in model_card(
        measured(bundle, {"museum_photos_val": boxed}), "litert")
    assert "Photos taken in a museum" not in model_card(
        measured(bundle, {"museum_photos_val": {**museum, "model_sha256": "x"}}), "litert")


@pytest.mark.slow
def test_scope_benchmark_runs_end_to_end(tiny_bundle, tmp_path):
    import numpy as np
    import pandas as pd
    from PIL import Image

    from benchmarks.quality import scope as scope_benchmark
    from painting_classifier import load_bundle

    side = load_bundle(tiny_bundle).input_size
    other, rows = tmp_path / "not-the-4", []
    images = {"photos": [Image.new("RGB", (90, 60), colour) for colour in ((250, 250, 250), (20, 20, 20), (90, 140, 200))],
              "other_art": [Image.fromarray(np.random.default_rng(i).integers(0, 256, (side, side, 3), np.uint8))
                            for i in range(2)]}
    for group, pictures in images.items():
        (other / group).mkdir(parents=True)
        for i, picture in enumerate(pictures):
            picture.save(other / f"{group}/{i}.png")
            rows.append({"file": f"{group}/{i}.png", "group": group, "subject_or_artist": "generated", "source": "test"})
    pd.DataFrame(rows).to_csv(other / "images.csv", index=False)
    out = tmp_path / "scope.json"
    report = scope_benchmark.main(["--bundle", str(tiny_bundle), "--other", str(other), "--no-uploads",
                                   "--json", str(out)])
    assert report["test_paintings"] > 0 and 0.5 <= report["test_kept"] <= 1
    photos, others = report["photos"], report["other_artists"]
    assert photos["n"] == 3 and photos["rejected"] == photos["said_not_a_painting"] == 1.0  # blank pictures
    assert others["n"] == 2 and 0 <= others["rejected"] <= 1 and 0 <= others["auroc"] <= 1
    assert json.loads(out.read_text()) == report


def test_about_tab_says_how_often_paintings_are_recognised_when_measured_on_its_model(tiny_bundle):
    from painting_classifier import load_bundle
    from painting_classifier.app.cards import model_card

    bundle = load_bundle(tiny_bundle)
    recognition = {"model_sha256": bundle.checksum, "gallery": {"paintings": 6013},
                   "museum_photos_dev": {"n": 15, "recognised": 7, "wrong": 0,
                                         "painter": {"with_recognition": {"top1": 0.733}, "without": {"top1": 0.4}}},
                   "members": {"n": 60, "recognised": 58}, "non_members": {"another_painter": []}}
    card = model_card(measured(bundle, {"recognition_test": recognition}), "litert")
    assert "one of the 6,013 paintings in the app's gallery" in card and "recognised 7 (0 wrong)" in card
    assert "names the painter of 73% of those real photos (40% without)" in card
    other = {**recognition, "model_sha256": "another"}
    assert "Recognising a painting" not in model_card(measured(bundle, {"recognition_test": other}), "litert")
