"""The classroom quiz: which paintings it may ask, and how a game goes."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from painting_classifier.app.quiz import CHOICES, MANIFEST, ROUNDS, Quiz, qualifying
from painting_classifier.artists import died
from painting_classifier.serving.predict import Identification

ARTISTS = pd.DataFrame({"label_name": [f"Painter_{i}" for i in range(6)], "name": [f"Painter {i}" for i in range(6)],
                        "years": ["1500 - 1560"] * 6, "bio": ["A painter."] * 6})


def split_and_folder(tmp_path: Path, n: int = 14):
    """A bundle split with ``n`` test paintings (and one train painting), and a quiz folder with a manifest
    naming all of them plus one painting of the training split and one of an unknown sha1."""
    rows, manifest = [], []
    for i in range(n + 2):
        artist, sha1 = f"Painter_{i % 6}", f"{i:040x}"
        split = "train" if i == n else "test"
        if i < n + 1:
            rows.append({"path": f"images/{artist}/{artist}_{i}.jpg", "artist": artist, "sha1": sha1, "split": split})
        Image.new("RGB", (40, 30), (i * 10, 80, 120)).save(tmp_path / f"quiz_{i:02d}.jpg")
        manifest.append({"file": f"quiz_{i:02d}.jpg", "artist": artist, "sha1": sha1, "original": "x"})
    pd.DataFrame(manifest).to_csv(tmp_path / MANIFEST, index=False)
    return pd.DataFrame(rows), tmp_path


class FakePredictor:
    """Ranks the painter of file quiz_NN.jpg as NN % 6 shifted by one (so the model is always wrong) for odd NN."""

    def __init__(self, split):
        self.bundle = SimpleNamespace(split=split, artists=ARTISTS)

    def style_only(self):
        return self

    def identify(self, file, top_k=5):
        i = int(Path(file).stem.split("_")[1])
        order = np.roll(np.arange(6), -((i % 6) + (i % 2)))[:top_k]
        return Identification([(f"Painter {j}", 0.5 / (r + 1)) for r, j in enumerate(order)], np.zeros(6), None)


def test_a_painting_missing_from_the_test_split_is_never_offered(tmp_path):
    split, folder = split_and_folder(tmp_path)
    allowed = qualifying(SimpleNamespace(split=split), folder)
    assert len(allowed) == 14
    assert "quiz_14.jpg" not in set(allowed["file"])  # in the training split
    assert "quiz_15.jpg" not in set(allowed["file"])  # not in the bundle at all
    quiz = Quiz(FakePredictor(split), folder)
    seen = set()
    for seed in range(20):
        game = quiz.new_game(seed)
        for _ in range(quiz.rounds):
            seen.add(quiz.question(game)[0].file.name)
            game = quiz.next_round(quiz.answer(game, "nobody")[0])
    assert seen == set(allowed["file"])


def test_a_painting_whose_artist_differs_from_the_split_is_not_offered(tmp_path):
    split, folder = split_and_folder(tmp_path)
    split.loc[0, "artist"] = "Painter_5"  # the bundle says another painter for that sha1
    assert "quiz_00.jpg" not in set(qualifying(SimpleNamespace(split=split), folder)["file"])


def test_a_bundle_without_quiz_paintings_has_nothing_to_ask(tmp_path):
    split, folder = split_and_folder(tmp_path)
    other = split.assign(sha1=[f"{i:040x}" for i in range(100, 100 + len(split))])
    quiz = Quiz(FakePredictor(other), folder)
    assert quiz.paintings == [] and quiz.rounds == 0
    assert Quiz(FakePredictor(split), tmp_path / "no such folder").paintings == []


def test_a_game_is_ten_rounds_of_four_names_with_the_right_one_among_them(tmp_path):
    split, folder = split_and_folder(tmp_path)
    quiz = Quiz(FakePredictor(split), folder)
    game = quiz.new_game(seed=1)
    assert quiz.rounds == ROUNDS and len(set(game["order"])) == ROUNDS
    for round_ in range(ROUNDS):
        question, choices = quiz.question(game)
        assert len(set(choices)) == CHOICES and question.artist in choices
        assert set(choices) == set(question.choices)  # the right one and the model's three likeliest others
        game, you_right, model_right = quiz.answer(game, question.artist)
        assert you_right and model_right == (question.model_guess == question.artist)
        assert quiz.is_over(game) == (round_ == ROUNDS - 1)
        if not quiz.is_over(game):
            game = quiz.next_round(game)
    assert game["you"] == ROUNDS and 0 < game["model"] < ROUNDS


def test_died_reads_the_year_of_death():
    assert died("1840 - 1926") == 1926 and died("c. 1360 - 1430") == 1430 and died("") is None


@pytest.mark.slow
def test_quiz_images_from_a_bundle_are_small_public_domain_test_paintings(tiny_bundle, tmp_path):
    from painting_classifier import load_bundle
    from painting_classifier.app.quiz import MAX_SIDE, build_quiz_folder

    bundle = load_bundle(tiny_bundle)
    manifest = build_quiz_folder(bundle, tmp_path, limit=5, per_artist=2, died_before=1873)
    test = bundle.split[bundle.split["split"] == "test"]
    assert 0 < len(manifest) <= 5 and manifest.groupby("artist").size().max() <= 2
    assert set(manifest["sha1"]) <= set(test["sha1"])
    assert "Vincent_van_Gogh" not in set(manifest["artist"])  # synthetic years 1803 - 1873: not before 1873
    assert all(max(Image.open(tmp_path / f).size) <= MAX_SIDE for f in manifest["file"])
    assert len(qualifying(bundle, tmp_path)) == len(manifest)


@pytest.mark.slow
def test_the_quiz_tab_says_it_has_nothing_to_ask_with_a_bundle_none_of_its_paintings_qualify_for(tiny_bundle):
    from painting_classifier import Predictor
    from painting_classifier.app.blocks import build_demo
    from tests.helpers import ROOT

    demo = build_demo(Predictor.from_bundle(tiny_bundle), quiz_dir=ROOT / "assets" / "quiz").demo  # the real paintings
    texts = [c.get("props", {}).get("value") for c in demo.config["components"]]
    assert any(isinstance(t, str) and "has no quiz paintings to ask" in t for t in texts)
    assert "quiz_answer" not in {d.get("api_name") for d in demo.config["dependencies"]}
