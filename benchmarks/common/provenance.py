"""What every results file records about where its figures come from: the commit, the model's checksum, the
cores and the number of runs (``python benchmarks/<script>.py`` writes it beside its figures)."""
from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone

from benchmarks.common.paths import ROOT


def commit() -> str:
    """The checked-out commit, with "+changes" when the working tree differs from it ("unknown" outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def provenance(model_sha256: str | None, runs: int) -> dict:
    """The provenance fields of a results file."""
    from painting_classifier.serving.cpus import usable_cpus

    return {"commit": commit(), "model_sha256": model_sha256, "cores": usable_cpus(), "machine_cores": os.cpu_count(),
            "runs": runs, "python": platform.python_version(),
            "measured": datetime.now(timezone.utc).isoformat(timespec="seconds")}
