"""Photo effects: what happens to a painting between the museum wall and an upload (a detail, a frame on a wall,
a slant, light and colour, glare, a low resolution, JPEG, a squashed thumbnail, a gallery's light).

Each is a function of the image and a random stream, so training copies (``training.augment``), synthetic museum
scenes (``training.museum_scenes``) and the benchmarks' upload kinds make the same image from the same draws.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

# How every training source is stored before its features (``Config.recode``): as other-artists is.
RECODED_SIDE = 448
RECODED_QUALITY = 82
# A squashed web thumbnail, as 3,319 paintings of more-paintings-2 are stored (``Config.thumbnail_copies``).
SQUASHED_SIDE = 256
SQUASHED_QUALITY = 50


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


def museum_light(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A gallery's light: a warm cast, lifted blacks (haze, glass, varnish) and lower contrast."""
    pixels = np.asarray(img, np.float32)
    warm = np.array([rng.uniform(1.0, 1.15), rng.uniform(0.95, 1.05), rng.uniform(0.7, 0.95)], np.float32)
    haze = rng.uniform(0, 40)
    pixels = pixels * warm * rng.uniform(0.7, 1.05)
    pixels = haze + pixels * (1 - haze / 255)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
