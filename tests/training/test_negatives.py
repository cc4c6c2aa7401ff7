"""Other painters' paintings as negatives: read, checked and split by artist."""
from pathlib import Path

import numpy as np
from PIL import Image

from painting_classifier.training.negatives import scan_negatives


def other_painters_folder(root: Path, artists: int = 10, per_artist: int = 3) -> Path:
    rng = np.random.default_rng(0)
    for a in range(artists):
        folder = root / "images" / f"Other_Painter_{a}"
        folder.mkdir(parents=True)
        for n in range(per_artist):
            Image.fromarray(rng.integers(0, 256, (40, 50, 3), np.uint8)).save(folder / f"Other_Painter_{a}_{n}.jpg")
    return root


def test_negatives_are_split_by_artist_and_unreadable_files_are_listed(tmp_path):
    folder = other_painters_folder(tmp_path / "other-artists")
    (folder / "images" / "Other_Painter_0" / "broken.jpg").write_bytes(b"not a jpeg")
    table, skipped = scan_negatives([folder], val_fraction=0.2, seed=1)
    assert len(table) == 30 and list(skipped["path"].map(lambda p: Path(p).name)) == ["broken.jpg"]
    sides = table.groupby("artist")["split"].nunique()
    assert (sides == 1).all()  # no painter on both sides
    assert table.drop_duplicates("artist")["split"].value_counts().to_dict() == {"train": 8, "val": 2}
    again, _ = scan_negatives([folder], val_fraction=0.2, seed=1)
    assert again["split"].tolist() == table["split"].tolist()
