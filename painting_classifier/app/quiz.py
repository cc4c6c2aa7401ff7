"""The classroom quiz, "Can you beat the model?": a student and the model name the painter of the same
paintings, ten rounds a game.

The paintings (``assets/quiz``) are public-domain works by artists who died before 1900, taken from
the shipped model's test split, so the model never trained on them. ``manifest.csv`` beside them gives
each file's artist and the sha1 of the original file as the bundle's ``split.csv`` records it; a
painting is asked only when the loaded bundle has that sha1 in its test split, for that artist.
``build_quiz_folder`` (``python -m painting_classifier quiz-images``) makes the folder from a bundle.

A round offers four names: the right one and the three artists the model finds most likely after
it (its own confusions, so they are plausible). The model's answer is its top guess.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PIL import Image

from ..artists import died, normalise_name
from ..bundle import Bundle
from ..vision.images import load_rgb

MANIFEST = "manifest.csv"
ROUNDS = 10
CHOICES = 4
MAX_SIDE = 800  # long side of a quiz image
DIED_BEFORE = 1900  # public domain everywhere


@dataclass
class Question:
    """One quiz painting with what the model makes of it."""

    file: Path
    artist: str  # display name
    choices: list[str]  # the right artist and the model's three likeliest others, in bundle order of likelihood
    model_guess: str
    model_probability: float


def qualifying(bundle: Bundle, folder: Path) -> pd.DataFrame:
    """The manifest rows of ``folder`` that may be asked with ``bundle``: the file exists and the original's sha1
    is in the bundle's test split, with the same artist. Empty without a manifest."""
    manifest_path = Path(folder) / MANIFEST
    if not manifest_path.is_file():
        return pd.DataFrame(columns=["file", "artist", "sha1"])
    manifest = pd.read_csv(manifest_path, keep_default_na=False)
    test = bundle.split[bundle.split["split"] == "test"]
    in_test = set(zip(test["sha1"], test["artist"]))
    keep = [(sha1, artist) in in_test and (Path(folder) / file).is_file()
            for sha1, artist, file in zip(manifest["sha1"], manifest["artist"], manifest["file"])]
    return manifest[keep].reset_index(drop=True)


class Quiz:
    """The paintings a bundle can ask from ``folder``; the model's answer to each is worked out the first time it is
    asked, so the app starts at once."""

    def __init__(self, predictor, folder: Path):
        self.folder = Path(folder)
        self.predictor = predictor.style_only()  # its paintings are in the gallery: the model answers by style
        bundle = predictor.bundle
        rows = qualifying(bundle, self.folder)
        display = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
        self.paintings = [(self.folder / file, display[artist]) for file, artist in zip(rows["file"], rows["artist"])]
        self._questions: dict[int, Question] = {}
        self._lock = threading.Lock()

    @property
    def rounds(self) -> int:
        """Rounds in a game: ten, or fewer when fewer paintings qualify."""
        return min(ROUNDS, len(self.paintings))

    def question_of(self, index: int) -> Question:
        """Painting ``index`` as a question: the model's answer and its three likeliest other artists."""
        with self._lock:
            if index not in self._questions:
                file, name = self.paintings[index]
                ranked = self.predictor.identify(file, top_k=CHOICES).ranked
                others = [guess for guess, _ in ranked if guess != name][: CHOICES - 1]
                self._questions[index] = Question(file, name, [name] + others, *ranked[0])
            return self._questions[index]

    def new_game(self, seed: int | None = None) -> dict:
        """A fresh game state (JSON-friendly, kept per browser session): which paintings, in which order."""
        rng = random.Random(seed)
        order = rng.sample(range(len(self.paintings)), self.rounds)
        return {"order": order, "round": 0, "you": 0, "model": 0, "answered": False, "seed": rng.randrange(2**31)}

    def question(self, game: dict) -> tuple[Question, list[str]]:
        """The current round's question and its four names in the order shown (shuffled per game and round)."""
        question = self.question_of(game["order"][game["round"]])
        choices = list(question.choices)
        random.Random(game["seed"] + game["round"]).shuffle(choices)
        return question, choices

    def answer(self, game: dict, choice: str) -> tuple[dict, bool, bool]:
        """Score the student's ``choice`` and the model's guess for this round: (new state, student right, model
        right)."""
        question, _ = self.question(game)
        you_right, model_right = choice == question.artist, question.model_guess == question.artist
        game = {**game, "answered": True, "you": game["you"] + you_right, "model": game["model"] + model_right}
        return game, you_right, model_right

    def next_round(self, game: dict) -> dict:
        return {**game, "round": game["round"] + 1, "answered": False}

    def is_over(self, game: dict) -> bool:
        return game["answered"] and game["round"] + 1 >= len(game["order"])


def build_quiz_folder(bundle: Bundle, out: Path, limit: int = 52, per_artist: int = 6,
                      died_before: int = DIED_BEFORE, exclude: list[Path] = (),
                      data_root: Path | None = None) -> pd.DataFrame:
    """Write up to ``limit`` quiz images (at most ``per_artist`` each, long side ``MAX_SIDE`` px, JPEG) and their
    manifest to ``out``: test-split paintings of ``bundle`` by artists who died before ``died_before``, except
    those named like the files in ``exclude`` (e.g. the app's examples, "Titian_110.jpg"). Returns the manifest."""
    artists = bundle.artists.assign(died=bundle.artists["years"].map(died))
    old_masters = set(artists.loc[artists["died"] < died_before, "label_name"])
    excluded = {normalise_name(Path(f).stem) for f in exclude}
    split = bundle.split
    test = split[(split["split"] == "test") & split["artist"].isin(old_masters)
                 & ~split["path"].map(lambda p: normalise_name(Path(p).stem) in excluded)].sort_values("path")
    picked = pd.concat([rows.head(per_artist) for _, rows in test.groupby("artist", sort=True)])
    picked = picked.sample(frac=1, random_state=0).head(limit)  # mixed artists; names say nothing
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (row, source) in enumerate(zip(picked.itertuples(), bundle.files(picked, data_root)), start=1):
        image = load_rgb(source, min_side=MAX_SIDE)
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        name = f"quiz_{i:02d}.jpg"
        image.save(out / name, "JPEG", quality=82, optimize=True)
        rows.append({"file": name, "artist": row.artist, "sha1": row.sha1, "original": row.path})
    manifest = pd.DataFrame(rows, columns=["file", "artist", "sha1", "original"])
    manifest.to_csv(out / MANIFEST, index=False)
    return manifest
