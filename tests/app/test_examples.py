"""The examples teach: each is labelled with its painter, and the one instructive miss says so."""
from pathlib import Path

from painting_classifier.app.cards import style_line
from painting_classifier.app.identify_tab import example_labels

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_examples_are_labelled_with_painters_and_one_labelled_miss():
    folder = ROOT / "assets" / "examples"
    files = sorted(folder.glob("*.jpg"))
    labels = example_labels(folder, files, ["Alfred Sisley", "Albrecht Dürer", "Titian"])
    assert labels[[f.name for f in files].index("Albrecht_Durer_235.jpg")] == "Albrecht Dürer"  # the accent back
    misses = [label for label in labels if "Why?" in label]
    assert misses == ["Alfred Sisley: the model says Monet. Why?"]


def test_a_recognised_paintings_style_guess_is_said_as_agreement_or_as_a_miss():
    assert "too" in style_line("Titian", ("Titian", 0.97))
    miss = style_line("Alfred Sisley", ("Claude Monet", 0.94))
    assert "Claude Monet** (94%), not Alfred Sisley: a miss" in miss
    assert style_line("Titian", None) == ""
