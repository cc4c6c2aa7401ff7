"""The default model in assets/model: loads, is small, and its reported test metrics are real."""
import json
import re

import pytest

from painting_classifier import Predictor, load_bundle
from painting_classifier.artists import label_from_filename, normalise_name
from tests.helpers import ROOT, SAMPLE, needs_sample

pytestmark = pytest.mark.slow  # trains models or starts the app: not in the quick unit loop

MODEL = ROOT / "assets" / "model"
EXAMPLES = ROOT / "assets" / "examples"


@pytest.fixture(scope="module")
def predictor():
    return Predictor.from_bundle(MODEL)


def test_shipped_bundle_is_complete_and_small(predictor):
    bundle = predictor.bundle
    assert len(bundle.classes) == 50
    assert sum(f.stat().st_size for f in MODEL.iterdir()) < 20 * 1024 * 1024
    for name in ("manifest.json", "artists.csv", "history.csv", "split.csv", "metrics.json", "skipped.csv", "scope.npz",
                 "model.tflite", "head.keras", "similar.npz"):
        assert (MODEL / name).is_file()
    assert bundle.metrics["split"] == "test" and bundle.metrics["n_images"] > 100
    assert bundle.manifest["config"] == {**bundle.manifest["config"], "backbone": "lite0"}
    assert bundle.scope is not None


def test_every_shipped_quiz_painting_qualifies_and_the_images_stay_small(predictor):
    """All quiz paintings are public domain, in the shipped model's test split, and with the examples
    at most 60 files and 8 MB (retraining the default model must keep this true: run quiz-images again)."""
    from painting_classifier.app.quiz import MANIFEST, Quiz, qualifying
    from painting_classifier.artists import died

    quiz_dir = ROOT / "assets" / "quiz"
    manifest = (quiz_dir / MANIFEST).read_text().splitlines()
    allowed = qualifying(predictor.bundle, quiz_dir)
    assert len(allowed) == len(manifest) - 1 >= 10  # every row but the header
    years = dict(zip(predictor.bundle.artists["label_name"], predictor.bundle.artists["years"]))
    assert all(died(years[artist]) < 1900 for artist in allowed["artist"])
    images = sorted(quiz_dir.glob("*.jpg")) + sorted(EXAMPLES.glob("*.jpg"))
    assert len(images) <= 60 and sum(f.stat().st_size for f in images) <= 8 * 1024 * 1024
    assert Quiz(predictor, quiz_dir).rounds == 10


def test_the_quiz_model_answers_by_style_and_never_looks_its_paintings_up(predictor):
    """The quiz paintings are in the gallery: the model's answer must be its style answer, not a recognition."""
    from painting_classifier.app.quiz import Quiz

    assert predictor.gallery is not None and predictor.similar is not None
    quiz = Quiz(predictor, ROOT / "assets" / "quiz")
    style = Predictor(predictor.bundle, gallery=None)
    for index in range(3):
        question = quiz.question_of(index)
        assert predictor.identify(question.file).recognised is not None  # the gallery does hold it
        assert question.model_probability == pytest.approx(style.identify(question.file).ranked[0][1])


def test_examples_are_public_domain_test_paintings(predictor):
    bundle = predictor.bundle
    test_files = {p.rsplit("/", 1)[-1] for p in bundle.split[bundle.split["split"] == "test"]["path"]}
    died = {normalise_name(n): int(re.findall(r"\d{4}", str(y))[-1])
            for n, y in zip(bundle.artists["name"], bundle.artists["years"])}
    examples = sorted(EXAMPLES.glob("*.jpg"))
    assert 4 <= len(examples) <= 12
    hits = 0
    for example in examples:
        assert example.name in test_files  # never trained on
        artist = normalise_name(label_from_filename(example))
        assert died[artist] < 1900
        top5 = [normalise_name(name) for name, _ in predictor.predict(example, top_k=5)]
        hits += artist in top5
    assert hits >= len(examples) // 2


@needs_sample
def test_reported_test_metrics_reproduce(tmp_path):
    from painting_classifier.cli import main

    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--model", str(MODEL), "--split", "test", "--data-root", str(SAMPLE),
                 "--json", str(out), "--no-progress"]) == 0
    again = json.loads(out.read_text())
    saved = load_bundle(MODEL).metrics
    for key in ("top1", "top5", "balanced_accuracy", "macro_f1", "mean_confidence", "n_images"):
        assert again[key] == pytest.approx(saved[key], abs=1e-6), key


def test_no_committed_file_is_over_10_mb():
    """Hugging Face Spaces refuse files over 10 MB without Git LFS."""
    import subprocess

    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    sizes = {name: (ROOT / name).stat().st_size for name in files.split("\0") if name and (ROOT / name).is_file()}
    assert len(sizes) > 100 and max(sizes.values()) <= 10 * 1024 * 1024, max(sizes, key=sizes.get)
