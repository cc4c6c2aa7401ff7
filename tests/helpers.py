"""What tests share besides fixtures: where things are, whether the real data is here, the tiny training config."""
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared" / "data" / "best-artworks-sample"
# Tests on the real data skip where ../shared is absent, but never in CI, which has it: there a missing sample
# is an error, so a check such as "the shipped metrics reproduce" cannot silently stop running.
SAMPLE_PRESENT = (SAMPLE / "artists.csv").is_file()
if os.environ.get("CI") and not SAMPLE_PRESENT:
    raise RuntimeError(f"CI must have the real data sample at {SAMPLE}")
needs_sample = pytest.mark.skipif(not SAMPLE_PRESENT, reason=f"real data sample not present at {SAMPLE}")
TEST_DATA = Path(__file__).resolve().parent / "data"


def tiny_config(**overrides):
    """The default recipe's shape at 64 px, quick enough for a test run."""
    from painting_classifier import Config

    values = dict(backbone="lite0", view_size=64, scales=[1, 2], style_stats=True, head_l2=1e-2, calibrate=True,
                  epochs=40, patience=40,
                  duplicate_similarity=0.0,  # the synthetic styles are near-duplicates of each other to Lite0
                  learning_rate=3e-3, batch_size=16, dropout=0.2, test_fraction=0.25, val_fraction=0.25)
    values.update(overrides)
    return Config(**values)


def packages_in(importtime_log: str) -> set[str]:
    """The top-level packages a ``python -X importtime`` log shows imported."""
    return {name.split(".")[0] for name in re.findall(r"^import time:.*\|\s+([\w.]+)\s*$", importtime_log, re.M)}
