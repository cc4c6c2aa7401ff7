"""The user's own box: when the painting search picked the wrong region of a photo, the user taps two opposite
corners of the painting on the photo and the painting inside that box is identified instead.

Taps arrive as pixel positions on the shown copy of the photo (``SHOWN_SIDE`` px long), which is also what the
box is cut from: a box drawn on a phone is coarse, and the model looks at 448 px anyway.
"""
from __future__ import annotations

from PIL import Image, ImageDraw

from .images import load_rgb

SHOWN_SIDE = 1024  # long side of the photo the user draws on
MIN_BOX = 16  # a box narrower or lower than this many pixels is taken as a slip of the finger


def shown_photo(source) -> Image.Image:
    """The photo as the user sees it to draw on: upright RGB, at most ``SHOWN_SIDE`` px long."""
    photo = load_rgb(source, min_side=SHOWN_SIDE)
    photo.thumbnail((SHOWN_SIDE, SHOWN_SIDE))
    return photo


def box_of(first: tuple[int, int], second: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) with two taps as opposite corners, inside an image of ``size``;
    ``ValueError`` when it is too small to hold a painting."""
    left, right = sorted((first[0], second[0]))
    top, bottom = sorted((first[1], second[1]))
    left, top = max(0, left), max(0, top)
    right, bottom = min(size[0], right), min(size[1], bottom)
    if right - left < MIN_BOX or bottom - top < MIN_BOX:
        raise ValueError(f"the box is only {max(0, right - left)} x {max(0, bottom - top)} pixels: tap two opposite "
                         "corners of the painting")
    return left, top, right, bottom


def with_box(photo: Image.Image, box: tuple[int, int, int, int] | None = None,
             corner: tuple[int, int] | None = None) -> Image.Image:
    """The photo with the drawn box (or the first tapped corner) marked on it."""
    marked = photo.copy()
    draw = ImageDraw.Draw(marked)
    width = max(3, photo.width // 200)
    if box is not None:
        draw.rectangle(box, outline=(255, 200, 0), width=width)
    if corner is not None:
        x, y = corner
        draw.ellipse((x - 3 * width, y - 3 * width, x + 3 * width, y + 3 * width), outline=(255, 200, 0), width=width)
    return marked


def with_outline(photo: Image.Image, outline, side: int = 640) -> Image.Image:
    """A copy of the photo at most ``side`` px long with a painting's outline (4 corners, in the photo's pixels)
    drawn on it."""
    marked = photo.copy()
    marked.thumbnail((side, side))
    scale = marked.width / photo.width
    corners = [(float(x) * scale, float(y) * scale) for x, y in outline]
    ImageDraw.Draw(marked).polygon(corners, outline=(255, 200, 0), width=max(3, marked.width // 160))
    return marked
