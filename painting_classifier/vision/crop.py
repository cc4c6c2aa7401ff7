"""Finding the painting inside a photo of it: the frame, mat and wall around it cut away.

People photograph prints on a classroom wall and paste screenshots. ``find_painting`` looks for
the largest convex quadrilateral outline (OpenCV edges and contours on a small copy), follows
it inwards through a frame or mat (an outline inside it with narrow margins on every side) and
accepts the result only when the wall around the outline is plainer than the painting. Where a painting's edge
blends into its frame, the frame's outer outline is the crop: the wall goes, the frame stays. A painting that already fills the
image, or one with no clear outline, is never cropped. ``cut_out`` undoes a slight perspective.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

WORK_SIDE = 384  # long side of the copy the outline is searched on
MIN_AREA = 0.1  # a painting smaller than this share of the photo is not looked for
MAX_AREA = 0.85  # an outline larger than this: the painting already fills the image
INNER_MIN_AREA = 0.35  # an inner outline at least this share of its outer one may be the frame's inner edge
INNER_MAX_MARGIN = 0.22  # ... when every margin between the two is at most this share of the outer side
# 0.35 (0.3 before) finds 4 points more of the screenshots of 150 full-size validation paintings (a web page
# shows a painting off-centre), without more false crops of 300 clean ones or fewer wall photos found
# (benchmarks/quality/crop_screenshots.py, docs §4h).
MAX_OFF_CENTRE = 0.35  # the painting's centre lies within this share of the photo's sides from its centre
SURROUND_EDGES = 0.6  # the surround has at most this share of the inside's edge density


@dataclass
class Crop:
    """Where the painting is in an image: corners (top-left, top-right, bottom-right, bottom-left) in pixels."""

    corners: np.ndarray  # (4, 2) float x, y

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The bounding box (left, top, right, bottom)."""
        (left, top), (right, bottom) = self.corners.min(axis=0), self.corners.max(axis=0)
        return int(round(left)), int(round(top)), int(round(right)), int(round(bottom))

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the rectified painting."""
        tl, tr, br, bl = self.corners
        width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
        height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
        return max(1, int(round(width))), max(1, int(round(height)))


def _ordered(quad: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    quad = quad.reshape(4, 2).astype(np.float32)
    s, d = quad.sum(axis=1), quad[:, 0] - quad[:, 1]
    return np.array([quad[np.argmin(s)], quad[np.argmax(d)], quad[np.argmax(s)], quad[np.argmin(d)]])


def _edges(rgb: np.ndarray) -> np.ndarray:
    """Canny edges of every colour channel (a frame can differ from the wall in hue only)."""
    blurred = cv2.GaussianBlur(rgb, (5, 5), 0)
    return np.max([cv2.Canny(np.ascontiguousarray(blurred[..., c]), 40, 120) for c in range(3)], axis=0)


def quadrilaterals(edges: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """(area share, ordered corners) of every convex quadrilateral outline, largest first."""
    image_area = edges.shape[0] * edges.shape[1]
    closed = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(closed, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    quads = []
    for contour in contours:
        hull = cv2.convexHull(contour)
        area = cv2.contourArea(hull) / image_area
        if area < MIN_AREA * INNER_MIN_AREA or cv2.contourArea(contour) < 0.9 * cv2.contourArea(hull):
            continue
        quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
        if len(quad) == 4 and cv2.isContourConvex(quad):
            quads.append((area, _ordered(quad)))
    return sorted(quads, key=lambda q: -q[0])


def _margins(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Left, top, right and bottom margins between two ordered quads, as shares of the outer sides."""
    (l0, t0), (r0, b0) = outer.min(axis=0), outer.max(axis=0)
    (l1, t1), (r1, b1) = inner.min(axis=0), inner.max(axis=0)
    width, height = max(r0 - l0, 1), max(b0 - t0, 1)
    return np.array([(l1 - l0) / width, (t1 - t0) / height, (r0 - r1) / width, (b0 - b1) / height])


def _outline_and_painting(quads: list[tuple[float, np.ndarray]]) -> tuple[np.ndarray, np.ndarray] | None:
    """The largest outline small enough to be a painting (or its frame), and that outline followed inwards
    through frame and mat: to an outline inside it with narrow margins on every side."""
    outline = next((q for q in quads if q[0] <= MAX_AREA), None)
    if outline is None:
        return None
    inner = outline
    for area, corners in quads:
        margins = _margins(inner[1], corners)
        if INNER_MIN_AREA * inner[0] <= area < inner[0] and (margins > -0.01).all() and (margins <= INNER_MAX_MARGIN).all():
            inner = (area, corners)
    return outline[1], inner[1]


def _edge_density(edges: np.ndarray, mask: np.ndarray) -> float:
    return float(edges[mask].mean()) / 255 if mask.any() else 0.0


def _inside(shape: tuple[int, int], corners: np.ndarray, shrink: int) -> np.ndarray:
    """Mask of the pixels inside a quad (eroded by ``shrink`` pixels, or grown when negative)."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, corners.astype(np.int32), 1)
    kernel = np.ones((2 * abs(shrink) + 1,) * 2, np.uint8)
    return (cv2.erode(mask, kernel) if shrink > 0 else cv2.dilate(mask, kernel)) > 0


def _plausible(edges: np.ndarray, outline: np.ndarray, painting: np.ndarray) -> bool:
    """A painting hangs roughly in the middle of the photo, on a plainer wall (outside its outline)."""
    h, w = edges.shape
    centre = painting.mean(axis=0) / (w, h)
    area = cv2.contourArea(painting.astype(np.float32)) / (w * h)
    if area < MIN_AREA or (np.abs(centre - 0.5) > MAX_OFF_CENTRE).any():
        return False
    wall = ~_inside((h, w), outline, -3)  # the outlines themselves count for neither side
    return _edge_density(edges, wall) <= SURROUND_EDGES * _edge_density(edges, _inside((h, w), painting, 3))


def working_edges(img: Image.Image) -> tuple[np.ndarray, float]:
    """The edges the outlines are searched on: ``img`` reduced to ``WORK_SIDE`` on its long side; and that scale."""
    scale = min(1.0, WORK_SIDE / max(img.size))
    rgb = np.asarray(img.convert("RGB"))
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         interpolation=cv2.INTER_AREA)
    return _edges(rgb), scale


def find_painting(img: Image.Image) -> Crop | None:
    """Where the painting is in a photo of it (frame, mat and wall excluded), or ``None`` when the image
    shows nothing but a painting (or no clear outline)."""
    edges, scale = working_edges(img)
    found = _outline_and_painting(quadrilaterals(edges))
    return None if found is None or not _plausible(edges, *found) else Crop(found[1] / scale)


def cut_out(img: Image.Image, crop: Crop) -> Image.Image:
    """The painting inside ``crop``, rectified to a rectangle."""
    width, height = crop.size
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(crop.corners.astype(np.float32), target)
    return Image.fromarray(cv2.warpPerspective(np.asarray(img.convert("RGB")), matrix, (width, height),
                                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
