"""Reading the "Best Artworks of All Time" data set: artists, paintings, splits, tf.data streams."""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..artists import label_from_filename, normalise_name
from ..vision.images import IMAGE_SUFFIXES, load_array, load_rgb, stored_size

SHUFFLE_BUFFER = 256  # images held for per-epoch reshuffling (the file order is shuffled once up front)
ARTIST_COLUMNS = ["name", "years", "genre", "nationality", "bio", "wikipedia"]


class DataError(Exception):
    """A data set that cannot be used; the message is meant for the user."""


@dataclass
class Dataset:
    """Paintings found on disk in one or more folders, joined to the artists in artists.csv."""

    root: Path  # the first folder
    artists: pd.DataFrame  # one row per class, in label order; column "label_name" = name joined with "_"
    paintings: pd.DataFrame  # path (relative to its folder), artist (label name), label, sha1, width, height, source
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["path", "reason", "source"]))
    artists_without_paintings: list[str] = field(default_factory=list)
    unknown_artists: list[str] = field(default_factory=list)  # folders / prefixes with no csv row
    sources: dict[str, Path] = field(default_factory=dict)  # folder name -> folder, in the order given
    train_only: list[str] = field(default_factory=list)  # sources used for training and validation only

    @property
    def classes(self) -> list[str]:
        return list(self.artists["label_name"])

    def files(self, paintings: pd.DataFrame) -> list[str]:
        """Absolute paths of ``paintings`` (rows of ``self.paintings``)."""
        return [str(self.sources[source] / path) for source, path in zip(paintings["source"], paintings["path"])]

    def counts(self) -> pd.Series:
        """Paintings per artist, in label order (zeros included)."""
        return self.paintings["artist"].value_counts().reindex(self.classes, fill_value=0)

    def report(self) -> str:
        lines = [f"{len(self.paintings)} paintings of {int((self.counts() > 0).sum())} artists in "
                 + " + ".join(str(folder) for folder in self.sources.values())]
        if len(self.sources) > 1:
            per_source = self.paintings["source"].value_counts()
            lines += [f"  {name}: {int(per_source.get(name, 0))} paintings"
                      + (" (training and validation only)" if name in self.train_only else "")
                      for name in self.sources]
        if len(self.skipped):
            lines.append(f"skipped {len(self.skipped)} unreadable files:")
            lines += [f"  {r.path}: {r.reason}" for r in self.skipped.itertuples()]
        if self.artists_without_paintings:
            lines.append("artists in artists.csv without paintings: " + ", ".join(self.artists_without_paintings))
        if self.unknown_artists:
            lines.append("paintings of artists missing from artists.csv (ignored): " + ", ".join(self.unknown_artists))
        return "\n".join(lines)


