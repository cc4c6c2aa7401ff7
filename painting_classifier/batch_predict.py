"""Predicting many images at once: files and whole folders to one CSV table.

    path,artist,probability,top5,in_scope,scope_score,error

One row per image, written as soon as it is known (a stopped run keeps what it has done); an image
that cannot be read gets its ``error`` and empty scores, and the run carries on.
"""
from __future__ import annotations

import csv
from pathlib import Path

from tqdm.auto import tqdm

from .data import IMAGE_SUFFIXES
from .predict import Predictor

COLUMNS = ["path", "artist", "probability", "top5", "in_scope", "scope_score", "error"]


def image_files(paths: list[Path]) -> list[Path]:
    """The images named by ``paths``: files as given, folders searched recursively for image files (sorted)."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


def row_of(path: Path, result) -> dict:
    """One CSV row for ``result``, an ``Identification`` or the ``ValueError`` of an unreadable image."""
    if isinstance(result, Exception):
        return {"path": str(path), "error": str(result)}
    artist, probability = result.ranked[0]
    return {"path": str(path), "artist": artist, "probability": f"{probability:.4f}",
            "top5": "|".join(name for name, _ in result.ranked[:5]), "in_scope": str(result.in_scope).lower(),
            "scope_score": "" if result.scope_score is None else f"{result.scope_score:.4f}"}


def predict_to_csv(predictor: Predictor, files: list[Path], out: Path, batch_size: int = 16,
                   progress: bool = True) -> tuple[int, int]:
    """Identify ``files`` in batches and write one row each to ``out``; returns (readable, unreadable)."""
    counts = {"readable": 0, "unreadable": 0}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, restval="")
        writer.writeheader()
        results = predictor.identify_many(files, top_k=5, batch_size=batch_size)
        for path, result in tqdm(zip(files, results), total=len(files), desc="Predicting", unit="img",
                                 disable=not progress):
            writer.writerow(row_of(path, result))
            counts["unreadable" if isinstance(result, Exception) else "readable"] += 1
    return counts["readable"], counts["unreadable"]
