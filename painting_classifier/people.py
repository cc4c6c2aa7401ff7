"""Visitors in a museum photo: the people standing in front of the painting, so the search can look past them.

Selfies in front of a painting are a common museum photo, and a model of painters answers them with the faces
(a portrait painter). MediaPipe's Selfie Segmentation model (``assets/people``, Apache 2.0; about 5 ms on one
core in LiteRT) marks the pixels of people. Painted people are marked too, so only people who stand in the photo
count as visitors: a region of people that reaches the photo's bottom edge, as visitors' bodies do, and covers
at least ``MIN_VISITOR_SHARE`` of it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

MODEL = Path(__file__).resolve().parent.parent / "assets" / "people" / "selfie_segmentation.tflite"
SIDE = 256  # the model's input and mask side
PERSON = 0.5  # mask probability above which a pixel is a person's
MIN_VISITOR_SHARE = 0.02


@dataclass
class Visitors:
    """Where visitors stand in a photo, as shares of its width and height."""

    mask: np.ndarray  # (SIDE, SIDE) bool: the visitors' pixels, over the whole photo squashed to a square

    @property
    def top(self) -> float:
        """The highest point of any visitor (0: the photo's top edge)."""
        return float(np.nonzero(self.mask.any(axis=1))[0][0]) / SIDE

    @property
    def left(self) -> float:
        return float(np.nonzero(self.mask.any(axis=0))[0][0]) / SIDE

    @property
    def right(self) -> float:
        return float(np.nonzero(self.mask.any(axis=0))[0][-1] + 1) / SIDE

    @property
    def share(self) -> float:
        """The share of the photo they cover."""
        return float(self.mask.mean())


class PeopleFinder:
    """The Selfie Segmentation model in a LiteRT interpreter (calls are serialised: an interpreter is not
    thread-safe)."""

    def __init__(self, model: Path = MODEL):
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(model), num_threads=1)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def people(self, img: Image.Image) -> np.ndarray:
        """(SIDE, SIDE) probabilities that each pixel of ``img`` (squashed to a square) is a person's."""
        x = np.asarray(img.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BILINEAR), np.float32)[None] / 255
        with self._lock:
            self._interpreter.set_tensor(self._input, x)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output)[0, ..., 0].copy()

    def visitors(self, img: Image.Image) -> Visitors | None:
        """The visitors standing in front in ``img``, or None when there are none."""
        return visitors_in(self.people(img) > PERSON)


def visitors_in(people: np.ndarray) -> Visitors | None:
    """The regions of a boolean people mask that reach its bottom edge and cover at least ``MIN_VISITOR_SHARE``
    of it; None when there are none."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(people.astype(np.uint8), connectivity=8)
    height = people.shape[0]
    standing = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= MIN_VISITOR_SHARE * people.size
                and stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] >= height]
    return Visitors(np.isin(labels, standing)) if standing else None


@lru_cache(maxsize=1)
def people_finder() -> PeopleFinder:
    """The finder every ``Predictor`` shares (loaded on first use)."""
    return PeopleFinder()
