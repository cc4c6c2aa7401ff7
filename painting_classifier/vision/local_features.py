"""Local features of a picture, and whether two pictures show the same painting (a geometric check).

A painting is described by its strongest SIFT keypoints, found on a copy reduced to ``GALLERY_SIDE`` pixels on
its long side: where each lies (as a share of the picture's width and height) and its 128-byte descriptor. A
photo is described the same way with more keypoints. ``verified_match`` pairs the photo's keypoints with the
painting's (Lowe's ratio test), then asks RANSAC for one homography that carries enough of the painting's
keypoints onto the photo's: only the same painting, seen from anywhere, has one. The homography also gives the
painting's outline in the photo.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

GALLERY_SIDE = 512  # long side a gallery painting's keypoints are found on
GALLERY_KEYPOINTS = 64  # keypoints kept per gallery painting (the strongest): 6,000 paintings fit in 50 MB
PHOTO_SIDE = 1024  # long side a photo's keypoints are found on
PHOTO_KEYPOINTS = 2000
RATIO = 0.8  # Lowe's ratio test: the nearest match must be clearly nearer than the second
RANSAC_PIXELS = 0.012  # reprojection error allowed by RANSAC, as a share of the photo's long side


@dataclass
class LocalFeatures:
    """Keypoints of one picture: ``points`` (N, 2) as shares of its width and height, ``descriptors`` (N, 128)
    uint8, and the picture's size in pixels."""

    points: np.ndarray
    descriptors: np.ndarray
    size: tuple[int, int]


@dataclass
class Match:
    """A verified match of a gallery painting in a photo."""

    inliers: int  # keypoints the homography carries onto the photo's
    outline: np.ndarray  # (4, 2) the painting's corners in the photo, in its pixels (top-left, clockwise)


def _grey(img: Image.Image, side: int) -> np.ndarray:
    grey = np.asarray(img.convert("L"))
    scale = side / max(grey.shape)
    if scale < 1:
        grey = cv2.resize(grey, (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    return grey


def local_features(img: Image.Image, keypoints: int = GALLERY_KEYPOINTS, side: int = GALLERY_SIDE) -> LocalFeatures:
    """The ``keypoints`` strongest SIFT keypoints of ``img`` reduced to ``side`` pixels on its long side (the same
    image always gives the same ones)."""
    grey = _grey(img, side)
    sift = cv2.SIFT_create(keypoints, 3, 0.04, 10, 1.6, cv2.CV_8U)
    found, descriptors = sift.detectAndCompute(grey, None)
    if descriptors is None or not found:
        return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8), img.size)
    order = sorted(range(len(found)), key=lambda i: (-found[i].response, found[i].pt))[:keypoints]
    h, w = grey.shape
    points = np.array([[found[i].pt[0] / w, found[i].pt[1] / h] for i in order], np.float32)
    return LocalFeatures(points, np.ascontiguousarray(descriptors[order], np.uint8), img.size)


def photo_features(img: Image.Image) -> LocalFeatures:
    """A photo's local features: more keypoints, on a larger copy, than a gallery painting's."""
    return local_features(img, PHOTO_KEYPOINTS, PHOTO_SIDE)


def _plausible(outline: np.ndarray, photo_size: tuple[int, int]) -> bool:
    """A painting's outline a camera can give: convex, not folded, not vanishingly small."""
    if not np.isfinite(outline).all() or not cv2.isContourConvex(outline.astype(np.float32).reshape(-1, 1, 2)):
        return False
    area = cv2.contourArea(outline.astype(np.float32))
    return area >= 0.002 * photo_size[0] * photo_size[1]


def verified_match(photo: LocalFeatures, painting: LocalFeatures, min_inliers: int) -> Match | None:
    """The painting found in the photo by a geometric check, or None: ratio-tested matches, then a RANSAC
    homography that at least ``min_inliers`` of them agree with and that maps the painting to a plausible
    outline."""
    if len(photo.descriptors) < 2 or len(painting.descriptors) < min_inliers:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(painting.descriptors.astype(np.float32),
                                                photo.descriptors.astype(np.float32), k=2)
    good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < RATIO * n.distance]
    if len(good) < min_inliers:
        return None
    pw, ph = photo.size
    source = painting.points[[m.queryIdx for m in good]].astype(np.float32)
    target = photo.points[[m.trainIdx for m in good]].astype(np.float32) * np.float32([pw, ph])
    homography, mask = cv2.findHomography(source, target, cv2.RANSAC, RANSAC_PIXELS * max(pw, ph), maxIters=2000,
                                          confidence=0.999)
    if homography is None:
        return None
    inliers = int(mask.sum())
    corners = np.float32([[0, 0], [1, 0], [1, 1], [0, 1]]).reshape(-1, 1, 2)
    outline = cv2.perspectiveTransform(corners, homography).reshape(4, 2)
    if inliers < min_inliers or not _plausible(outline, photo.size):
        return None
    return Match(inliers, outline)
