"""Indexing a gallery (``serving/gallery.py`` reads one): ``painting-classifier gallery --data DIR... --out DIR``.

A data folder is either in the data set's layout (``images/<Artist_Name>/*.jpg``, artists.csv optional, a
``sources.csv`` of file, artist, title optional) or a plain folder of paintings with a CSV of ``file, artist,
title`` (and optionally ``year``, ``museum``). ``--titles`` adds a catalogue of famous works (file relative to the
folders' parent, title, year, museum), as ``famous-paintings/titles.csv`` has. A title is kept only where it is
words, not a number or an id.

Everything is written the same, byte for byte, every time for the same paintings (on one machine and library
versions): nothing depends on the model, so a retrain does not touch the gallery.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..artists import normalise_name
from ..vision.images import IMAGE_SUFFIXES, load_rgb
from ..vision.local_features import GALLERY_KEYPOINTS, GALLERY_SIDE, local_features
from ..vision.visual_words import nearest_words, principal_axes, vocabulary_of
from .cpus import usable_cpus
from .gallery import GALLERY_FORMAT, VOCABULARY, VOTING_DIMENSIONS
from .thumbnails import PUBLIC_DOMAIN, THUMBNAILS_FILE, shown_rows, write_thumbnails

DESCRIPTOR_FILE_BYTES = 9_500_000  # each descriptors file stays under 10 MB
COLUMNS = ["file", "source", "artist", "title", "year", "museum", "sha1"]


@dataclass
class Indexed:
    """What indexing found: the paintings, and the files left out (path, why)."""

    paintings: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0  # files identical to one already indexed, left out


def _repaired(text: str) -> str:
    """UTF-8 that was read as code page 437 (zip archives made on Windows), put right; other text as it is."""
    try:
        return text.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def title_of(text: str, artist: str) -> str:
    """A readable title from a file's recorded title, or "" where it is a number, an id or the artist's name:
    "michelangelo-creation-of-adam" -> "Creation of adam" (for Michelangelo), "Albrecht_Durer_249" -> ""."""
    text = re.sub(r"\.(jpe?g|png|webp|gif|tiff?)$", "", _repaired(str(text or "")).strip(), flags=re.I)
    name_words = set(normalise_name(artist).split())
    words = [w for w in re.sub(r"[-_]+", " ", text).split()
             if normalise_name(w).strip(",.'") not in name_words and not re.fullmatch(r"\d+px", w)]
    while words and re.fullmatch(r"[\d.,]+", words[0]):  # a leading year or number
        words.pop(0)
    meaningful = [w for w in words if re.fullmatch(r"[^\W\d_]{3,}[,.']?", w)]
    if len(meaningful) < 2 or any(re.search(r"[0-9a-f]{8,}", w.lower()) for w in words):
        return ""
    title = " ".join(words)
    return title[0].upper() + title[1:]


def _artist_names(folder: Path) -> dict[str, str]:
    """Folder spellings -> display names, from the folder's artists.csv when it has one."""
    csv = folder / "artists.csv"
    if not csv.is_file():
        return {}
    names = pd.read_csv(csv)["name"].astype(str)
    return {normalise_name(n): n for n in names}


def _layout_rows(folder: Path) -> list[dict]:
    """The paintings of a folder in the data set's layout, with titles from its sources.csv."""
    images = folder / "images" / "images" if (folder / "images" / "images").is_dir() else folder / "images"
    names = _artist_names(folder)
    sources = folder / "sources.csv"
    recorded = {}
    if sources.is_file():
        table = pd.read_csv(sources, keep_default_na=False, dtype=str)
        recorded = dict(zip(table["file"], table.get("title", [""] * len(table))))
    rows = []
    for artist_dir in sorted(p for p in images.iterdir() if p.is_dir()):
        artist = names.get(normalise_name(artist_dir.name), artist_dir.name.replace("_", " "))
        for file in sorted(f for f in artist_dir.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES):
            relative = file.relative_to(folder).as_posix()
            rows.append({"file": relative, "artist": artist, "title": title_of(recorded.get(relative, ""), artist)})
    return rows


def _catalogue_rows(folder: Path, csv: Path) -> list[dict]:
    """The paintings a plain folder's CSV lists (file, artist, title, optional year and museum)."""
    table = pd.read_csv(csv, keep_default_na=False, dtype=str)
    missing = {"file", "artist"} - set(table.columns)
    if missing:
        raise ValueError(f"{csv} needs the columns file and artist (and title); it lacks {', '.join(sorted(missing))}")
    return [{"file": row["file"], "artist": row["artist"], "title": title_of(row.get("title", ""), row["artist"]),
             "year": row.get("year", ""), "museum": row.get("museum", "")} for _, row in table.iterrows()]


