"""Thumbnails of a gallery's paintings, for the similar paintings under an answer: one file (``thumbnails.npz``) of
small JPEGs, at most ``SIDE`` pixels.

Which paintings may be shown is a licence question. For the data set's folders only public-domain works: paintings
by artists who died before ``DIED_BEFORE`` (their artists.csv gives the years). For a collection of one's own, all
of them: they are the user's files, shown in the user's app. The shipped gallery's file is left out of git (the
project commits no more than its examples and quiz paintings); indexing the data folders writes it.
"""
from __future__ import annotations

import io
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..artists import died, normalise_name
from ..vision.images import load_rgb

THUMBNAILS_FILE = "thumbnails.npz"
SIDE = 128
QUALITY = 60  # JPEG quality: the shipped gallery's 2,247 public-domain paintings come to 6.7 MB
DIED_BEFORE = 1900
ALL, PUBLIC_DOMAIN, NONE = "all", "public-domain", "none"


def public_domain_artists(folders: list[Path], died_before: int = DIED_BEFORE) -> set[str]:
    """The artists (normalised names) whom a folder's artists.csv gives as dead before ``died_before``."""
    found = set()
    for folder in folders:
        csv = Path(folder) / "artists.csv"
        if csv.is_file():
            table = pd.read_csv(csv, dtype=str, keep_default_na=False)
            found |= {normalise_name(name) for name, years in zip(table["name"], table.get("years", ""))
                      if (died(years) or died_before) < died_before}
    return found


def shown_rows(paintings: pd.DataFrame, folders: list[Path], which: str) -> np.ndarray:
    """The gallery rows whose thumbnails may be shown: ``which`` is ``ALL``, ``PUBLIC_DOMAIN`` or ``NONE``."""
    if which == ALL:
        return np.arange(len(paintings))
    if which == NONE:
        return np.zeros(0, int)
    if which != PUBLIC_DOMAIN:
        raise ValueError(f"thumbnails: {which!r} is not one of {ALL}, {PUBLIC_DOMAIN}, {NONE}")
    allowed = public_domain_artists(folders)
    return np.flatnonzero(paintings["artist"].map(lambda artist: normalise_name(artist) in allowed).to_numpy())


def thumbnail_bytes(path: Path) -> bytes:
    """One painting file as a JPEG of at most ``SIDE`` pixels (the same bytes every time)."""
    image = load_rgb(path, min_side=SIDE)
    image.thumbnail((SIDE, SIDE), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


def write_thumbnails(out: Path, rows: np.ndarray, files: list[Path]) -> int:
    """Write the thumbnails of gallery ``rows`` (read from ``files``, one per row) to ``out``; returns its bytes.
    A file that cannot be read now is left without one."""
    kept, blobs = [], []
    for row, file in zip(rows, files):
        try:
            blobs.append(thumbnail_bytes(file))
            kept.append(row)
        except (OSError, ValueError):
            continue
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    data = np.frombuffer(b"".join(blobs), np.uint8)
    np.savez(out, rows=np.asarray(kept, np.int32), offsets=offsets, data=data)
    return Path(out).stat().st_size


class Thumbnails:
    """A gallery's thumbnails file, read at the first thumbnail asked for."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @cached_property
    def _stored(self) -> tuple[dict[int, int], np.ndarray, np.ndarray]:
        if not self.path.is_file():
            return {}, np.zeros(1, np.int64), np.zeros(0, np.uint8)
        with np.load(self.path, allow_pickle=False) as stored:
            rows, offsets, data = stored["rows"], stored["offsets"], stored["data"]
        return {int(row): i for i, row in enumerate(rows)}, offsets, data

    def __contains__(self, row: int) -> bool:
        return int(row) in self._stored[0]

    def image(self, row: int) -> Image.Image | None:
        """Gallery painting ``row``'s thumbnail, or None where it has none."""
        where, offsets, data = self._stored
        i = where.get(int(row))
        if i is None:
            return None
        return Image.open(io.BytesIO(data[offsets[i]:offsets[i + 1]].tobytes())).convert("RGB")
