"""The 15 development photos of ``museum-photos-dev`` (real visitors' photos) and the boxes drawn by hand around
their paintings."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image

from benchmarks.common.paths import DATA

DEV = DATA / "museum-photos-dev"
# the painting in each development photo (left, top, right, bottom as shares of the photo), drawn by hand on a
# 10 % grid, frame and mat excluded, in images.csv order: what a perfect finder would give the model
DEV_BOXES = [(.05, .05, .93, .89), (.21, .27, .81, .64), (.17, .24, .84, .63), (.11, .09, .87, .9),
             (.36, .04, .94, .71), (.39, .1, .82, .63), (.3, .02, .78, .52), (.08, .03, .7, .71), (.2, .07, .62, .55),
             (0, .03, .45, .6), (0, 0, 1, .7), (.35, .1, .92, .52), (.05, 0, .87, .42), (.56, .3, .9, .65),
             (.15, .2, 1, .65)]


def dev_paintings(folder: Path) -> tuple[list[Image.Image], list[str]]:
    """The development photos cut at their hand-drawn boxes (``DEV_BOXES``), and their artists."""
    from painting_classifier.vision.images import load_rgb

    catalogue = pd.read_csv(folder / "images.csv")
    paintings = []
    for file, (left, top, right, bottom) in zip(catalogue["file"], DEV_BOXES):
        photo = load_rgb(folder / file)
        w, h = photo.size
        paintings.append(photo.crop((round(left * w), round(top * h), round(right * w), round(bottom * h))))
    return paintings, list(catalogue["artist"])

