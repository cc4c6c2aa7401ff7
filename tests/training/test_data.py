"""Unit tests for reading the data set: names, layouts, bad files, class weights, splits, tf.data."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from painting_classifier.training.data import (
    DataError,
    class_weights,
    label_from_filename,
    normalise_name,
    scan_dataset,
    split_paintings,
    tf_image_dataset,
)
from tests.synthetic import ARTISTS, make_dataset


@pytest.mark.parametrize("spelling", ["Albrecht Dürer", "Albrecht_Durer", "Albrecht_Dürer",
                                      "Albrecht_Du\u0308rer", "Albrecht_Du╠êrer", "albrecht  durer"])
def test_durer_spellings_join(spelling):
    assert normalise_name(spelling) == normalise_name("Albrecht Dürer") == "albrecht durer"


def test_label_from_filename_is_the_originals_get_label():
    assert label_from_filename("resized/Pierre-Auguste_Renoir_12.jpg") == "Pierre-Auguste_Renoir"


@pytest.mark.parametrize("layout", ["folders", "nested", "flat"])
def test_all_layouts_give_the_same_paintings(tmp_path, layout):
    root = make_dataset(tmp_path / layout, per_artist=3, size=16, layout=layout)
    dataset = scan_dataset(root, progress=False)
    assert len(dataset.paintings) == 12
    assert dataset.counts().tolist() == [3, 3, 3, 3]
    assert dataset.classes == [n.replace(" ", "_") for n in ARTISTS]  # label dictionary from artists.csv


def test_misencoded_folder_joins_csv_row(tmp_path):
    root = make_dataset(tmp_path / "d", per_artist=2, size=16,
                        folder_names={"Albrecht Dürer": "Albrecht_Du╠êrer"})
    dataset = scan_dataset(root, progress=False)
    assert dataset.counts()["Albrecht_Dürer"] == 2
    assert dataset.unknown_artists == []


def test_bad_files_are_skipped_and_listed(tmp_path):
    root = make_dataset(tmp_path / "d", per_artist=3, size=32)
    folder = root / "images" / "Claude_Monet"
    (folder / "Claude_Monet_90.jpg").write_bytes(b"")
    (folder / "Claude_Monet_91.jpg").write_text("not a jpeg at all")
    good = (folder / "Claude_Monet_1.jpg").read_bytes()
    (folder / "Claude_Monet_92.jpg").write_bytes(good[: len(good) // 2])
    dataset = scan_dataset(root, progress=False)
    assert len(dataset.paintings) == 12
    assert sorted(dataset.skipped["path"]) == [f"images/Claude_Monet/Claude_Monet_{n}.jpg" for n in (90, 91, 92)]
    assert "skipped 3 unreadable files" in dataset.report()


def test_paintings_table_records_the_stored_size_not_the_reduced_decode(tmp_path):
    root = make_dataset(tmp_path / "d", per_artist=1, size=32)
    big = root / "images" / "Claude_Monet" / "Claude_Monet_1.jpg"
    Image.open(big).resize((1600, 1200)).save(big)  # decoded at 1/8 scale for the check
    dataset = scan_dataset(root, progress=False)
    row = dataset.paintings.set_index("path").loc["images/Claude_Monet/Claude_Monet_1.jpg"]
    assert (row["width"], row["height"]) == (1600, 1200)


def test_unknown_folders_and_artists_without_paintings_are_reported(tmp_path):
    root = make_dataset(tmp_path / "d", per_artist=2, size=16)
    stranger = root / "images" / "Some_Stranger"
    stranger.mkdir()
    Image.new("RGB", (8, 8)).save(stranger / "Some_Stranger_1.jpg")
    for f in (root / "images" / "Piet_Mondrian").iterdir():
        f.unlink()
    dataset = scan_dataset(root, progress=False)
    assert dataset.unknown_artists == ["Some_Stranger"]
    assert dataset.artists_without_paintings == ["Piet_Mondrian"]
    report = dataset.report()
    assert "Some_Stranger" in report and "Piet_Mondrian" in report


def test_missing_csv_and_empty_dataset_are_clear_errors(tmp_path):
    root = make_dataset(tmp_path / "d", per_artist=1, size=8)
    (root / "artists.csv").unlink()
    with pytest.raises(DataError, match="artists.csv not found"):
        scan_dataset(root, progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    pd.DataFrame({"name": ["A B"]}).to_csv(empty / "artists.csv", index=False)
    with pytest.raises(DataError, match="no images found"):
        scan_dataset(empty, progress=False)
    with pytest.raises(DataError, match="does not exist"):
        scan_dataset(tmp_path / "nowhere", progress=False)


def test_class_weights_are_the_originals_formula():
    labels = np.array([0] * 6 + [1] * 3 + [2] * 1)
    weights = class_weights(labels, 4)
    total, n_artists = 10, 4
    assert weights[0] == pytest.approx(total / (n_artists * 6))
    assert weights[1] == pytest.approx(total / (n_artists * 3))
    assert weights[2] == pytest.approx(total / (n_artists * 1))
    assert weights[3] == 0.0  # artist with no paintings


def _paintings(counts: dict[str, int]) -> pd.DataFrame:
    rows = [{"path": f"{a}_{i}.jpg", "artist": a, "sha1": f"{a}-{i}"} for a, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows)


def test_split_is_stratified_seeded_and_disjoint():
    table = _paintings({"A": 50, "B": 20, "C": 3, "D": 1})
    split = split_paintings(table, test_fraction=0.2, val_fraction=0.2, seed=7)
    assert split.tolist() == split_paintings(table, 0.2, 0.2, seed=7).tolist()
    assert split.tolist() != split_paintings(table, 0.2, 0.2, seed=8).tolist()
    counts = pd.crosstab(table["artist"], split)
    assert counts.loc["A"].to_dict() == {"test": 10, "train": 32, "val": 8}
    assert counts.loc["B"].to_dict() == {"test": 4, "train": 13, "val": 3}
    assert counts.loc["D", "train"] == 1  # a lone painting is always trained on
    assert (counts["train"] >= 1).all()


def test_identical_files_never_straddle_the_split():
    table = _paintings({"A": 30})
    duplicates = table.iloc[:10].copy()
    duplicates["path"] = duplicates["path"].str.replace(".jpg", "_copy.jpg")
    table = pd.concat([table, duplicates], ignore_index=True)
    split = split_paintings(table, 0.3, 0.3, seed=1)
    per_file = pd.DataFrame({"sha1": table["sha1"], "split": split}).groupby("sha1")["split"].nunique()
    assert (per_file == 1).all()


def test_tf_dataset_streams_uint8_valued_batches(tmp_path):
    root = make_dataset(tmp_path / "d", per_artist=3, size=40)
    dataset = scan_dataset(root, progress=False)
    paths = [str(root / p) for p in dataset.paintings["path"]]
    ds = tf_image_dataset(paths, dataset.paintings["label"].to_numpy(), 24, 4, batch_size=5,
                          shuffle=True, augment=True, cache=str(tmp_path / "cache"))
    batches = list(ds)
    assert [len(x) for x, _ in batches] == [5, 5, 2]
    images, labels = batches[0]
    assert images.shape == (5, 24, 24, 3) and labels.shape == (5, 4)
    assert float(images.numpy().max()) <= 255 and float(images.numpy().min()) >= 0
    assert sorted(np.concatenate([y.numpy().argmax(1) for _, y in batches]).tolist()) == sorted(
        dataset.paintings["label"].tolist())
    assert list(tmp_path.glob("cache*"))  # the decoded images were cached on disk


def test_several_folders_join_artists_by_name(tmp_path):
    from painting_classifier.training.data import scan_sources

    first = make_dataset(tmp_path / "kaggle", per_artist=3, size=48)
    second = make_dataset(tmp_path / "more", per_artist=2, size=48, seed=5,
                          folder_names={"Albrecht Dürer": "Albrecht_Du\u0308rer"})
    (second / "artists.csv").unlink()
    # a plain folder per artist, no artists.csv, no images/ level
    plain = tmp_path / "plain" / "Claude Monet"
    plain.mkdir(parents=True)
    Image.new("RGB", (70, 70), (1, 2, 3)).save(plain / "water-lilies.jpg")
    dataset = scan_sources([first], [second, tmp_path / "plain"], progress=False)
    assert list(dataset.sources) == ["kaggle", "more", "plain"] and dataset.train_only == ["more", "plain"]
    counts = dataset.paintings.groupby(["source", "artist"]).size()
    assert counts["kaggle"].tolist() == [3, 3, 3, 3] and counts["more"].tolist() == [2, 2, 2, 2]
    assert counts["plain"].to_dict() == {"Claude_Monet": 1}
    files = dataset.files(dataset.paintings)
    assert all(Path(f).is_file() for f in files) and any("water-lilies" in f for f in files)
    assert "training and validation only" in dataset.report()


def test_artists_csv_comes_from_the_first_folder_that_has_one(tmp_path):
    from painting_classifier.training.data import DataError, scan_sources

    plain = make_dataset(tmp_path / "a", per_artist=2, size=48)
    (plain / "artists.csv").unlink()
    other = make_dataset(tmp_path / "b", per_artist=2, size=48)
    assert len(scan_sources([plain, other], progress=False).classes) == 4
    (other / "artists.csv").unlink()
    with pytest.raises(DataError, match="artists.csv not found"):
        scan_sources([plain, other], progress=False)


def _sources_table(n_first: int, n_extra: int, artists: int = 3) -> pd.DataFrame:
    rows = [{"source": source, "path": f"{source}/{a}/{i}.jpg", "artist": f"A{a}", "sha1": f"{source}-{a}-{i}"}
            for source, n in (("kaggle", n_first), ("more", n_extra)) for a in range(artists) for i in range(n)]
    table = pd.DataFrame(rows)
    table["group"] = table["sha1"]
    return table


def test_added_folders_never_change_the_test_split_and_never_reach_it():
    from painting_classifier.training.data import EXCLUDED, assign_splits

    table = _sources_table(10, 6)
    alone = split_paintings(table[table["source"] == "kaggle"], 0.2, 0.2, seed=3)
    split = assign_splits(table, ["more"], 0.2, 0.2, seed=3)
    first = table["source"] == "kaggle"
    assert split[first].tolist() == alone.tolist()  # the sample's test split, as if alone
    assert set(split[~first]) == {"train", "val"}
    # a training-only copy of a test painting is left out; one of a validation painting follows it
    test_painting = table.index[first & (split == "test")][0]
    val_painting = table.index[first & (split == "val")][0]
    extra = table.index[~first]
    table.loc[extra[0], "group"] = table.loc[test_painting, "group"]
    table.loc[extra[1], "group"] = table.loc[val_painting, "group"]
    split = assign_splits(table, ["more"], 0.2, 0.2, seed=3)
    assert split[extra[0]] == EXCLUDED and split[extra[1]] == "val"


def test_near_duplicate_groups_stay_on_one_side():
    table = _sources_table(12, 0, artists=2)
    table.loc[[0, 1, 2], "group"] = table.loc[0, "sha1"]  # three copies of one painting
    split = split_paintings(table, 0.25, 0.25, seed=0, by="group")
    assert split[[0, 1, 2]].nunique() == 1
