"""Real-world uploads made from a painting file: a frame on a wall, black and white, a thumbnail, a detail, a phone
photo, a screenshot, turned, with glare (``KINDS``); deterministic per file and kind. Made here, independently of
the training augmentation (``training/augment.py``). ``UploadVariant`` feeds them to the cached-feature stage."""
from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

KINDS = ("clean", "wall", "bw", "thumbnail", "detail", "phone", "screenshot", "rotated", "glare")
WALL_COLOURS = [(236, 232, 220), (214, 222, 226), (190, 170, 150), (120, 130, 125), (245, 245, 240), (170, 60, 50)]
FRAME_COLOURS = [(92, 60, 34), (30, 28, 26), (180, 150, 80), (235, 230, 220), (120, 86, 50)]


def _encode(img: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buffer.getvalue()



def _perspective(img: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """Corners pulled in by up to ``strength`` of the side (a camera not quite square to the picture)."""
    w, h = img.size
    d = rng.uniform(0, strength, 8) * np.array([w, h] * 4)
    quad = (d[0], d[1], d[2], h - d[3], w - d[4], h - d[5], w - d[6], d[7])
    return img.transform(img.size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)



def _wall(painting: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A framed painting on a lit wall; the frame covers about half of the photo's area."""
    photo_w, photo_h = 1600, 1200
    scale = np.sqrt(0.5 * photo_w * photo_h / (painting.width * painting.height)) / 1.15
    scale = min(scale, 0.9 * photo_w / painting.width / 1.15, 0.9 * photo_h / painting.height / 1.15)
    inner = painting.resize((int(painting.width * scale), int(painting.height * scale)), Image.Resampling.LANCZOS)
    frame = int(0.07 * max(inner.size))
    colour = FRAME_COLOURS[rng.integers(len(FRAME_COLOURS))]
    framed = Image.new("RGB", (inner.width + 2 * frame, inner.height + 2 * frame), colour)
    draw = ImageDraw.Draw(framed)
    for i in range(0, frame, max(1, frame // 4)):  # mouldings: alternating lighter and darker bands
        shade = tuple(int(c * (1.15 if (i // max(1, frame // 4)) % 2 else 0.8)) for c in colour)
        draw.rectangle((i, i, framed.width - 1 - i, framed.height - 1 - i), outline=shade, width=2)
    framed.paste(inner, (frame, frame))
    wall_colour = np.array(WALL_COLOURS[rng.integers(len(WALL_COLOURS))], np.float32)
    light = np.linspace(1.08, 0.85, photo_h)[:, None, None] * np.linspace(0.95, 1.05, photo_w)[None, :, None]
    wall = np.clip(wall_colour * light + rng.normal(0, 2.5, (photo_h, photo_w, 1)), 0, 255).astype(np.uint8)
    photo = Image.fromarray(wall)
    left = (photo_w - framed.width) // 2 + int(rng.integers(-60, 61))
    top = (photo_h - framed.height) // 2 + int(rng.integers(-40, 41))
    left, top = np.clip(left, 0, photo_w - framed.width), np.clip(top, 0, photo_h - framed.height)
    shadow = Image.new("L", framed.size, 90)
    photo.paste((20, 20, 20), (left + 8, top + 10), shadow)  # a soft shadow under the frame
    photo.paste(framed, (left, top))
    box = (left + frame, top + frame, left + frame + inner.width, top + frame + inner.height)
    return _perspective(photo, rng, 0.025), box



def _phone(painting: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A phone photo of the painting itself: slight perspective, uneven warm light, blur, noise, JPEG."""
    img = painting.resize((1600, int(1600 * painting.height / painting.width)), Image.Resampling.BICUBIC)
    img = _perspective(img, rng, 0.04)
    w, h = img.size
    light = np.linspace(rng.uniform(1.05, 1.2), rng.uniform(0.75, 0.9), w)[None, :, None]
    pixels = np.asarray(img, np.float32) * light * np.array([1.06, 1.0, 0.9])
    pixels += rng.normal(0, 3, pixels.shape)
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    return img



def _screenshot(painting: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The painting on a web page in a browser window, with toolbar and text around it."""
    screen = Image.new("RGB", (1440, 900), (255, 255, 255))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 1440, 86), fill=(222, 225, 230))
    draw.rounded_rectangle((12, 8, 260, 38), 8, fill=(255, 255, 255))  # a tab
    draw.rounded_rectangle((120, 48, 1300, 78), 14, fill=(241, 243, 244))  # the address bar
    shown = painting.copy()
    shown.thumbnail((int(1440 * rng.uniform(0.4, 0.6)), 700), Image.Resampling.LANCZOS)
    left, top = 80 + int(rng.integers(0, 60)), 130
    screen.paste(shown, (left, top))
    for i in range(12):  # lines of text beside the picture
        y = 140 + 28 * i
        draw.rectangle((left + shown.width + 40, y, 1380 - int(rng.integers(0, 200)), y + 10), fill=(90, 90, 90))
    return screen, (left, top, left + shown.width, top + shown.height)



def _glare(painting: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A reflection of a window or lamp: a bright soft ellipse and a little lost contrast."""
    w, h = painting.size
    y, x = np.ogrid[:h, :w]
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.2, 0.6) * h
    spot = np.exp(-(((x - cx) / (0.18 * w)) ** 2 + ((y - cy) / (0.12 * h)) ** 2))[..., None]
    pixels = np.asarray(ImageEnhance.Contrast(painting).enhance(0.85), np.float32)
    return Image.fromarray((pixels + (255 - pixels) * 0.85 * spot).astype(np.uint8))



def make_upload(path: Path, kind: str) -> tuple[bytes, tuple[int, int, int, int] | None]:
    """The upload of ``kind`` made from one painting file, and where the painting is in it (wall and
    screenshot only). The same file and kind always give the same bytes."""
    if kind == "clean":
        return path.read_bytes(), None
    rng = np.random.default_rng([zlib.crc32(kind.encode()), zlib.crc32(path.name.encode())])
    painting = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    if kind == "wall":
        photo, box = _wall(painting, rng)
        return _encode(photo, quality=85), box
    if kind == "screenshot":
        screen, box = _screenshot(painting, rng)
        return _encode(screen, "PNG"), box
    if kind == "bw":
        return _encode(ImageEnhance.Contrast(ImageOps.grayscale(painting)).enhance(1.1), quality=85), None
    if kind == "thumbnail":
        painting.thumbnail((256, 256), Image.Resampling.BICUBIC)
        return _encode(painting, quality=35), None
    if kind == "detail":
        w, h = painting.size
        return _encode(painting.crop((int(0.2 * w), int(0.2 * h), int(0.8 * w), int(0.8 * h))), quality=90), None
    if kind == "phone":
        return _encode(_phone(painting, rng), quality=70), None
    if kind == "rotated":
        return _encode(painting.transpose(Image.Transpose.ROTATE_270), quality=90), None
    if kind == "glare":
        return _encode(_glare(painting, rng), quality=85), None
    raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")



def box_iou(a, b) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union else 0.0

UPLOADS_VERSION = "2"  # bump when real_world.py changes an upload kind or the serving path changes


class UploadVariant:
    """A painting as one kind of real-world upload, seen through the serving path (``features.Variant``'s interface)."""

    def __init__(self, kind: str, crop: bool = True):
        self.kind, self.crop = kind, crop
        self.suffix = f"_rw{UPLOADS_VERSION}-{kind}" + ("-crop" if crop else "")

    def load(self, path: str, sha1: str, size: int) -> np.ndarray:
        from painting_classifier.serving.predict import locate_painting
        from painting_classifier.vision.images import resize_square

        upload, _ = make_upload(Path(path), self.kind)
        return resize_square(locate_painting(upload, size, self.crop).painting, size)

