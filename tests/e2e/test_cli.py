"""End-to-end: the commands a user types, on tiny generated data sets."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.helpers import ROOT
from tests.synthetic import make_dataset, make_other_painters

pytestmark = pytest.mark.slow  # trains models or starts the app: not in the quick unit loop

TINY = ["--backbone", "lite0", "--view-size", "48", "--scales", "1,2", "--epochs", "15", "--patience", "15",
        "--learning-rate", "3e-3", "--batch-size", "16", "--test-fraction", "0.25", "--no-progress",
        "--duplicate-similarity", "0"]  # the synthetic styles are near-duplicates of each other to Lite0


def run(*args, check=True):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    data = make_dataset(base / "data", per_artist=10, size=64)
    result = run("train.py", "--data", data, "--out", base / "model", *TINY)
    return base, data, result


def test_train_reports_progress_and_writes_a_bundle(trained):
    base, _, result = trained
    assert "40 paintings of 4 artists" in result.stdout
    assert "Epoch 15/15" in result.stdout or "Epoch 1/15" in result.stdout
    assert "Test: top-1" in result.stdout
    assert {"head.keras", "model.tflite", "manifest.json"} <= {f.name for f in (base / "model").iterdir()}


def test_train_with_a_gallery_indexes_its_paintings_and_the_bundle_names_it(tmp_path):
    from painting_classifier import Predictor

    data = make_dataset(tmp_path / "data", per_artist=4, size=64)
    result = run("train.py", "--data", data, "--out", tmp_path / "model", "--gallery", tmp_path / "gallery",
                 *TINY)
    assert "Gallery: 16 paintings indexed" in result.stdout
    predictor = Predictor.from_bundle(tmp_path / "model")
    assert len(predictor.gallery) == 16 and predictor.bundle.manifest["gallery"] == {"relative_folder": "../gallery"}


def test_evaluate_on_unseen_paintings_and_on_the_test_split(trained, tmp_path):
    base, _, _ = trained
    unseen = make_dataset(tmp_path / "unseen", per_artist=5, size=64, seed=99, layout="flat")
    (unseen / "artists.csv").unlink()  # a folder of paintings only: artists come from the model
    out = tmp_path / "metrics.json"
    run("-m", "painting_classifier", "evaluate", "--model", base / "model", "--data", unseen, "--json", out,
        "--no-progress")
    metrics = json.loads(out.read_text())
    assert {"top1", "top5", "balanced_accuracy", "macro_f1", "n_images", "per_artist"} <= set(metrics)
    assert metrics["n_images"] == 20 and metrics["top1"] > 0.5
    split = run("-m", "painting_classifier", "evaluate", "--model", base / "model", "--split", "test",
                "--no-progress")
    saved = json.loads((base / "model" / "metrics.json").read_text())
    assert f"top-1 {saved['top1']:.1%}" in split.stdout  # scoring the split again gives the bundle's numbers


def test_predict_prints_artist_tab_probability_best_first(trained):
    base, data, _ = trained
    painting = next((data / "images" / "Claude_Monet").iterdir())
    result = run("-m", "painting_classifier", "predict", "--model", base / "model", painting, "--top-k", "3")
    assert not any(noise in result.stderr for noise in ("cuInit", "oneDNN", "absl", "XNNPACK")), result.stderr
    lines = [l.split("\t") for l in result.stdout.strip().splitlines()]
    assert len(lines) == 3
    probabilities = [float(p) for _, p in lines]
    assert probabilities == sorted(probabilities, reverse=True)
    assert {name for name, _ in lines} <= {"Albrecht Dürer", "Claude Monet", "Piet Mondrian", "Vincent van Gogh"}
    verbose = run("-m", "painting_classifier", "predict", "--verbose", "--model", base / "model", painting)
    assert verbose.stdout == run("-m", "painting_classifier", "predict", "--model", base / "model", painting).stdout
    assert "XNNPACK" in verbose.stderr  # TensorFlow's own logging, when asked for


def test_predict_on_a_bad_file_is_a_readable_error(trained, tmp_path):
    base, _, _ = trained
    bad = tmp_path / "notes.jpg"
    bad.write_text("just text")
    result = run("-m", "painting_classifier", "predict", "--model", base / "model", bad, check=False)
    assert result.returncode == 1
    assert "not an image" in result.stderr and "Traceback" not in result.stderr


def test_predict_a_folder_to_csv_carries_on_past_an_unreadable_file(trained, tmp_path):
    base, data, _ = trained
    folder = tmp_path / "to sort"
    (folder / "nested").mkdir(parents=True)
    paintings = sorted((data / "images" / "Piet_Mondrian").iterdir())[:3]
    for painting in paintings:
        (folder / "nested" / painting.name).write_bytes(painting.read_bytes())
    (folder / "broken.jpg").write_text("not a picture")
    (folder / "readme.txt").write_text("not an image file name: skipped")
    out = tmp_path / "out.csv"
    result = run("-m", "painting_classifier", "predict", "--model", base / "model", "--csv", out, folder,
                 "--batch-size", "2")
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == ["path", "artist", "probability", "top5", "in_scope", "scope_score", "recognised",
                                   "error"]
    assert len(table) == 4 and "Predicting" in result.stderr
    broken = table[table["path"].str.endswith("broken.jpg")].iloc[0]
    assert "not an image" in broken["error"] and broken["artist"] == broken["probability"] == ""
    good = table[table["error"] == ""]
    assert len(good) == 3 and set(good["in_scope"]) <= {"true", "false"}
    assert all(len(top5.split("|")) == 4 and top5.split("|")[0] == artist  # 4 artists in this model
               for top5, artist in zip(good["top5"], good["artist"]))
    assert all(0 < float(p) <= 1 for p in good["probability"]) and all(s != "" for s in good["scope_score"])
    only_broken = run("-m", "painting_classifier", "predict", "--model", base / "model", "--csv", out,
                      folder / "broken.jpg", check=False)
    assert only_broken.returncode == 1  # nothing could be read
    run("-m", "painting_classifier", "predict", "--model", base / "model", "--csv", out, folder, "--top-k", "2")
    table = pd.read_csv(out, keep_default_na=False)
    assert "top2" in table and all(len(names.split("|")) == 2 for names in table.loc[table["error"] == "", "top2"])


def test_plain_predict_says_when_a_picture_is_out_of_scope(trained, tmp_path):
    base, data, _ = trained
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (128, 128, 3), np.uint8)).save(noise)
    painting = next((data / "images" / "Claude_Monet").iterdir())
    printed = run("-m", "painting_classifier", "predict", "--model", base / "model", noise, painting,
                  "--top-k", "2").stdout.splitlines()
    assert printed[:2] == [f"# {noise}", printed[1]] and printed[1].startswith("# out of scope: ")
    assert "closest styles" in printed[1] and len(printed) == 2 + 2 + 1 + 2  # no scope line for the painting


@pytest.mark.parametrize("problem", ["no csv", "no images", "no folder"])
def test_bad_data_is_a_one_line_error(tmp_path, problem):
    data = tmp_path / "data"
    if problem != "no folder":
        make_dataset(data, per_artist=1, size=8)
    if problem == "no csv":
        (data / "artists.csv").unlink()
    if problem == "no images":
        for f in data.rglob("*.jpg"):
            f.unlink()
    result = run("train.py", "--data", data, "--out", tmp_path / "out", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command, option", [(["train.py"], "--data"), (["-m", "painting_classifier", "evaluate"], "--model"),
                                             (["-m", "painting_classifier", "predict"], "--top-k"),
                                             (["-m", "painting_classifier", "export"], "--model")])
def test_help_runs(command, option):
    assert option in run(*command, "--help").stdout


def test_every_option_has_help_text():
    import argparse

    from painting_classifier.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    data = make_dataset(tmp_path / "data", per_artist=6, size=48)
    result = run("train.py", "--data", data, "--out", tmp_path / "model", "--view-size", "48", "--epochs", "3",
                 "--strategy", "mirrored", "--cpu-devices", "2", "--test-fraction", "0.25", "--no-progress",
                 "--duplicate-similarity", "0")
    assert "mirrored strategy: training in sync on 2 devices" in result.stdout
    assert json.loads((tmp_path / "model" / "manifest.json").read_text())["config"]["strategy"] == "mirrored"



def test_a_bundle_trained_with_other_painters_rejects_painters_it_never_saw(tmp_path):
    """--negatives: the scope score learns other painters' style; it rejects its validation painters (never
    trained on) and new paintings in their style, keeps the artists' test paintings, and `predict` says so.
    (That the style signal itself turns the score, where likeness alone would keep them: test_scope.py.)"""
    data = make_dataset(tmp_path / "data", per_artist=16, size=64)  # 16 per artist: a steadier threshold
    negatives = make_other_painters(tmp_path / "other-artists", painters=10, per_painter=4)
    run("train.py", "--data", data, "--negatives", negatives, "--out", tmp_path / "model", *TINY)
    scope = json.loads((tmp_path / "model" / "manifest.json").read_text())["scope"]
    assert scope["negatives"]["train"]["artists"] == 8 and scope["negatives"]["val"]["artists"] == 2
    assert scope["negatives"]["rejected_on_validation"] >= 0.75
    assert str(tmp_path) not in json.dumps(scope)
    unseen = make_other_painters(tmp_path / "unseen", painters=2, per_painter=4, seed=11)
    table = tmp_path / "unseen.csv"
    run("-m", "painting_classifier", "predict", "--model", tmp_path / "model", "--csv", table, unseen)
    assert (pd.read_csv(table)["in_scope"] == False).mean() >= 0.75  # noqa: E712 (a column of booleans)
    rejected = pd.read_csv(table).query("in_scope == False")["path"].iloc[0]
    printed = run("-m", "painting_classifier", "predict", "--model", tmp_path / "model", rejected).stdout
    assert printed.splitlines()[0].startswith("# out of scope: ")
    split = pd.read_csv(tmp_path / "model" / "split.csv")
    test = [data / p for p in split.loc[split["split"] == "test", "path"]]
    run("-m", "painting_classifier", "predict", "--model", tmp_path / "model", "--csv", tmp_path / "test.csv", *test)
    assert (pd.read_csv(tmp_path / "test.csv")["in_scope"] == True).mean() >= 0.75  # noqa: E712


def test_training_only_folder_and_near_duplicates_are_recorded(tmp_path):
    data = make_dataset(tmp_path / "kaggle", per_artist=6, size=48)
    more = make_dataset(tmp_path / "more", per_artist=3, size=48, seed=7)
    copy = next((data / "images" / "Claude_Monet").iterdir())
    (more / "images" / "Claude_Monet" / "copy.jpg").write_bytes(copy.read_bytes())  # the same file in both
    run("train.py", "--data", data, "--train-only", more, "--out", tmp_path / "model", "--view-size", "48",
        "--epochs", "2", "--test-fraction", "0.25", "--duplicate-similarity", "0", "--no-progress")
    model = tmp_path / "model"
    split = pd.read_csv(model / "split.csv")
    assert set(split.loc[split["source"] == "more", "split"]) <= {"train", "val"}
    assert split.groupby("group")["split"].nunique().max() == 1
    sources = json.loads((model / "manifest.json").read_text())["sources"]
    assert sources["more"]["train_only"] and not sources["kaggle"]["train_only"]
    groups = pd.read_csv(model / "near_duplicates.csv")
    assert sorted(groups["source"]) == ["kaggle", "more"]  # the copy and its original
    assert str(tmp_path) not in (model / "manifest.json").read_text()  # no absolute paths of the training machine
    moved = tmp_path / "moved"
    moved.mkdir()
    for folder in (data, more):
        folder.rename(moved / folder.name)
    lost = run("-m", "painting_classifier", "evaluate", "--model", model, "--split", "train", "--no-progress",
               check=False)
    assert lost.returncode == 2 and "--data-root" in lost.stderr
    found = run("-m", "painting_classifier", "evaluate", "--model", model, "--split", "train", "--no-progress",
                "--data-root", moved)  # both folders, training-only included, found by name
    assert f"({(split['split'] == 'train').sum()} paintings" in found.stdout


def test_quiz_images_replaces_its_folder_only_when_the_quiz_is_made(trained, tmp_path):
    base, data, _ = trained
    out = tmp_path / "quiz"
    made = run("-m", "painting_classifier", "quiz-images", "--model", base / "model", "--out", out)
    files = sorted(f.name for f in out.iterdir())
    assert "manifest.csv" in files and len(files) > 1 and "quiz paintings" in made.stdout
    hidden = data.rename(tmp_path / "hidden")  # the paintings cannot be read: the run fails half-way
    try:
        failed = run("-m", "painting_classifier", "quiz-images", "--model", base / "model", "--out", out, check=False)
    finally:
        hidden.rename(data)
    assert failed.returncode == 2 and sorted(f.name for f in out.iterdir()) == files
    assert run("-m", "painting_classifier", "quiz-images", "--model", base / "model", check=False).returncode == 2


def test_gallery_indexes_a_collection_and_predict_names_its_paintings_on_every_surface(tiny_bundle, tmp_path):
    import shutil

    from painting_classifier import load_bundle
    from painting_classifier.training.museum_scenes import museum_scene
    from tests.serving.test_recognition import a_collection

    artists = list(load_bundle(tiny_bundle).display_names[:2]) + ["Johannes Vermeer"]
    paintings = a_collection(tmp_path / "teacher", artists, seed=4)
    Image.open(tmp_path / "teacher" / "painting_0.jpg").save(tmp_path / "teacher" / "copy.png")  # unlisted: ignored
    (tmp_path / "teacher" / "broken.jpg").write_bytes(b"not an image")
    pd.concat([pd.read_csv(tmp_path / "teacher" / "catalogue.csv"),
               pd.DataFrame([{"file": "broken.jpg", "artist": "Nobody", "title": "A broken file"}])]).to_csv(
        tmp_path / "teacher" / "catalogue.csv", index=False)
    bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    indexed = run("-m", "painting_classifier", "gallery", "--model", bundle, "--data", tmp_path / "teacher",
                  "--out", tmp_path / "gallery", "--no-progress")
    assert "3 paintings of 3 painters indexed (3 with a title)" in indexed.stdout
    assert "skipped" in indexed.stderr and "broken.jpg" in indexed.stderr
    photo = tmp_path / "vermeer.jpg"
    museum_scene(paintings[2], np.random.default_rng(8)).photo.save(photo, quality=90)
    printed = run("-m", "painting_classifier", "predict", "--model", bundle, photo, "--top-k", "2").stdout
    assert printed.startswith("# recognised: Harbour at dusk number 2 — Johannes Vermeer")
    assert "# out of scope: probably not one of the painters the model knows" in printed
    run("-m", "painting_classifier", "predict", "--model", bundle, "--csv", tmp_path / "out.csv", photo, "--no-progress")
    row = pd.read_csv(tmp_path / "out.csv").iloc[0]
    assert row["recognised"] == "Harbour at dusk number 2 — Johannes Vermeer" and not row["in_scope"]


def test_predict_recognises_a_collection_of_ones_own_indexed_once_and_cached(tiny_bundle, tmp_path):
    from painting_classifier.training.museum_scenes import museum_scene
    from tests.serving.test_recognition import a_collection

    paintings = a_collection(tmp_path / "my-vermeers", ["Johannes Vermeer", "Johannes Vermeer"], seed=9)
    photo = tmp_path / "milkmaid.jpg"
    museum_scene(paintings[1], np.random.default_rng(3)).photo.save(photo, quality=90)
    cache = tmp_path / "cache"
    env_run = lambda *args: subprocess.run([sys.executable, "-m", "painting_classifier", *map(str, args)], cwd=ROOT,
                                           env={**os.environ, "PAINTING_CLASSIFIER_CACHE": str(cache)},
                                           capture_output=True, text=True, timeout=600)
    first = env_run("predict", "--model", tiny_bundle, "--gallery", tmp_path / "my-vermeers", photo)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.startswith("# recognised: Harbour at dusk number 1 — Johannes Vermeer")
    indexed = list((cache / "galleries").iterdir())
    assert len(indexed) == 1
    again = env_run("predict", "--model", tiny_bundle, "--gallery", tmp_path / "my-vermeers", photo)
    assert again.stdout == first.stdout and list((cache / "galleries").iterdir()) == indexed  # from the cache
    missing = env_run("predict", "--model", tiny_bundle, "--gallery", tmp_path / "nowhere", photo)
    assert missing.returncode == 2 and "nowhere is not a folder of paintings" in missing.stderr
