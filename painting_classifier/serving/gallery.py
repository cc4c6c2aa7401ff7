"""The reference gallery: paintings the project holds, recognised in a photo as a museum guide does.

A gallery is a folder (``gallery_index.py`` writes one):

    gallery.json         format, how the keypoints were found, the folders indexed (relative), the descriptor files
    paintings.csv        per painting: file, source (data folder), artist, title, year, museum, sha1
    offsets.npy          where each painting's keypoints start (int64, one more than paintings)
    points.npy           every keypoint's place, as shares of its painting's width and height (uint16, 1 = 65535)
    descriptors-NN.npy   their SIFT descriptors (uint8), in files under 10 MB
    vocabulary.npy       visual words: k-means centres of the descriptors (float32)
    words.npy            every keypoint's visual word (uint16)
    voting_mean.npy, voting_axes.npy   the descriptors' principal axes that the votes compare them on
    thumbnails.npz       small JPEGs of the paintings it may show (``thumbnails.py``; optional)

All of it depends on the paintings only, not on the model: a retrain leaves the gallery as it is.
Recognition has two steps (``recognise``), as image search does it: a shortlist by votes (``inverted_file.py``),
then a geometric check: the paintings with the most votes get the check of ``vision.local_features``, and the match
with the most inliers above the threshold wins.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..artists import normalise_name
from ..vision.local_features import LocalFeatures, Match, verified_match
from .inverted_file import InvertedFile
from .thumbnails import THUMBNAILS_FILE, Thumbnails

GALLERY_FORMAT = 1
log = logging.getLogger(__name__)
VOCABULARY = 4096  # visual words: about 94 gallery keypoints each
VOTING_DIMENSIONS = 48  # principal axes of the descriptors that voting compares (the check uses all 128)
SHORTLIST = 10  # gallery paintings checked geometrically per photo
MIN_INLIERS = 12  # chosen on validation for precision first (benchmarks/quality/recognition.py: recognition_val.json)


class GalleryError(Exception):
    """A gallery folder that is missing or incomplete."""


@dataclass
class Recognition:
    """A gallery painting verified in a photo."""

    index: int  # row of the gallery's paintings.csv
    artist: str
    title: str  # "" where the gallery has no title for it
    year: str
    museum: str
    known: bool  # the artist is one of the model's
    inliers: int
    outline: np.ndarray  # (4, 2) the painting's corners in the photo, in the uploaded image's own pixels
    painting: Image.Image | None = None  # the painting cut out of the photo along its outline
    outlined: Image.Image | None = None  # the photo, small, with the outline drawn: what the answer shows
    gallery: "Gallery | None" = None  # the gallery it is in

    @property
    def headline(self) -> str:
        """"**The Birth of Venus** — Sandro Botticelli, c. 1485, Uffizi Gallery, Florence", or the painter alone."""
        details = ", ".join(part for part in (self.artist, self.year, self.museum) if part)
        if not self.title:
            return f"The same painting as one in the collection — {details}"
        return f"**{self.title}** — {details}"


class Gallery:
    """A gallery folder, read lazily: the descriptors are memory-mapped; ``classes``: the model's artists."""

    def __init__(self, folder: str | Path, classes: list[str] = ()):
        self.folder = Path(folder)
        manifest = self.folder / "gallery.json"
        if not manifest.is_file():
            raise GalleryError(f"{self.folder} is not a gallery (needs gallery.json)")
        self.manifest = json.loads(manifest.read_text())
        if self.manifest.get("format") != GALLERY_FORMAT:
            raise GalleryError(f"{self.folder}: unsupported gallery format {self.manifest.get('format')!r}")
        missing = [name for name in ("paintings.csv", "offsets.npy", "points.npy", "vocabulary.npy", "words.npy",
                                     "voting_mean.npy", "voting_axes.npy",
                                     *self.manifest.get("descriptor_files", [])) if not (self.folder / name).is_file()]
        if missing:
            raise GalleryError(f"{self.folder} is incomplete (no {', '.join(missing)}): index it again with "
                               "`painting-classifier gallery`")
        self.paintings = pd.read_csv(self.folder / "paintings.csv", keep_default_na=False, dtype=str)
        self.offsets = np.load(self.folder / "offsets.npy")
        self._known = {normalise_name(c) for c in classes}
        self.min_inliers = MIN_INLIERS
        self.left_out = np.zeros(len(self.paintings), bool)  # paintings the shortlist never proposes
        self._loading = threading.Lock()
        self._thumbnails = Thumbnails(self.folder / THUMBNAILS_FILE)

    def __len__(self) -> int:
        return len(self.paintings)

    def load(self) -> "Gallery":
        """Read what recognition needs now (the inverted file, the memory maps), not at the first photo; once, also
        when a photo arrives while another thread loads it."""
        with self._loading:
            _ = self._inverted_file, self._points, self._descriptors
        return self

    @cached_property
    def _points(self) -> np.ndarray:
        return np.load(self.folder / "points.npy", mmap_mode="r")

    @cached_property
    def _descriptors(self) -> list[tuple[int, np.ndarray]]:
        """(first keypoint, memory-mapped array) of every descriptor file."""
        chunks, start = [], 0
        for name in self.manifest["descriptor_files"]:
            array = np.load(self.folder / name, mmap_mode="r")
            chunks.append((start, array))
            start += len(array)
        return chunks

    @cached_property
    def source_folders(self) -> dict[str, Path]:
        """Data folder name (a painting's ``source``) -> where it was indexed from (it may not be on this machine)."""
        return {Path(folder).name: (self.folder / folder).resolve() for folder in self.manifest.get("folders", [])}

    def file_of(self, index: int) -> Path:
        """Where gallery painting ``index`` was indexed from."""
        row = self.paintings.iloc[index]
        return self.source_folders.get(row["source"], (self.folder / row["source"]).resolve()) / row["file"]

    def thumbnail(self, index: int) -> Image.Image | None:
        """Gallery painting ``index``, small, where the gallery may show it (``serving/thumbnails.py``); else None."""
        return self._thumbnails.image(index)

    def local_features(self, index: int) -> LocalFeatures:
        """The stored keypoints of gallery painting ``index``."""
        start, stop = int(self.offsets[index]), int(self.offsets[index + 1])
        first, chunk = next((first, chunk) for first, chunk in reversed(self._descriptors) if first <= start)
        points = np.asarray(self._points[start:stop], np.float32) / 65535
        return LocalFeatures(points, np.asarray(chunk[start - first:stop - first]), (1, 1))

    @cached_property
    def _inverted_file(self) -> InvertedFile:
        """The shortlist's index (``inverted_file.py``): 22 MB in memory for the shipped gallery, read one descriptors
        file at a time."""
        mean, axes = np.load(self.folder / "voting_mean.npy"), np.load(self.folder / "voting_axes.npy")
        projected = np.concatenate([((np.load(self.folder / name).astype(np.float32) - mean) @ axes).astype(np.float16)
                                    for name in self.manifest["descriptor_files"]])
        return InvertedFile(np.load(self.folder / "vocabulary.npy"), np.load(self.folder / "words.npy"),
                            np.repeat(np.arange(len(self.paintings)), np.diff(self.offsets)), projected, axes, mean,
                            len(self.paintings))

    def votes(self, photo: LocalFeatures) -> np.ndarray:
        """Per gallery painting, the votes of a photo's keypoints (``InvertedFile.votes``)."""
        return self._inverted_file.votes(photo.descriptors)

    def shortlist(self, photo: LocalFeatures, size: int = SHORTLIST) -> list[int]:
        """The ``size`` gallery paintings with the most votes from the photo's keypoints, most first."""
        if not len(photo.descriptors):
            return []
        self.load()
        votes = np.where(self.left_out, 0, self.votes(photo))
        return [int(i) for i in np.argsort(-votes, kind="stable")[:size] if votes[i] > 0]

    def recognition(self, index: int, match: Match) -> Recognition:
        row = self.paintings.iloc[index]
        return Recognition(index, row["artist"], row["title"], row["year"], row["museum"],
                           normalise_name(row["artist"]) in self._known, match.inliers, match.outline, gallery=self)

    def verified(self, seen: LocalFeatures, min_inliers: int, size: int = SHORTLIST) -> list[tuple[int, Match]]:
        """(gallery row, match) of every shortlisted painting verified in a photo's keypoints ``seen``."""
        matches = [(i, verified_match(seen, self.local_features(i), min_inliers)) for i in self.shortlist(seen, size)]
        return [(i, match) for i, match in matches if match is not None]

    def recognise(self, seen: LocalFeatures) -> Recognition | None:
        """The gallery painting shown in a photo, verified by its keypoints ``seen`` (``photo_features``), or None."""
        best = max(self.verified(seen, self.min_inliers), key=lambda pair: pair[1].inliers, default=None)
        return None if best is None else self.recognition(*best)


def bundle_gallery(bundle) -> Gallery | None:
    """The gallery a bundle names (manifest ``gallery.relative_folder``); None where it names none. A gallery that
    is missing or incomplete is left out with a warning: the style answer stands."""
    entry = bundle.manifest.get("gallery")
    if not entry:
        return None
    try:
        return Gallery(bundle.path / entry["relative_folder"], bundle.classes)
    except GalleryError as error:
        log.warning("%s; paintings are not recognised", error)
        return None


class Galleries:
    """Several galleries searched as one (the bundle's and a collection of one's own): the verified match with the
    most inliers wins."""

    def __init__(self, galleries: list[Gallery]):
        self.galleries = list(galleries)

    def load(self) -> "Galleries":
        for gallery in self.galleries:
            gallery.load()
        return self

    def recognise(self, seen: LocalFeatures) -> Recognition | None:
        found = [match for match in (gallery.recognise(seen) for gallery in self.galleries) if match is not None]
        return max(found, key=lambda match: match.inliers, default=None)
