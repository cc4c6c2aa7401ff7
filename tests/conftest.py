import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from synthetic import make_dataset  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "best-artworks-sample"
# Tests on the real data skip where ../shared is absent, but never in CI, which has it: there a missing sample
# is an error, so a check such as "the shipped metrics reproduce" cannot silently stop running.
SAMPLE_PRESENT = (SAMPLE / "artists.csv").is_file()
if os.environ.get("CI") and not SAMPLE_PRESENT:
    raise RuntimeError(f"CI must have the real data sample at {SAMPLE}")
needs_sample = pytest.mark.skipif(not SAMPLE_PRESENT, reason=f"real data sample not present at {SAMPLE}")
TEST_DATA = Path(__file__).resolve().parent / "data"


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


def tiny_config(**overrides):
    from painting_classifier import Config

    values = dict(backbone="lite0", view_size=64, scales=[1, 2], style_stats=True, head_l2=1e-2, calibrate=True,
                  epochs=40, patience=40,
                  duplicate_similarity=0.0,  # the synthetic styles are near-duplicates of each other to Lite0
                  learning_rate=3e-3, batch_size=16, dropout=0.2, test_fraction=0.25, val_fraction=0.25)
    values.update(overrides)
    return Config(**values)


@pytest.fixture(scope="session")
def tiny_bundle(styles_dataset, tmp_path_factory) -> Path:
    """A real bundle like the default recipe's: EfficientNet-Lite0 (ImageNet) features and style statistics
    at 64 px, 1x + 2x views, trained head."""
    from painting_classifier.training import train

    out = tmp_path_factory.mktemp("bundle") / "tiny"
    return train(styles_dataset, out, tiny_config(), progress=False)


@pytest.fixture(scope="session")
def tiny_quiz(tiny_bundle, tmp_path_factory):
    """Quiz paintings for the tiny bundle, from its test split."""
    from painting_classifier import load_bundle
    from painting_classifier.quiz import build_quiz_folder

    folder = tmp_path_factory.mktemp("quiz")
    build_quiz_folder(load_bundle(tiny_bundle), folder)
    return folder
