"""The similar paintings under an answer, as gallery tiles: the painting's thumbnail where the gallery may show it,
otherwise a plain tile that names the painter and the title (the caption says the same for screen readers)."""
from __future__ import annotations

import textwrap

from PIL import Image, ImageDraw, ImageFont

from ..serving.similar import SimilarPainting

TILE = 128
BACKGROUND = (238, 234, 226)
INK = (60, 56, 50)
WRAP = 16  # characters a line of a text tile holds


def text_tile(painting: SimilarPainting) -> Image.Image:
    """A tile for a painting without a picture: its painter and title, in words."""
    tile = Image.new("RGB", (TILE, TILE), BACKGROUND)
    draw = ImageDraw.Draw(tile)
    font, small = ImageFont.load_default(size=14), ImageFont.load_default(size=11)
    lines = [(line, font) for line in textwrap.wrap(painting.artist, WRAP)[:3]]
    lines += [(line, small) for line in textwrap.wrap(painting.title, WRAP + 4)[:3]]
    y = (TILE - 17 * len(lines)) // 2
    for line, face in lines:
        width = draw.textlength(line, font=face)
        draw.text(((TILE - width) / 2, y), line, fill=INK, font=face)
        y += 17
    return tile


def similar_tiles(paintings: list[SimilarPainting], served) -> list[tuple[str, str]]:
    """(image file, caption) per similar painting, written by ``served`` (``ServedImages``)."""
    return [(served.jpeg(painting.thumbnail or text_tile(painting)), painting.caption) for painting in paintings]
