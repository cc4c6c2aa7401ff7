"""Predicting many images at once: files and whole folders to one CSV table, or to plain lines.

    path,artist,probability,top5,in_scope,scope_score,recognised,error      (top5: the top-k names joined by "|")

``recognised`` names the painting the gallery verified in the image ("Title — Artist, year, museum"), if any.

One row per image, written as soon as it is known (a stopped run keeps what it has done); an image
that cannot be read gets its ``error`` and empty scores, and the run carries on.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

from tqdm.auto import tqdm

from ..scope import NOT_A_PAINTING
from ..vision.images import IMAGE_SUFFIXES
from .predict import Predictor


def columns(top_k: int = 5) -> list[str]:
    """The CSV's columns; ``top{k}`` holds the ``top_k`` likeliest artists."""
    return ["path", "artist", "probability", f"top{top_k}", "in_scope", "scope_score", "recognised", "error"]


def image_files(paths: list[Path]) -> list[Path]:
    """The images named by ``paths``: files as given, folders searched recursively for image files (sorted)."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


def row_of(path: Path, result, top_k: int = 5) -> dict:
    """One CSV row for ``result``, an ``Identification`` or the ``ValueError`` of an unreadable image."""
    if isinstance(result, Exception):
        return {"path": str(path), "error": str(result)}
    artist, probability = result.ranked[0]
    return {"path": str(path), "artist": artist, "probability": f"{probability:.4f}",
            f"top{top_k}": "|".join(name for name, _ in result.ranked[:top_k]), "in_scope": str(result.in_scope).lower(),
            "scope_score": "" if result.scope_score is None else f"{result.scope_score:.4f}",
            "recognised": recognised_line(result)}


def recognised_line(result) -> str:
    """The recognised painting as plain text ("Title — Artist, year, museum"), or ""."""
    return "" if result.recognised is None else result.recognised.headline.replace("**", "")


def scope_line(result) -> str | None:
    """The comment line that says an image is out of scope (None when it is in scope)."""
    if result.in_scope:
        return None
    what = "this looks like a photo, not a painting" if result.out_of_scope == NOT_A_PAINTING else \
        "probably not one of the painters the model knows"
    return f"# out of scope: {what} (scope score {result.scope_score:.2f}); the names below are only the closest styles"


def print_predictions(predictor: Predictor, files: list[Path], top_k: int = 5, batch_size: int = 16) -> int:
    """Print "Artist<TAB>probability" lines per image (a "# path" line first when there are several, a "# out of
    scope" line where it applies); unreadable images are reported on stderr. Returns how many were unreadable."""
    failures = 0
    for path, result in zip(files, predictor.identify_many(files, top_k=top_k, batch_size=batch_size)):
        if len(files) > 1:
            print(f"# {path}")
        if isinstance(result, Exception):
            print(f"error: {path}: {result}", file=sys.stderr)
            failures += 1
            continue
        if result.recognised is not None:
            print(f"# recognised: {recognised_line(result)}")
        if scope_line(result):
            print(scope_line(result))
        for artist, probability in result.ranked:
            print(f"{artist}\t{probability:.4f}")
    return failures


def predict_to_csv(predictor: Predictor, files: list[Path], out: Path, batch_size: int = 16,
                   progress: bool = True, top_k: int = 5) -> tuple[int, int]:
    """Identify ``files`` in batches and write one row each to ``out``; returns (readable, unreadable)."""
    counts = {"readable": 0, "unreadable": 0}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns(top_k), restval="")
        writer.writeheader()
        results = predictor.identify_many(files, top_k=top_k, batch_size=batch_size)
        for path, result in tqdm(zip(files, results), total=len(files), desc="Predicting", unit="img",
                                 disable=not progress):
            writer.writerow(row_of(path, result, top_k))
            counts["unreadable" if isinstance(result, Exception) else "readable"] += 1
    return counts["readable"], counts["unreadable"]
