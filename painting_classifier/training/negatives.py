"""Other painters' paintings: what "none of the 50" looks like, for the scope score's style signal.

A negatives folder has the data set's layout (``images/<Artist_Name>/*.jpg``) with artists who are not
among the 50 (``../shared/data/other-artists``). Its paintings are split by artist, never by painting,
so the validation share measures painters the scope score has never seen, as users bring them.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .data import DataError, check_image, existing_folder, find_image_files

COLUMNS = ["file", "artist", "sha1", "width", "height", "source", "split"]


def scan_negatives(folders: list, val_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(negatives, skipped): every readable image of ``folders`` with its artist (the folder name), sha1, stored
    size and split (``val_fraction`` of the artists to "val", the rest to "train"); unreadable files with the reason."""
    rows, skipped = [], []
    for folder in [existing_folder(f) for f in folders]:
        files = find_image_files(folder)
        if not files:
            raise DataError(f"no images found in negatives folder {folder}")
        with ThreadPoolExecutor(min(8, len(files))) as pool:
            checks = list(pool.map(check_image, [f for f, _ in files]))
        for (path, artist), (sha1, width, height, problem) in zip(files, checks):
            if problem:
                skipped.append({"path": str(path), "reason": problem, "source": folder.name})
            else:
                rows.append({"file": str(path), "artist": artist, "sha1": sha1, "width": width, "height": height,
                             "source": folder.name})
    table = pd.DataFrame(rows, columns=COLUMNS[:-1]).drop_duplicates("sha1").reset_index(drop=True)
    table["split"] = split_by_artist(table["artist"], val_fraction, seed)
    return table, pd.DataFrame(skipped, columns=["path", "reason", "source"])


def split_by_artist(artists: pd.Series, val_fraction: float, seed: int) -> np.ndarray:
    """"train" or "val" per painting: a seeded ``val_fraction`` of the artists go to validation whole."""
    names = np.random.default_rng(seed).permutation(sorted(artists.unique()))
    held = set(names[: int(round(len(names) * val_fraction))])
    return np.where(artists.isin(held), "val", "train")


def summary(table: pd.DataFrame, folders: list, bundle_dir: Path) -> dict:
    """What the manifest records about the negatives: folders (relative to the bundle), counts per split."""
    import os

    return {"folders": [os.path.relpath(Path(f).resolve(), Path(bundle_dir).resolve()) for f in folders],
            **{split: {"paintings": int((table["split"] == split).sum()),
                       "artists": int(table.loc[table["split"] == split, "artist"].nunique())}
               for split in ("train", "val")}}
