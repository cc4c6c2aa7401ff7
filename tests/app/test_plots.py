"""The Training tab's table of who the model names: counts from the confusion matrix, sinks first."""
import types

import pandas as pd

from painting_classifier.app.plots import named_frame


def bundle_with(matrix, measured=None):
    return types.SimpleNamespace(classes=["Titian", "Claude_Monet", "Raphael"], metrics={"confusion_matrix": matrix},
                                 measured=measured or {})


def test_an_artist_named_often_and_seldom_right_comes_first_with_its_precision():
    # rows: true artist, columns: named. Monet is named 5 times, right once.
    frame = named_frame(bundle_with([[3, 2, 0], [0, 1, 0], [0, 2, 4]]), {"Claude_Monet": "Claude Monet"})
    assert frame.iloc[0].tolist()[:3] == ["Claude Monet", 5, "20%"]
    assert frame.set_index("Artist").loc["Raphael", "Right when named (test)"] == "100%"
    assert (frame["Named (cross-validation)"] == "—").all()  # nothing measured out of fold for this bundle


def test_cross_validation_counts_come_from_the_published_per_artist_figures():
    measured = {"per_artist": {"rows": [{"artist": "Titian", "cv_named": 120, "cv_precision": 61.5},
                                        {"artist": "Claude Monet", "cv_named": 15, "cv_precision": 13.3}]}}
    frame = named_frame(bundle_with([[1, 0, 0], [0, 1, 0], [0, 0, 1]], measured), {})
    assert frame["Artist"].tolist()[:2] == ["Titian", "Claude_Monet"]  # most named out of fold first
    assert frame.iloc[0]["Right when named (cross-validation)"] == "62%"
    assert isinstance(frame, pd.DataFrame) and frame.iloc[2]["Named (cross-validation)"] == "—"
