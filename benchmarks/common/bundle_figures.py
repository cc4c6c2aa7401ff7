"""The figures the app's About tab shows ship in the bundle (``measured.json``): a benchmark run with ``--publish``
copies its results there, when they were measured on that bundle's model."""
from __future__ import annotations

import json
from pathlib import Path


def publish(bundle_path: Path, name: str, result: dict) -> Path:
    """Record ``result`` under ``name`` in the bundle's ``measured.json``; ``ValueError`` when it was measured on
    another model than the bundle's."""
    from painting_classifier.bundle import MEASURED_FILE, load_bundle

    bundle = load_bundle(bundle_path)
    if result.get("model_sha256") != bundle.checksum:
        raise ValueError(f"{name} was measured on model {result.get('model_sha256')}, not on {bundle_path}'s")
    path = Path(bundle_path) / MEASURED_FILE
    measured = json.loads(path.read_text()) if path.is_file() else {}
    measured[name] = result
    path.write_text(json.dumps(measured, indent=1) + "\n")
    return path
