"""Degraded copies of training paintings: what real uploads look like, for the cached-feature stage.

People upload web thumbnails, phone photos of prints on a wall, details and black-and-white
plates. ``degraded_copy`` turns a clean painting into one such upload, chosen at random from a
mix of steps: a detail or a frame on a wall, slight perspective, light and colour, glare,
grayscale, a low resolution, blur and JPEG. A copy is a function of (seed, painting sha1, copy
number) only, so the features of copy ``i`` can be cached and a rerun computes the same ones.
"""
from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

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

# How every training source is stored before its features (``Config.recode``): as other-artists is.
RECODED_SIDE = 448
RECODED_QUALITY = 82
# A squashed web thumbnail, as 3,319 paintings of more-paintings-2 are stored (``Config.thumbnail_copies``).
SQUASHED_SIDE = 256
SQUASHED_QUALITY = 50
MUSEUM_MARGIN = 0.08  # a museum copy keeps up to this share of each side of frame and wall (``Config.museum_copies``)


def copy_rng(seed: int, sha1: str, copy: int) -> np.random.Generator:
    """The random stream of one degraded copy."""
    return np.random.default_rng([int(seed), zlib.crc32(sha1.encode()), int(copy)])


def detail(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A detail: a random window of 55-90 % of each side."""
    w, h = img.size
    keep_w, keep_h = (rng.uniform(0.55, 0.9, 2) * (w, h)).astype(int)
    left, top = int(rng.integers(0, w - keep_w + 1)), int(rng.integers(0, h - keep_h + 1))
    return img.crop((left, top, left + keep_w, top + keep_h))


def framed_on_wall(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The painting in a frame (sometimes with a mat), hanging on a plain wall, filling 35-80 % of the width;
    and the painting's box (left, top, right, bottom) in that photo."""
    w, h = img.size
    frame = max(2, int(rng.uniform(0.03, 0.1) * max(w, h)))
    mat = int(rng.uniform(0.03, 0.12) * max(w, h)) if rng.random() < 0.3 else 0
    frame_colour = tuple(int(c) for c in rng.integers(20, 200, 3))
    inner_w, inner_h = w + 2 * (frame + mat), h + 2 * (frame + mat)
    framed = Image.new("RGB", (inner_w, inner_h), frame_colour)
    draw = ImageDraw.Draw(framed)
    if mat:
        shade = int(rng.integers(200, 250))
        draw.rectangle((frame, frame, inner_w - frame - 1, inner_h - frame - 1), fill=(shade, shade, shade - 8))
    framed.paste(img, (frame + mat, frame + mat))
    fill = rng.uniform(0.35, 0.8)
    wall_w = int(inner_w / fill)
    wall_h = int(max(inner_h / rng.uniform(0.45, 0.85), wall_w * rng.uniform(0.6, 1.0)))
    wall_colour = np.array(rng.integers(120, 245, 3), np.float32)
    gradient = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(1.0, 1.15), wall_h)[:, None, None]
    wall = np.clip(wall_colour * gradient * np.ones((wall_h, wall_w, 1), np.float32), 0, 255)
    photo = Image.fromarray(wall.astype(np.uint8))
    left = int(rng.integers(0, wall_w - inner_w + 1))
    top = int(rng.integers(0, wall_h - inner_h + 1))
    photo.paste(framed, (left, top))
    inset = frame + mat
    return photo, (left + inset, top + inset, left + inset + w, top + inset + h)


def perspective(img: Image.Image, rng: np.random.Generator, strength: float = 0.06) -> Image.Image:
    """A slight perspective: each corner moved by up to ``strength`` of the side."""
    w, h = img.size
    jitter = rng.uniform(0, strength, (4, 2)) * (w, h)
    # source quad (tl, bl, br, tr) that maps onto the whole output
    quad = [jitter[0, 0], jitter[0, 1], jitter[1, 0], h - jitter[1, 1],
            w - jitter[2, 0], h - jitter[2, 1], w - jitter[3, 0], jitter[3, 1]]
    return img.transform((w, h), Image.Transform.QUAD, quad, Image.Resampling.BILINEAR)


def light_and_colour(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Brightness, contrast, saturation and a colour cast, as under room light."""
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.7, 1.25))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.7, 1.25))
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.3))
    cast = rng.uniform(0.9, 1.1, 3)
    return Image.fromarray(np.clip(np.asarray(img, np.float32) * cast, 0, 255).astype(np.uint8))


def glare(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A soft bright reflection somewhere on the picture."""
    w, h = img.size
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    radius = rng.uniform(0.1, 0.3) * max(w, h)
    y, x = np.ogrid[:h, :w]
    spot = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius ** 2))[..., None] * rng.uniform(0.4, 0.8)
    pixels = np.asarray(img, np.float32)
    return Image.fromarray((pixels + (255 - pixels) * spot).astype(np.uint8))


def low_resolution(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Downscaled to 150-400 px on the long side, like a web thumbnail."""
    long_side = int(rng.integers(150, 401))
    scale = long_side / max(img.size)
    if scale >= 1:
        return img
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    """``img`` after a round trip through JPEG at ``quality``."""
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=int(quality))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def recoded(img: Image.Image) -> Image.Image:
    """``img`` as the other-artists folder stores paintings: at most ``RECODED_SIDE`` px on the long side,
    JPEG quality ``RECODED_QUALITY``."""
    img = img.copy()
    img.thumbnail((RECODED_SIDE, RECODED_SIDE), Image.Resampling.LANCZOS)
    return jpeg(img, RECODED_QUALITY)


def squashed(img: Image.Image) -> Image.Image:
    """``img`` squashed to a ``SQUASHED_SIDE`` square and stored at 224 px, JPEG quality ``SQUASHED_QUALITY``
    (more-paintings-2's copies)."""
    square = img.resize((SQUASHED_SIDE, SQUASHED_SIDE), Image.Resampling.BILINEAR)
    return jpeg(square.resize((224, 224), Image.Resampling.BILINEAR), SQUASHED_QUALITY)


def in_museum(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The painting in a gilt frame on a museum wall, photographed, then cut out as the finder does: its box
    widened by 0-25 % of each side, so some frame and wall stay in."""
    return _cut_from_museum_scene(img, rng, selfie_share=0.3, margin=0.25)


def _cut_from_museum_scene(img: Image.Image, rng: np.random.Generator, selfie_share: float,
                           margin: float) -> Image.Image:
    """``img`` in a synthetic museum photo (``museum_scenes.py``; visitors in front ``selfie_share`` of the time),
    cut at its box widened by up to ``margin`` of each side."""
    from .museum_scenes import museum_scene  # museum_scenes builds on this module's steps

    scene = museum_scene(img, rng, selfie=rng.random() < selfie_share)
    left, top, right, bottom = scene.box
    grow_x, grow_y = rng.uniform(0, margin, 2) * (right - left, bottom - top)
    return scene.photo.crop((max(0, int(left - grow_x)), max(0, int(top - grow_y)),
                             min(scene.photo.width, int(right + grow_x)), min(scene.photo.height, int(bottom + grow_y))))


def museum_light(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A gallery's light: a warm cast, lifted blacks (haze, glass, varnish) and lower contrast."""
    pixels = np.asarray(img, np.float32)
    warm = np.array([rng.uniform(1.0, 1.15), rng.uniform(0.95, 1.05), rng.uniform(0.7, 0.95)], np.float32)
    haze = rng.uniform(0, 40)
    pixels = pixels * warm * rng.uniform(0.7, 1.05)
    pixels = haze + pixels * (1 - haze / 255)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


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