def paintings_in(folder: Path) -> list[dict]:
    """Every painting a data folder holds, as rows of ``COLUMNS`` (without sha1)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    if (folder / "images").is_dir():
        rows = _layout_rows(folder)
    else:
        csvs = sorted(folder.glob("*.csv"))
        if not csvs:
            raise ValueError(f"{folder} has neither images/<Artist_Name>/ folders nor a CSV of file, artist, title")
        rows = _catalogue_rows(folder, csvs[0])
    return [{"year": "", "museum": "", **row, "source": folder.name} for row in rows]


def _with_titles(table: pd.DataFrame, titles: Path | None) -> pd.DataFrame:
    """``table`` with the title, year and museum of the famous works ``titles`` lists (they win over others)."""
    if titles is None:
        return table
    famous = pd.read_csv(titles, keep_default_na=False, dtype=str)
    keyed = {row["file"]: row for _, row in famous.iterrows()}
    for i, row in table.iterrows():
        work = keyed.get(f"{row['source']}/{row['file']}")
        if work is not None:
            table.loc[i, ["title", "year", "museum"]] = [work["title"], work["year"], work["museum"]]
    return table


def _read(path: Path):
    """(sha1, local features) of one painting file, or the error that keeps it out."""
    try:
        data = path.read_bytes()
        return hashlib.sha1(data).hexdigest(), local_features(load_rgb(data))
    except (OSError, ValueError) as error:
        return None, str(error)


def index_folders(folders: list[Path], titles: Path | None = None, progress: bool = True) -> tuple[Indexed, list]:
    """The paintings of ``folders`` with their local features; unreadable files and exact duplicates are left out
    (and listed). Returns (what was indexed, the local features in the same order)."""
    found = [(Path(folder), row) for folder in folders for row in paintings_in(folder)]
    rows, paths = [row for _, row in found], [folder / row["file"] for folder, row in found]
    with ThreadPoolExecutor(usable_cpus()) as pool:
        read = list(tqdm(pool.map(_read, paths), total=len(paths), desc="Keypoints", unit="img", disable=not progress))
    kept, features, skipped, seen = [], [], [], set()
    for row, path, (sha1, found) in zip(rows, paths, read):
        if sha1 is None:
            skipped.append((str(path), found))
        elif sha1 not in seen:
            seen.add(sha1)
            kept.append({**row, "sha1": sha1})
            features.append(found)
    table = _with_titles(pd.DataFrame(kept, columns=COLUMNS), titles)
    return Indexed(table, skipped, len(rows) - len(kept) - len(skipped)), features


def _write_local(out: Path, indexed: Indexed, features: list) -> list[str]:
    """paintings.csv, offsets, points and descriptor files; returns the descriptor files' names."""
    indexed.paintings.to_csv(out / "paintings.csv", index=False, lineterminator="\n")
    counts = [len(f.points) for f in features]
    np.save(out / "offsets.npy", np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    points = np.concatenate([f.points for f in features]) if features else np.zeros((0, 2), np.float32)
    np.save(out / "points.npy", np.round(np.clip(points, 0, 1) * 65535).astype(np.uint16))
    names, chunk, size = [], [], 0
    for found in features + [None]:
        if found is None or (size + found.descriptors.nbytes > DESCRIPTOR_FILE_BYTES and chunk):
            names.append(f"descriptors-{len(names):02d}.npy")
            np.save(out / names[-1], np.concatenate(chunk) if chunk else np.zeros((0, 128), np.uint8))
            chunk, size = [], 0
        if found is not None:
            chunk.append(found.descriptors)
            size += found.descriptors.nbytes
    for stale in set(p.name for p in out.glob("descriptors-*.npy")) - set(names):
        (out / stale).unlink()
    descriptors = np.concatenate([f.descriptors for f in features]) if features else np.zeros((0, 128), np.uint8)
    vocabulary = vocabulary_of(descriptors, VOCABULARY)
    np.save(out / "vocabulary.npy", vocabulary)
    np.save(out / "words.npy", nearest_words(descriptors, vocabulary))
    mean, axes = principal_axes(descriptors, VOTING_DIMENSIONS)
    np.save(out / "voting_mean.npy", mean)
    np.save(out / "voting_axes.npy", axes)
    return names


def build_gallery(folders: list[Path], out: Path, titles: Path | None = None, progress: bool = True,
                  thumbnails: str = PUBLIC_DOMAIN) -> Indexed:
    """Index the paintings of ``folders`` into the gallery folder ``out``, with the thumbnails ``thumbnails``
    allows (``serving/thumbnails.py``: public-domain ones by default)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = [Path(f) for f in folders]
    indexed, features = index_folders(folders, titles, progress)
    if indexed.paintings.empty:
        raise ValueError("no readable paintings in " + ", ".join(map(str, folders)))
    descriptor_files = _write_local(out, indexed, features)
    rows = shown_rows(indexed.paintings, folders, thumbnails)
    by_name = {folder.name: folder for folder in folders}
    table = indexed.paintings.iloc[rows]
    write_thumbnails(out / THUMBNAILS_FILE, rows, [by_name[s] / f for s, f in zip(table["source"], table["file"])])
    manifest = {"format": GALLERY_FORMAT, "side": GALLERY_SIDE, "keypoints": GALLERY_KEYPOINTS, "words": VOCABULARY,
                "paintings": len(indexed.paintings), "descriptor_files": descriptor_files,
                "folders": [Path(os.path.relpath(Path(f).resolve(), out.resolve())).as_posix() for f in folders]}
    (out / "gallery.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return indexed


def attach_gallery(bundle_dir: Path, gallery_dir: Path) -> None:
    """Name ``gallery_dir`` in the bundle's manifest (relative to it), so that the bundle's predictor recognises its
    paintings."""
    manifest_path = Path(bundle_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    relative = Path(os.path.relpath(Path(gallery_dir).resolve(), Path(bundle_dir).resolve())).as_posix()
    manifest["gallery"] = {"relative_folder": relative}
    manifest_path.write_text(json.dumps(manifest, indent=2))