def read_artists(csv_path: Path) -> pd.DataFrame:
    """artists.csv as a frame in label order, with the original's label names (spaces -> "_")."""
    if not csv_path.is_file():
        raise DataError(f"artists.csv not found in {csv_path.parent} (expected the data set's root folder)")
    try:
        artists = pd.read_csv(csv_path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read {csv_path}: {exc}") from None
    if "name" not in artists.columns:
        raise DataError(f"{csv_path} has no 'name' column")
    if "id" in artists.columns:
        artists = artists.sort_values("id", kind="stable")
    artists = artists.reset_index(drop=True)
    for column in ARTIST_COLUMNS:
        if column not in artists.columns:
            artists[column] = ""
    artists[ARTIST_COLUMNS] = artists[ARTIST_COLUMNS].fillna("").astype(str)
    artists["label_name"] = artists["name"].str.strip().str.replace(" ", "_")
    return artists


def find_image_files(root: Path) -> list[tuple[Path, str]]:
    """(file, artist as written on disk) for the folder and the flat layout of the data set, or a plain
    folder per artist."""
    candidates = [root / "images" / "images", root / "images", root / "resized" / "resized", root / "resized", root]
    for folder in candidates:
        if not folder.is_dir():
            continue
        subdirs = [d for d in sorted(folder.iterdir()) if d.is_dir() and d.name not in ("images", "resized")]
        if subdirs:  # images/<Artist_Name>/<Artist_Name>_<N>.jpg
            return [(f, d.name) for d in subdirs for f in sorted(d.iterdir())
                    if f.suffix.lower() in IMAGE_SUFFIXES]
        files = [f for f in sorted(folder.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
        if files:  # resized/<Artist_Name>_<N>.jpg
            return [(f, label_from_filename(f)) for f in files]
    return []


def sha1_of_file(path: str | Path) -> str:
    """The sha1 of a file's bytes: how paintings are identified in splits and caches."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def check_image(path: Path) -> tuple[str, int, int, str]:
    """sha1, width, height and "" -- or a reason the file is unusable."""
    try:
        data = path.read_bytes()
        load_rgb(data, min_side=64)  # fully decodes (at reduced scale for JPEGs): catches truncation
        return hashlib.sha1(data).hexdigest(), *stored_size(data), ""
    except (ValueError, OSError) as exc:
        return "", 0, 0, str(exc)


def existing_folder(root: str | Path) -> Path:
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist")
    return root


def _artists_from_classes(classes: list[str]) -> pd.DataFrame:
    artists = pd.DataFrame({"name": [c.replace("_", " ") for c in classes], "label_name": classes})
    for column in ARTIST_COLUMNS[1:]:
        artists[column] = ""
    return artists


def _scan_folder(root: Path, artists: pd.DataFrame, source: str, progress: bool) -> tuple[list, list, set]:
    """Check every image under ``root``: (rows of readable paintings, skipped files, unknown artist names)."""
    key_to_label = {normalise_name(n): n for n in artists["label_name"]}
    files = find_image_files(root)
    if not files:
        raise DataError(f"no images found in {root} (expected images/<Artist_Name>/*.jpg, resized/*.jpg "
                        "or a folder per artist)")
    with ThreadPoolExecutor(min(8, len(files))) as pool:
        checks = list(tqdm(pool.map(check_image, [f for f, _ in files]), total=len(files),
                           desc=f"Scanning {source}", unit="img", disable=not progress))
    rows, skipped, unknown = [], [], set()
    for (path, on_disk), (sha1, width, height, problem) in zip(files, checks):
        rel = path.relative_to(root).as_posix()
        label = key_to_label.get(normalise_name(on_disk))
        if label is None:
            unknown.add(on_disk)
        elif problem:
            skipped.append({"path": rel, "reason": problem, "source": source})
        else:
            rows.append({"path": rel, "artist": label, "sha1": sha1, "width": width, "height": height,
                         "source": source})
    return rows, skipped, unknown


def _assemble(sources: dict[str, Path], artists: pd.DataFrame, scans: list[tuple[list, list, set]],
              train_only: list[str]) -> Dataset:
    rows = [row for scan in scans for row in scan[0]]
    paintings = pd.DataFrame(rows, columns=["path", "artist", "sha1", "width", "height", "source"])
    if paintings.empty:
        raise DataError(f"no readable paintings of known artists in {', '.join(map(str, sources.values()))}")
    label_of = {name: i for i, name in enumerate(artists["label_name"])}
    paintings.insert(2, "label", paintings["artist"].map(label_of).astype(int))
    dataset = Dataset(root=next(iter(sources.values())), artists=artists, paintings=paintings,
                      skipped=pd.DataFrame([s for scan in scans for s in scan[1]], columns=["path", "reason", "source"]),
                      unknown_artists=sorted(set().union(*(scan[2] for scan in scans))),
                      sources=sources, train_only=train_only)
    dataset.artists_without_paintings = [a for a, n in dataset.counts().items() if n == 0]
    return dataset


def scan_dataset(root: str | Path, artists_csv: str | Path | None = None,
                 require_csv: bool = True, classes: list[str] | None = None,
                 progress: bool = True) -> Dataset:
    """Find and check every painting under ``root``.

    Unreadable files are skipped and listed, never fatal. Without artists.csv
    (``require_csv=False``) the artists come from ``classes`` (e.g. a trained
    model's), so a model can be evaluated on any folder of paintings.
    """
    root = existing_folder(root)
    csv_path = Path(artists_csv) if artists_csv else root / "artists.csv"
    if require_csv or csv_path.is_file():
        artists = read_artists(csv_path)
    elif classes is not None:
        artists = _artists_from_classes(classes)
    else:
        raise DataError(f"artists.csv not found in {root}")
    return _assemble({root.name: root}, artists, [_scan_folder(root, artists, root.name, progress)], [])


def _source_names(folders: list[Path]) -> list[str]:
    names = []
    for folder in folders:
        name, n = folder.name, 2
        while name in names:
            name, n = f"{folder.name}-{n}", n + 1
        names.append(name)
    return names


def scan_sources(data_dirs: list, train_only_dirs: list = (), progress: bool = True) -> Dataset:
    """Paintings of several folders as one data set, artists joined by name.

    artists.csv comes from the first folder that has one; paintings of ``train_only_dirs`` are
    marked for training and validation only (``Dataset.train_only``).
    """
    folders = [existing_folder(d) for d in [*data_dirs, *train_only_dirs]]
    csv_path = next((f / "artists.csv" for f in folders if (f / "artists.csv").is_file()), None)
    if csv_path is None:
        raise DataError("artists.csv not found in " + ", ".join(map(str, folders)))
    artists = read_artists(csv_path)
    names = _source_names(folders)
    scans = [_scan_folder(folder, artists, name, progress) for folder, name in zip(folders, names)]
    return _assemble(dict(zip(names, folders)), artists, scans, names[len(data_dirs):])


def class_weights(labels: np.ndarray | pd.Series, n_classes: int) -> dict[int, float]:
    """The original's weights: ``total / (n_artists * paintings_of_artist_i)`` (0 for absent artists)."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=n_classes)
    total = counts.sum()
    return {i: float(total / (n_classes * c)) if c else 0.0 for i, c in enumerate(counts)}


EXCLUDED = "excluded"  # a training-only painting that is a near-duplicate of a test painting: never used


def split_paintings(paintings: pd.DataFrame, test_fraction: float, val_fraction: float,
                    seed: int, by: str = "sha1") -> pd.Series:
    """Stratified, seeded train/val/test assignment; identical files stay together.

    Per artist: ``round(n * test_fraction)`` test paintings, then
    ``round(rest * val_fraction)`` validation, always leaving one for training (n: distinct files).
    With ``by="group"`` every painting takes the side of its group's id, the sha1 of the group's first
    painting: grouping near-duplicates moves only the grouped paintings, never the rest of the split.
    """
    rng = np.random.default_rng(seed)
    # one representative row per distinct file; duplicates follow it
    unique = paintings.drop_duplicates("sha1")
    assignment: dict[str, str] = {}
    for _, rows in unique.groupby("artist", sort=True):
        order = rng.permutation(rows["sha1"].to_numpy())
        n = len(order)
        n_test = min(int(round(n * test_fraction)), n - 1)
        n_val = min(int(round((n - n_test) * val_fraction)), n - n_test - 1)
        for i, sha in enumerate(order):
            assignment[sha] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return paintings[by].map(assignment).rename("split")


def assign_splits(paintings: pd.DataFrame, train_only: list[str], test_fraction: float, val_fraction: float,
                  seed: int) -> pd.Series:
    """Splits for paintings of several sources, near-duplicate groups (column ``group``) kept together.

    The sources not in ``train_only`` are split by :func:`split_paintings`, as if they were alone, so
    their test split does not change when folders are added. A training-only painting joins its
    group's side; one grouped with a test painting is ``EXCLUDED``; the rest go to train and validation.
    """
    held = paintings["source"].isin(train_only)
    split = pd.Series(index=paintings.index, dtype=object, name="split")
    split[~held] = split_paintings(paintings[~held], test_fraction, val_fraction, seed, by="group")
    side_of_group = dict(zip(paintings.loc[~held, "group"], split[~held]))
    extra = paintings[held]
    follows = extra["group"].map(side_of_group).replace({"test": EXCLUDED})
    split[follows.dropna().index] = follows.dropna()
    free = extra[follows.isna()]
    if len(free):
        split[free.index] = split_paintings(free, 0.0, val_fraction, seed, by="group")
    return split


def tf_image_dataset(paths: list[str], labels: np.ndarray | None, image_size: int, n_classes: int,
                     batch_size: int, shuffle: bool = False, augment: bool = False,
                     cache: str | None = None, seed: int = 0):
    """Stream paintings as batches of (uint8-valued float images, one-hot labels).

    Files are decoded and resized in parallel, cached as uint8 (in memory, or in
    the file ``cache``), then shuffled, augmented, batched and prefetched. Memory
    stays flat with the data set's size when ``cache`` is a file.
    """
    import tensorflow as tf

    def load(path):
        return load_array(path.decode() if isinstance(path, bytes) else str(path), image_size)

    def decode(path):
        image = tf.numpy_function(load, [path], tf.uint8, stateful=False)
        image.set_shape((image_size, image_size, 3))
        return image

    paths = list(paths)
    if shuffle:  # random order before caching, so a small shuffle buffer (constant memory) suffices
        order = np.random.default_rng(seed).permutation(len(paths))
        paths = [paths[i] for i in order]
        labels = None if labels is None else np.asarray(labels)[order]
    paths_ds = tf.data.Dataset.from_tensor_slices(paths)
    images = paths_ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    if labels is not None:
        ds = tf.data.Dataset.zip(images, tf.data.Dataset.from_tensor_slices(np.asarray(labels, dtype=np.int32)))
    else:
        ds = images.map(lambda x: (x, tf.constant(0, tf.int32)))
    if cache is not None:
        ds = ds.cache(cache)
    if shuffle:
        ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if augment:
        ds = ds.map(lambda x, y: (tf.image.random_flip_left_right(x, seed=seed), y),
                    num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), tf.one_hot(y, n_classes)),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
