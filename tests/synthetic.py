"""Tiny data sets in the layout of "Best Artworks of All Time", with painting "styles" a model can tell apart."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

# name as in artists.csv -> style drawn for that artist
ARTISTS = {
    "Albrecht Dürer": "horizontal stripes",
    "Claude Monet": "vertical stripes",
    "Piet Mondrian": "checkerboard",
    "Vincent van Gogh": "blobs",
}


PALETTES = {"horizontal stripes": (200, 40, 40), "vertical stripes": (40, 160, 40),
            "checkerboard": (40, 60, 200), "blobs": (220, 200, 60), "diagonal stripes": (120, 120, 120)}


def paint(style: str, size: int, rng: np.random.Generator, palette: bool = False) -> np.ndarray:
    """An RGB uint8 "painting" in one of the styles, with random period and noise, and random
    colours or (``palette``) colours near the style's own palette."""
    yy, xx = np.mgrid[0:size, 0:size]
    period = rng.uniform(4, 10)
    phase = rng.uniform(0, 2 * np.pi)
    if style == "horizontal stripes":
        pattern = np.sin(yy / period * 2 * np.pi + phase) > 0
    elif style == "vertical stripes":
        pattern = np.sin(xx / period * 2 * np.pi + phase) > 0
    elif style == "diagonal stripes":  # no artist's style: other painters' (negatives)
        pattern = np.sin((xx + yy) / period * np.pi + phase) > 0
    elif style == "checkerboard":
        pattern = ((yy // (period * 1.5)).astype(int) + (xx // (period * 1.5)).astype(int)) % 2 == 0
    else:
        pattern = np.zeros((size, size), bool)
        for _ in range(6):
            cy, cx, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(size / 10, size / 5)]
            pattern |= (yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2
    colours = rng.integers(0, 256, (2, 3))
    if palette:
        colours[0] = np.clip(np.array(PALETTES[style]) + rng.integers(-30, 30, 3), 0, 255)
    image = np.where(pattern[..., None], colours[0], colours[1]).astype(np.float64)
    image += rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_artists_csv(root: Path, names) -> None:
    rows = [{"id": i, "name": n, "years": f"{1800 + i} - {1870 + i}", "genre": "Test style",
             "nationality": "Testish", "bio": f"{n} is a synthetic artist.",
             "wikipedia": f"http://en.wikipedia.org/wiki/{n.replace(' ', '_')}", "paintings": 10}
            for i, n in enumerate(names)]
    pd.DataFrame(rows).to_csv(root / "artists.csv", index=False)


def make_dataset(root: Path, per_artist: int = 12, size: int = 64, layout: str = "folders",
                 artists: dict[str, str] | None = None, seed: int = 0,
                 folder_names: dict[str, str] | None = None, palette: bool = False) -> Path:
    """Write artists.csv and paintings under ``root``.

    layout: "folders" (images/<Artist_Name>/<Artist_Name>_<N>.jpg), "nested"
    (images/images/...) or "flat" (resized/<Artist_Name>_<N>.jpg).
    ``folder_names`` overrides how an artist's name is spelled on disk; ``palette`` gives each
    artist its own colours too.
    """
    artists = artists or ARTISTS
    folder_names = folder_names or {}
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    write_artists_csv(root, artists)
    for name, style in artists.items():
        on_disk = folder_names.get(name, name.replace(" ", "_"))
        if layout == "flat":
            folder = root / "resized"
        else:
            folder = root / ("images/images" if layout == "nested" else "images") / on_disk
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(1, per_artist + 1):
            Image.fromarray(paint(style, size, rng, palette)).save(folder / f"{on_disk}_{n}.jpg", quality=92)
    return root


def make_other_painters(root: Path, painters: int = 10, per_painter: int = 4, size: int = 64, seed: int = 3) -> Path:
    """A negatives folder (images/<Painter>/*.jpg) of painters who are none of the data set's artists, all
    painting diagonal stripes, a style none of ``ARTISTS`` uses."""
    rng = np.random.default_rng(seed)
    for p in range(painters):
        folder = root / "images" / f"Other_Painter_{p}"
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(per_painter):
            Image.fromarray(paint("diagonal stripes", size, rng)).save(folder / f"Other_Painter_{p}_{n}.jpg", quality=92)
    return root


def a_painting(rng, width=360, height=280) -> Image.Image:
    """Blobs over a light colour gradient, with brush-like noise: edges everywhere, like a painting.
    (Its edge differs from the dark frames below: where a painting blends into its frame, the finder
    keeps the frame, which ``test_a_frame_like_edge_keeps_the_frame`` covers.)"""
    blobs = Image.fromarray(paint("blobs", max(width, height), rng)).resize((width, height))
    gradient = np.linspace(0.6, 1, width)[None, :, None] * rng.integers(150, 255, 3)
    pixels = 0.4 * np.asarray(blobs, float) + 0.6 * gradient + rng.normal(0, 10, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def on_the_wall(painting: Image.Image, rng, frame=18, mat=0, wall_size=(760, 600)):
    """The painting in a frame (and mat) on a plain wall, and its box in the photo."""
    w, h = painting.size
    outer = Image.new("RGB", (w + 2 * (frame + mat), h + 2 * (frame + mat)), tuple(rng.integers(20, 90, 3).tolist()))
    if mat:
        ImageDraw.Draw(outer).rectangle((frame, frame, outer.width - frame - 1, outer.height - frame - 1),
                                        fill=(238, 236, 228))
    outer.paste(painting, (frame + mat, frame + mat))
    wall = np.full((wall_size[1], wall_size[0], 3), rng.integers(150, 240, 3), float)
    wall += rng.normal(0, 2, wall.shape)
    photo = Image.fromarray(np.clip(wall, 0, 255).astype(np.uint8))
    left = int(rng.integers(0, wall_size[0] - outer.width))
    top = int(rng.integers(0, wall_size[1] - outer.height))
    photo.paste(outer, (left, top))
    inset = frame + mat
    return photo, (left + inset, top + inset, left + inset + w, top + inset + h)


def a_detailed_painting(rng, width=420, height=320) -> Image.Image:
    """Seventy coloured shapes on a plain ground: corners and blobs enough for keypoints, like a detailed
    painting (``a_painting``'s soft blobs and noise have too few stable ones to recognise)."""
    img = Image.new("RGB", (width, height), tuple(int(c) for c in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(70):
        x, y, size = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(8, 60))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + size, y + size * rng.uniform(0.4, 1.5)), fill=colour)
        else:
            draw.polygon([(x + int(rng.integers(-size, size)), y + int(rng.integers(-size, size))) for _ in range(3)],
                         fill=colour)
    return img
