"""Degraded copies of training paintings: what real uploads look like, for the cached-feature stage.

People upload web thumbnails, phone photos of prints on a wall, details and black-and-white
plates. ``degraded_copy`` turns a clean painting into one such upload, chosen at random from a
mix of steps: a detail or a frame on a wall, slight perspective, light and colour, glare,
grayscale, a low resolution, blur and JPEG. A copy is a function of (seed, painting sha1, copy
number) only, so the features of copy ``i`` can be cached and a rerun computes the same ones.
"""
from __future__ import annotations

import zlib

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from ..vision.photo_effects import (
    detail,
    framed_on_wall,
    glare,
    jpeg,
    light_and_colour,
    low_resolution,
    museum_light,
    perspective,
    squashed,
)
from .museum_scenes import museum_scene

AUGMENT_VERSION = "2"  # bump when a step changes, so cached features of old copies are not reused

# Probability of each step; tuned on validation (docs/experiments.md).
P_DETAIL = 0.2  # a detail: 55-90 % of each side
P_FRAMED = 0.25  # framed, hanging on a wall
P_MUSEUM = 0.5  # of the framed copies: a carved gilt frame in a museum photo (museum_scenes.py), as the finder cuts it
P_PERSPECTIVE = 0.35
P_LIGHT = 0.6  # brightness, contrast, saturation, colour cast
P_GLARE = 0.1
P_GRAYSCALE = 0.15
P_LOW_RES = 0.5  # downscaled to 150-400 px on the long side
P_BLUR = 0.25
P_JPEG = 0.6
P_SQUASHED = 0.1  # squashed to 256 x 256 and stored at JPEG 50, as 3,319 paintings of more-paintings-2 are

MUSEUM_MARGIN = 0.08  # a museum copy keeps up to this share of each side of frame and wall (``Config.museum_copies``)


def copy_rng(seed: int, sha1: str, copy: int) -> np.random.Generator:
    """The random stream of one degraded copy."""
    return np.random.default_rng([int(seed), zlib.crc32(sha1.encode()), int(copy)])


def in_museum(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The painting in a gilt frame on a museum wall, photographed, then cut out as the finder does: its box
    widened by 0-25 % of each side, so some frame and wall stay in."""
    return _cut_from_museum_scene(img, rng, selfie_share=0.3, margin=0.25)


def _cut_from_museum_scene(img: Image.Image, rng: np.random.Generator, selfie_share: float,
                           margin: float) -> Image.Image:
    """``img`` in a synthetic museum photo (``museum_scenes.py``; visitors in front ``selfie_share`` of the time),
    cut at its box widened by up to ``margin`` of each side."""
    scene = museum_scene(img, rng, selfie=rng.random() < selfie_share)
    left, top, right, bottom = scene.box
    grow_x, grow_y = rng.uniform(0, margin, 2) * (right - left, bottom - top)
    return scene.photo.crop((max(0, int(left - grow_x)), max(0, int(top - grow_y)),
                             min(scene.photo.width, int(right + grow_x)), min(scene.photo.height, int(bottom + grow_y))))


def museum_photo(img: Image.Image, rng: np.random.Generator, margin: float = MUSEUM_MARGIN,
                 light: bool = True) -> Image.Image:
    """The painting in a synthetic museum photo (visitors in front 40 % of the time), cut at its box widened by up
    to ``margin`` of each side, as the search finds it; with ``light``, under a gallery's light (``museum_light``)
    with a reflection on the varnish half the time."""
    crop = _cut_from_museum_scene(img, rng, selfie_share=0.4, margin=margin)
    if light:
        crop = museum_light(crop, rng)
        if rng.random() < 0.5:
            crop = glare(crop, rng)
    return crop


def degraded_copy(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One random upload-like copy of the RGB painting ``img`` (steps in the order they happen)."""
    if rng.random() < P_DETAIL:
        img = detail(img, rng)
    elif rng.random() < P_FRAMED:
        img = in_museum(img, rng) if rng.random() < P_MUSEUM else framed_on_wall(img, rng)[0]
    if rng.random() < P_PERSPECTIVE:
        img = perspective(img, rng)
    if rng.random() < P_LIGHT:
        img = light_and_colour(img, rng)
    if rng.random() < P_GLARE:
        img = glare(img, rng)
    if rng.random() < P_GRAYSCALE:
        img = ImageOps.grayscale(img).convert("RGB")
    if rng.random() < P_LOW_RES:
        img = low_resolution(img, rng)
    if rng.random() < P_BLUR:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.5)))
    if rng.random() < P_JPEG:
        img = jpeg(img, rng.integers(25, 90))
    if rng.random() < P_SQUASHED:
        img = squashed(img)
    return img
