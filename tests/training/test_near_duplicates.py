"""Near-duplicate grouping: the same painting resized, cropped or re-encoded is one group; others stay apart."""
import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageEnhance

from painting_classifier import Config
from painting_classifier.training.near_duplicates import group_ids, groups_table
from tests.helpers import TEST_DATA
from tests.synthetic import paint


def test_groups_are_connected_similar_paintings_and_identical_files():
    paintings = pd.DataFrame({"sha1": ["a", "b", "c", "d", "e", "e"]})
    vectors = np.array([[1, 0, 0], [0.96, 0.28, 0], [0, 1, 0], [0, 0, 1], [0.6, 0, 0.8], [0.6, 0, 0.8]])
    groups = group_ids(paintings, vectors, threshold=0.9)
    assert groups.tolist() == ["a", "a", "c", "d", "e", "e"]
    assert group_ids(paintings, vectors, threshold=0.99).tolist() == ["a", "b", "c", "d", "e", "e"]
    table = paintings.assign(group=groups, source="s", path=list("abcdef"), artist="A", split="train")
    assert groups_table(table)["path"].tolist() == ["a", "b", "e", "f"]


def _near_copies(image: Image.Image) -> dict[str, Image.Image]:
    """The same picture resized, cropped by 5 % on each side, and re-encoded as a strong JPEG."""
    w, h = image.size

    def jpeg(copy, quality):
        buffer = io.BytesIO()
        copy.save(buffer, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue()))

    return {"resized to 60 %": jpeg(image.resize((int(w * 0.6), int(h * 0.6)), Image.Resampling.BILINEAR), 90),
            "cropped by 5 %": jpeg(image.crop((int(w * 0.05), int(h * 0.05), int(w * 0.95), int(h * 0.95))), 90),
            "re-encoded": jpeg(image, 40),
            "colour and brightness": jpeg(ImageEnhance.Color(ImageEnhance.Brightness(image).enhance(1.1)).enhance(0.85),
                                          90)}


@pytest.mark.slow
def test_generated_near_duplicates_group_with_their_original(tmp_path):
    from painting_classifier.training.data import scan_sources
    from painting_classifier.training.near_duplicates import find_groups
    from tests.synthetic import write_artists_csv

    folder = tmp_path / "data" / "images" / "Claude_Monet"
    folder.mkdir(parents=True)
    write_artists_csv(tmp_path / "data", ["Claude Monet"])
    originals = {"cat": Image.open(TEST_DATA / "chelsea.jpg").convert("RGB"),
                 "cup": Image.open(TEST_DATA / "coffee.jpg").convert("RGB")}
    rng = np.random.default_rng(1)
    for i, style in enumerate(["horizontal stripes", "checkerboard", "blobs"]):
        originals[f"painted{i}"] = Image.fromarray(paint(style, 256, rng))
    for name, image in originals.items():
        image.save(folder / f"Claude_Monet_{name}.jpg", quality=92)
    for original in ("cat", "cup"):
        for n, copy in enumerate(_near_copies(originals[original]).values()):
            copy.save(folder / f"Claude_Monet_{original}-copy{n}.jpg")
    dataset = scan_sources([tmp_path / "data"], progress=False)
    groups = find_groups(dataset, tmp_path / "cache", Config().duplicate_similarity, progress=False)
    by_name = dict(zip(dataset.paintings["path"].str.extract(r"Monet_([a-z0-9]+)\.jpg")[0], groups))
    copies = dict(zip(dataset.paintings["path"], groups))
    for original in ("cat", "cup"):
        members = {path for path, group in copies.items() if group == by_name[original]}
        assert len(members) == 5, members  # the original and its four copies
    assert len({by_name[name] for name in ("cat", "cup", "painted0", "painted1", "painted2")}) == 5


def test_a_detail_and_its_whole_are_verified_copies_and_share_a_group(tmp_path):
    from painting_classifier.training.geometric_duplicates import copies_in, pair_rows
    from painting_classifier.training.near_duplicates import group_ids
    from tests.synthetic import a_detailed_painting

    rng = np.random.default_rng(2)
    folder = tmp_path / "data"
    (folder / "images" / "Claude_Monet").mkdir(parents=True)
    whole = a_detailed_painting(rng, 600, 450)
    paintings = {"Claude_Monet_1.jpg": whole, "Claude_Monet_2.jpg": whole.crop((150, 100, 500, 400)),
                 "Claude_Monet_3.jpg": a_detailed_painting(rng, 600, 450)}
    for name, painting in paintings.items():
        painting.save(folder / "images" / "Claude_Monet" / name, quality=92)
    copies = copies_in([folder], tmp_path / "work", progress=False)
    assert len(copies) == 1 and {copies["path_a"][0], copies["path_b"][0]} == {
        "images/Claude_Monet/Claude_Monet_1.jpg", "images/Claude_Monet/Claude_Monet_2.jpg"}
    table = pd.DataFrame({"source": "data", "sha1": ["a", "b", "c"],
                          "path": [f"images/Claude_Monet/Claude_Monet_{i}.jpg" for i in (1, 2, 3)]})
    vectors = np.eye(3)  # no two alike to the embedding
    assert group_ids(table, vectors, 0.8).nunique() == 3
    groups = group_ids(table, vectors, 0.8, pair_rows(table, copies))
    assert groups[0] == groups[1] != groups[2]
