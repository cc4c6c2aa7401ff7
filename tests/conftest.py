import os
from pathlib import Path

import pytest

from tests.helpers import tiny_config
from tests.synthetic import make_dataset

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session", autouse=True)
def feature_cache(tmp_path_factory):
    """Keep backbone-feature caches of the tests out of the user's cache dir."""
    path = tmp_path_factory.mktemp("feature-cache")
    os.environ["PAINTING_CLASSIFIER_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def styles_dataset(tmp_path_factory) -> Path:
    """Four synthetic artists with distinguishable styles, 12 paintings each."""
    return make_dataset(tmp_path_factory.mktemp("styles") / "data", per_artist=12, size=64)


@pytest.fixture(scope="session")
def tiny_bundle(styles_dataset, tmp_path_factory) -> Path:
    """A real bundle like the default recipe's: EfficientNet-Lite0 (ImageNet) features and style statistics
    at 64 px, 1x + 2x views, trained head."""
    from painting_classifier.training.run import train

    out = tmp_path_factory.mktemp("bundle") / "tiny"
    return train(styles_dataset, out, tiny_config(), progress=False)


@pytest.fixture(scope="session")
def tiny_quiz(tiny_bundle, tmp_path_factory):
    """Quiz paintings for the tiny bundle, from its test split."""
    from painting_classifier import load_bundle
    from painting_classifier.app.quiz import build_quiz_folder

    folder = tmp_path_factory.mktemp("quiz")
    build_quiz_folder(load_bundle(tiny_bundle), folder)
    return folder
