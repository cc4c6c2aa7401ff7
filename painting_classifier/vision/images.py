"""Turning any image file or upload into the uint8 RGB array the model takes.

Reads what Pillow reads, and HEIC/HEIF (phone photos) through ``pillow-heif``, with the same size caps.
Training (through ``tf.data``) and serving (``Predictor``) both call
:func:`load_rgb` + :func:`resize_square`, so a painting is seen the same way in both.
"""
from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()  # iPhones save photos as HEIC

# Decompression-bomb guard: pixels we are willing to decode. JPEGs larger than
# this are still fine when libjpeg can decode them at 1/2..1/8 scale.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
MAX_DECODED_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = None  # we enforce our own limit below, before decoding
# Images that decode to more pixels than this (scans; formats without reduced-scale decoding) are decoded one
# at a time and reduced at once: each holds hundreds of MB until then, so simultaneous uploads cannot add up.
BIG_DECODE_PIXELS = 30_000_000
_big_decode = threading.BoundedSemaphore(1)
REDUCIBLE_MODES = {"RGB", "RGBA", "L", "LA", "CMYK"}


def _open(source) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif isinstance(source, (str, Path)):
        if Path(source).stat().st_size == 0:
            raise ValueError("the file is empty")
    try:
        return Image.open(source)
    except UnidentifiedImageError:
        raise ValueError("not an image (or a format Pillow cannot read)") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(arr.astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    return img.convert("RGB")


def load_rgb(source, min_side: int = 0) -> Image.Image:
    """Open a path, bytes or PIL image as an upright RGB image.

    Handles EXIF rotation, palettes, alpha (composited on white), grayscale,
    CMYK, 16-bit and animated images (first frame). ``min_side`` lets JPEGs be
    decoded at a reduced scale that still covers it. Raises ``ValueError`` with
    a readable message for anything that is not a usable image.
    """
    try:
        img = _open(source)
        width, height = img.size
        if width < 1 or height < 1:
            raise ValueError("the image has no pixels")
        if img.format == "JPEG" and min_side:
            img.draft("RGB", (min_side, min_side))
        if img.size[0] * img.size[1] > MAX_DECODED_PIXELS:
            raise ValueError(
                f"the image is too large ({width}x{height} pixels; at most "
                f"{MAX_DECODED_PIXELS // 1_000_000} megapixels can be decoded)")
        img.seek(0)
        if img.size[0] * img.size[1] > BIG_DECODE_PIXELS:
            with _big_decode:
                img.load()
                img = _reduced(img, min_side)
        else:
            img.load()
        img = ImageOps.exif_transpose(img)
        return _to_rgb(img)
    except ValueError:
        raise
    except (OSError, SyntaxError, Image.DecompressionBombError, EOFError) as exc:
        raise ValueError(f"the image cannot be decoded ({exc})") from None


def _reduced(img: Image.Image, min_side: int) -> Image.Image:
    """A decoded image reduced by the largest whole factor that keeps its short side at least ``min_side`` (box
    filter), before any copy of it is made."""
    factor = min(img.size) // min_side if min_side else 1
    if factor < 2 or img.mode not in REDUCIBLE_MODES:
        return img
    exif = img.getexif()
    reduced = img.reduce(factor)
    if exif:
        reduced.info["exif"] = exif.tobytes()  # exif_transpose still needs the orientation
    return reduced


def stored_size(source) -> tuple[int, int]:
    """(width, height) in pixels of the image stored in a file or bytes, upright (read from its header and
    EXIF orientation, not decoded)."""
    def upright(img: Image.Image) -> tuple[int, int]:
        width, height = img.size
        return (height, width) if img.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8) else (width, height)

    if isinstance(source, Image.Image):  # the caller's image: not closed here
        return upright(source)
    with _open(source) as img:
        return upright(img)


def resize_square(img: Image.Image, size: int) -> np.ndarray:
    """Resize (squash, like the original project) to ``size``x``size``; uint8 HxWx3."""
    return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0), dtype=np.uint8)


def load_array(source, size: int) -> np.ndarray:
    """``load_rgb`` then ``resize_square``: the model's view of one painting."""
    return resize_square(load_rgb(source, min_side=size), size)
