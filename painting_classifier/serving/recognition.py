"""Recognition in the answer: when the gallery verifies a painting in the photo, the answer names it.

The painter of a verified painting is certain: one of the model's artists gets ``RECOGNISED`` of the probability
(the others keep their order below it); a painter outside them makes the answer "not one of the artists", with the
model's closest names kept for what they are. The painting's outline in the photo, from the homography, becomes
drawn on the photo (``Recognition.outlined``) and cut out as the painting (``Recognition.painting``); what the model
looked at, and its map, stay as they were. Without a verified match the answer is left as it was.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from ..artists import normalise_name
from ..scope import NOT_ONE_OF_THE_ARTISTS
from ..vision.crop import Crop, cut_out
from ..vision.images import load_rgb
from ..vision.local_features import PHOTO_SIDE, LocalFeatures, photo_features
from ..vision.region import with_outline

RECOGNISED = 0.99  # the recognised painter's probability, at least


def photo_to_check(located) -> Image.Image:
    """The picture whose keypoints are checked: the decoded image, decoded again larger when a large photo was
    decoded small (a painting far away on a museum wall needs its pixels)."""
    image = located.image
    if max(image.size) >= PHOTO_SIDE or located.source is None or located.stored_pixels_per_pixel <= 1:
        return image
    return load_rgb(located.source, min_side=round(min(image.size) * PHOTO_SIDE / max(image.size)))


def certain(probabilities: np.ndarray, index: int) -> np.ndarray:
    """``probabilities`` with class ``index`` at least ``RECOGNISED``, the others scaled to fill the rest."""
    chosen = max(float(probabilities[index]), RECOGNISED)
    rest = np.delete(probabilities, index).sum()
    scaled = probabilities * ((1 - chosen) / rest if rest > 0 else 0.0)
    scaled[index] = chosen
    return scaled


def keypoints_of(located) -> LocalFeatures | None:
    """The keypoints recognition checks in a located painting's photo (``photo_to_check``); None without an image.
    Found once for every gallery, and on another thread while the model looks (``Predictor.identify``)."""
    return None if located.image is None else photo_features(photo_to_check(located))


def recognised(predictor, answer, top_k: int, seen: LocalFeatures | None = None):
    """``answer`` (an ``Identification``) with the gallery painting verified in its image, if any; ``seen``: its
    photo's keypoints when they were already found (``keypoints_of``)."""
    located = answer.located
    seen = seen if seen is not None else keypoints_of(located)
    if seen is None:
        return answer
    found = predictor.gallery.recognise(seen)
    if found is None:
        return answer
    outline = found.outline * (located.image.width / seen.size[0])
    inside = np.clip(outline, 0, [located.image.width - 1, located.image.height - 1]).astype(np.float32)
    found = dataclasses.replace(found, outline=outline * located.stored_pixels_per_pixel,
                                painting=cut_out(located.image, Crop(inside)), outlined=with_outline(located.image, outline))
    probabilities, in_scope, why_not = answer.probabilities, True, None
    if found.known:
        keys = [normalise_name(name) for name in predictor.names]
        probabilities = certain(probabilities, keys.index(normalise_name(found.artist)))
    else:
        in_scope, why_not = False, NOT_ONE_OF_THE_ARTISTS
    return dataclasses.replace(answer, recognised=found, by_style=answer.ranked[0], probabilities=probabilities,
                               ranked=predictor.ranked_of(probabilities, top_k), in_scope=in_scope, out_of_scope=why_not)
