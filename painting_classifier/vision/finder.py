"""Where might the painting be in a museum photo? Candidate regions for the model to choose among.

``crop.find_painting`` finds a painting that hangs alone on a plain wall. Visitors' photos are harder: a wide
gilt frame that the outline search keeps, a painting small on a big wall beside others, people in front
(selfies: the painting above their heads). ``candidate_crops`` proposes regions of such a photo:

- the largest quadrilateral outline from edges (a frame, a painting, the inner edge of a frame), cut in by a
  frame's width;
- the painting ``find_painting`` found, cut in by 12 % of its sides (what is left of a gilt frame);
- windows where a painting hangs in such photos: above the people (the upper 50-60 %), beside them (the upper
  left and right), and the centre at 60 and 45 %.

``Predictor`` runs them through the model in one batch, shows the one that looks most like a painting by one of
the artists (its scope score) and answers with all of their answers combined, each weighted by how painting-like
it looks (``combined_probabilities``): on synthetic scenes of validation paintings that names the painter more often
than the single most painting-like region does (benchmarks/quality/museum_photos.py, docs/experiments.md §4i). The whole
photo stays a candidate.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .crop import Crop, quadrilaterals, working_edges

# Each candidate costs a forward pass (about 25 ms on 2 cores), so these are the ones that were right most often
# on synthetic scenes of validation paintings and the development photos (benchmarks/quality/museum_photos.py).
FRAME_CUTS = (0.12,)  # inward cut of a found painting: a gilt frame is 5-15 % of its side
OUTLINE_CUT = 0.08  # the inward cut tried on the largest other outline
MIN_OUTLINE = 0.04  # outlines smaller than this share of the photo are not proposed
MAX_OUTLINES = 1  # the largest outlines proposed
TEMPERATURE = 1.0  # scope-score scale of the candidates' weights (1: a region scoring 1 higher counts e times more)
# windows (left, top, right, bottom) as shares of the photo: above and beside visitors, and the centre
WINDOWS = {"upper centre": (0.15, 0.0, 0.85, 0.5), "upper left": (0.0, 0.0, 0.65, 0.6),
           "upper right": (0.35, 0.0, 1.0, 0.6), "centre 60 %": (0.2, 0.1, 0.8, 0.7),
           "centre 45 %": (0.275, 0.275, 0.725, 0.725)}


def _rectangle(left: float, top: float, right: float, bottom: float) -> Crop:
    return Crop(np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float32))


def cut_in(crop: Crop, share: float) -> Crop:
    """``crop`` with each side moved inwards by ``share`` of the opposite sides' distance (a frame cut away)."""
    corners = crop.corners.astype(np.float32)
    centre = corners.mean(axis=0)
    return Crop(centre + (corners - centre) * (1 - 2 * share))


def outlines(img: Image.Image) -> list[Crop]:
    """The largest quadrilateral outlines of ``img`` (at least ``MIN_OUTLINE`` of it, not the whole of it), in
    pixels of ``img``: paintings, frames, and the inner edges of frames."""
    edges, scale = working_edges(img)
    found = [corners / scale for area, corners in quadrilaterals(edges) if MIN_OUTLINE <= area <= 0.9]
    distinct = []
    for corners in found:  # an outline traced twice (both sides of a line) counts once
        if all(np.abs(corners - other).max() > 0.03 * max(img.size) for other in distinct):
            distinct.append(corners)
    return [Crop(corners) for corners in distinct[:MAX_OUTLINES]]


def candidate_crops(img: Image.Image, found: Crop | None = None, min_side: int = 0) -> list[tuple[str, Crop]]:
    """Named candidate regions of ``img`` where the painting may be (the whole image excluded); ``found``: what
    ``crop.find_painting`` found in it. A region narrower than ``min_side`` pixels is not proposed: the model would
    see it enlarged, and an enlarged patch of anything, pixel noise included, can pass for brushwork."""
    w, h = img.size
    candidates = []
    if found is not None:
        candidates += [(f"found, cut in {share:.0%}", cut_in(found, share)) for share in FRAME_CUTS]
    for i, outline in enumerate(outlines(img)):
        candidates.append((f"outline {i + 1}, cut in", cut_in(outline, OUTLINE_CUT)))
    candidates += [(name, _rectangle(l * w, t * h, r * w, b * h)) for name, (l, t, r, b) in WINDOWS.items()]
    return [(name, crop) for name, crop in candidates if min(crop.size) >= min_side]


def combined_probabilities(probabilities: np.ndarray, scores: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    """The candidates' (N, classes) probabilities averaged with weights softmax(``scores`` / ``temperature``): the
    regions that look most like a painting by one of the artists count most, and no single one decides alone."""
    scores = np.asarray(scores, np.float64) / temperature
    weights = np.exp(scores - scores.max())
    return (weights / weights.sum()) @ np.asarray(probabilities, np.float64)
