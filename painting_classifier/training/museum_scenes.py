"""Synthetic museum photos: a painting in a wide carved gilt frame, on a dark, coloured or patterned wall,
under a spotlight, beside other paintings, with visitors in front; photographed at a slant.

Modelled on real visitors' photos (``../shared/data/museum-photos-dev``): selfies of two people below a
painting, a painting small on a large wall. For developing and measuring the painting finder
(``finder.py``, ``benchmarks/quality/museum_photos.py``) and, where cross-validation says so, as training copies.
A scene is a function of its random generator only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..vision.photo_effects import jpeg, perspective

PHOTO_SIDE = 1024  # long side of the photo, as the real ones are stored
WALLS = [(28, 30, 34), (60, 64, 70), (120, 40, 40), (40, 70, 60), (200, 190, 170), (235, 215, 200), (90, 90, 110),
         (150, 120, 90)]
GOLDS = [(176, 141, 72), (196, 160, 84), (150, 115, 55), (120, 90, 45), (210, 180, 110)]
SKINS = [(241, 194, 167), (224, 172, 140), (198, 134, 103), (141, 85, 60), (90, 56, 40)]


@dataclass
class Scene:
    """A synthetic museum photo and where the painting is in it."""

    photo: Image.Image
    box: tuple[int, int, int, int]  # the painting's bounding box (left, top, right, bottom), frame excluded
    kind: str  # "wall" (a painting on a wall) or "selfie" (visitors in front, the painting above them)


def wall(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A museum wall: plain, damask-patterned or panelled, darker towards the edges."""
    w, h = size
    colour = np.array(WALLS[rng.integers(len(WALLS))], np.float32) + rng.normal(0, 8, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    surface = np.ones((h, w, 1), np.float32) * colour
    pattern = rng.integers(3)
    if pattern == 1:  # damask: a soft repeating motif
        period = rng.uniform(25, 60)
        motif = np.sin(xx / period * 2 * np.pi) * np.sin(yy / period * 2 * np.pi)
        surface += (motif * rng.uniform(6, 16))[..., None]
    elif pattern == 2:  # panels or stripes
        period = rng.uniform(80, 200)
        surface += ((np.sin(xx / period * 2 * np.pi) > 0.95) * rng.uniform(-25, 25))[..., None]
    vignette = 1 - rng.uniform(0.1, 0.45) * (((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2)
    surface = surface * vignette[..., None] + rng.normal(0, 3, surface.shape)
    return Image.fromarray(np.clip(surface, 0, 255).astype(np.uint8))


def gilt_frame(painting: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, tuple[int, int]]:
    """The painting in a wide carved gilt frame (bevelled, shaded, ornamented), sometimes with a mat;
    and the painting's offset inside the framed image."""
    w, h = painting.size
    width = max(4, int(rng.uniform(0.06, 0.16) * max(w, h)))
    mat = int(rng.uniform(0.03, 0.08) * max(w, h)) if rng.random() < 0.2 else 0
    fw, fh = w + 2 * (width + mat), h + 2 * (width + mat)
    gold = np.array(GOLDS[rng.integers(len(GOLDS))], np.float32)
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    depth = np.minimum.reduce([xx, yy, fw - 1 - xx, fh - 1 - yy])  # distance from the outer edge
    across = np.clip(depth / width, 0, 1)
    relief = 0.75 + 0.35 * np.sin(across * np.pi * rng.uniform(1.5, 3.5))  # mouldings across the frame
    ornament = np.asarray(Image.fromarray(rng.integers(0, 255, (fh // 4 + 1, fw // 4 + 1), np.uint8))
                          .resize((fw, fh), Image.Resampling.BICUBIC), np.float32)[:fh, :fw] / 255
    light = np.where(xx + yy < (fw - 1 - xx) + (fh - 1 - yy), 1.15, 0.8)  # lit from the top left
    surface = gold * (relief * (0.8 + 0.4 * ornament) * light)[..., None]
    framed = Image.fromarray(np.clip(surface, 0, 255).astype(np.uint8))
    if mat:
        shade = int(rng.integers(205, 245))
        ImageDraw.Draw(framed).rectangle((width, width, fw - width - 1, fh - width - 1), fill=(shade, shade, shade - 6))
    framed.paste(painting, (width + mat, width + mat))
    lip = ImageDraw.Draw(framed)  # a dark inner edge where the frame meets the picture
    lip.rectangle((width + mat - 2, width + mat - 2, width + mat + w + 1, width + mat + h + 1), outline=(40, 30, 15),
                  width=2)
    return framed, (width + mat, width + mat)


def _hang(photo: Image.Image, framed: Image.Image, at: tuple[int, int], rng: np.random.Generator) -> None:
    """Paste a framed painting with a soft shadow below and to the right."""
    shadow = Image.new("L", photo.size, 0)
    offset = int(rng.uniform(0.01, 0.03) * framed.width) + 2
    ImageDraw.Draw(shadow).rectangle((at[0] + offset, at[1] + offset, at[0] + framed.width + offset,
                                      at[1] + framed.height + offset), fill=int(rng.integers(60, 140)))
    shadow = shadow.filter(ImageFilter.GaussianBlur(offset))
    photo.paste(Image.new("RGB", photo.size, (10, 10, 10)), (0, 0), shadow)
    photo.paste(framed, at)


def spotlight(photo: Image.Image, rng: np.random.Generator, centre: tuple[float, float]) -> Image.Image:
    """A warm spotlight on the painting and, sometimes, a glare spot on its varnish."""
    w, h = photo.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    spread = rng.uniform(0.35, 0.7) * max(w, h)
    pool = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * spread ** 2))
    pixels = np.asarray(photo, np.float32) * (rng.uniform(0.55, 0.8) + rng.uniform(0.3, 0.6) * pool)[..., None]
    pixels *= np.array([1.04, 1.0, 0.93])  # warm light
    if rng.random() < 0.5:
        gx, gy = centre[0] + rng.normal(0, 0.1 * w), centre[1] + rng.normal(0, 0.1 * h)
        spot = np.exp(-((xx - gx) ** 2 / (2 * (0.06 * w) ** 2) + (yy - gy) ** 2 / (2 * (0.03 * h) ** 2)))
        pixels += (spot * rng.uniform(60, 140))[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def visitors(photo: Image.Image, rng: np.random.Generator, selfie: bool) -> None:
    """People in front: two heads and shoulders close to the camera along the bottom (a selfie), or one or two
    visitors cut off at an edge."""
    w, h = photo.size
    draw = ImageDraw.Draw(photo)
    people = 2 if selfie else int(rng.integers(0, 3))
    for i in range(people):
        if selfie:
            cx = w * (0.3 + 0.4 * i + rng.uniform(-0.08, 0.08))
            head = rng.uniform(0.13, 0.2) * w
            cy = h * rng.uniform(0.55, 0.72)
        else:
            cx = rng.choice([rng.uniform(-0.05, 0.12), rng.uniform(0.88, 1.05)]) * w
            head = rng.uniform(0.07, 0.12) * w
            cy = h * rng.uniform(0.5, 0.75)
        clothes = tuple(int(c) for c in rng.integers(10, 230, 3))
        draw.ellipse((cx - 1.6 * head, cy + 0.9 * head, cx + 1.6 * head, cy + 5 * head), fill=clothes)  # shoulders
        skin = SKINS[rng.integers(len(SKINS))]
        draw.ellipse((cx - 0.5 * head, cy - 0.65 * head, cx + 0.5 * head, cy + 0.65 * head), fill=skin)  # face
        hair = tuple(int(c) for c in rng.integers(10, 120, 3))
        draw.chord((cx - 0.55 * head, cy - 0.75 * head, cx + 0.55 * head, cy + 0.3 * head), 180, 360, fill=hair)
        for eye in (-0.2, 0.2):
            draw.ellipse((cx + eye * head - 4, cy - 0.1 * head - 3, cx + eye * head + 4, cy - 0.1 * head + 3),
                         fill=(30, 25, 20))
        draw.arc((cx - 0.25 * head, cy + 0.1 * head, cx + 0.25 * head, cy + 0.4 * head), 20, 160, fill=(120, 40, 40),
                 width=3)


def museum_scene(painting: Image.Image, rng: np.random.Generator, others: list[Image.Image] = (),
                 selfie: bool | None = None) -> Scene:
    """A museum photo of ``painting`` (``others``: paintings that may hang beside it); ``selfie``: visitors in front
    (default: drawn at random, 60 %)."""
    selfie = rng.random() < 0.6 if selfie is None else selfie
    portrait = rng.random() < 0.75
    w, h = (768, PHOTO_SIDE) if portrait else (PHOTO_SIDE, 768)
    photo = wall((w, h), rng)
    share = rng.uniform(0.35, 0.6) if selfie else rng.uniform(0.25, 0.7)  # the painting's width in the photo
    scale = share * w / painting.width
    small = painting.convert("RGB").resize((max(8, int(painting.width * scale)), max(8, int(painting.height * scale))),
                                           Image.Resampling.LANCZOS)
    if small.height > 0.6 * h:
        small = small.resize((max(8, int(small.width * 0.6 * h / small.height)), int(0.6 * h)), Image.Resampling.LANCZOS)
    framed, inset = gilt_frame(small, rng)
    left = int((w - framed.width) / 2 + rng.uniform(-0.12, 0.12) * w)
    top = int(h * (rng.uniform(0.02, 0.12) if selfie else rng.uniform(0.1, 0.35)))
    left, top = min(max(left, 0), max(0, w - framed.width)), min(max(top, 0), max(0, h - framed.height))
    for other in list(others)[: int(rng.integers(0, 3))]:  # neighbours on the same wall
        neighbour, _ = gilt_frame(other.convert("RGB").resize((framed.width // 2, framed.width // 2)), rng)
        side = rng.choice([-1, 1])
        nx = left - neighbour.width - int(0.05 * w) if side < 0 else left + framed.width + int(0.05 * w)
        _hang(photo, neighbour, (nx, top + int(rng.uniform(0, 0.2) * framed.height)), rng)
    _hang(photo, framed, (left, top), rng)
    box = (left + inset[0], top + inset[1], left + inset[0] + small.width, top + inset[1] + small.height)
    photo = spotlight(photo, rng, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    visitors(photo, rng, selfie)
    if rng.random() < 0.5:  # a slant; the box stays approximately right for slight ones
        photo = perspective(photo, rng, strength=0.04)
    return Scene(jpeg(photo.filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.8))), int(rng.integers(70, 92))), box,
                 "selfie" if selfie else "wall")
