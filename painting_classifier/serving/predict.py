"""Identifying a painting: decode -> find the painting -> model -> scope score -> recognition.

An upload is decoded at a reduced scale that still covers the model's input, the painting is cut out of any
frame and wall around it (``crop.py``; a large photo is decoded again when the painting in it needs more
pixels), then squashed to the model's input. One forward pass of the bundle's LiteRT model
(``runtime.py``) gives the probabilities, the features the scope score judges (``scope.py``) and the map
of where the model looked (``explain.py``). A photo in which the painting is not plainly found is searched
(``finder.py``), and with a gallery the painting itself may be recognised (``recognition.py``). No TensorFlow.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..bundle import Bundle, load_bundle
from ..vision.crop import Crop, cut_out, find_painting
from ..vision.explain import explanation_map
from ..vision.finder import TEMPERATURE, candidate_crops, combined_probabilities
from ..vision.images import load_rgb, resize_square, stored_size
from .cpus import usable_cpus
from .gallery import Galleries, Gallery, Recognition, bundle_gallery
from .recognition import keypoints_of, recognised
from .runtime import ModelOutputs, litert_model
from .similar import SimilarPainting, SimilarPaintings, bundle_similar, with_similar

SEARCH_MARGIN = 0.5  # scope-score margin above the threshold under which a photo is searched (benchmarks/quality/museum_photos.py)
SEARCH_CONFIDENCE = 1.0  # margin a region found by the search must clear to overrule a first look out of scope
SEARCH_GAIN = 0.75  # how much higher than a whole picture's (no frame found) a region's scope score must be


@dataclass
class LocatedPainting:
    """The painting in an image: what the model is shown."""

    painting: Image.Image  # the painting cut out of the image, or all of it
    crop: Crop | None  # where it was found in the image (None: the whole image)
    image_size: tuple[int, int]  # width and height of the image as decoded (the crop's coordinates)
    image: Image.Image | None = None  # the image as decoded, to search for the painting in (None: not kept)
    stored_width: int | None = None  # the image's own width in pixels, when it was decoded smaller
    source: object = None  # what was decoded (path, bytes or image), to decode it larger for recognition

    @property
    def stored_pixels_per_pixel(self) -> float:
        """How many of the stored image's pixels one decoded pixel stands for (1 unless decoded at reduced scale)."""
        return (self.stored_width or self.image_size[0]) / self.image_size[0]


def locate_painting(image, side: int, find: bool = True) -> LocatedPainting:
    """The painting in ``image`` (path, bytes or PIL image); ``find``: look for it inside a frame and wall.
    ``ValueError`` for what is not a usable image.

    A JPEG is decoded at the smallest scale that still covers ``side`` pixels; when a painting found in
    a large photo would come out smaller than that, the photo is decoded again at a scale that gives
    the painting itself ``side`` pixels.
    """
    rgb = load_rgb(image, min_side=side)
    stored_width = stored_size(image)[0]
    crop = find_painting(rgb) if find else None
    if crop is None:
        return LocatedPainting(rgb, None, rgb.size, rgb, stored_width, image)
    if min(crop.size) < side:
        sharper = load_rgb(image, min_side=math.ceil(min(rgb.size) * side / min(crop.size)))
        if sharper.width > rgb.width:
            crop, rgb = Crop(crop.corners * (sharper.width / rgb.width)), sharper
    return LocatedPainting(cut_out(rgb, crop), crop, rgb.size, rgb, stored_width, image)


@dataclass
class Identification:
    """What the model makes of one image."""

    ranked: list[tuple[str, float]]  # (artist, probability), best first
    probabilities: np.ndarray  # every artist's probability, in bundle order
    located: LocatedPainting  # what the model was shown, and where it was in the image
    class_maps: np.ndarray | None = None  # (n_views, G, G) the top class's activation map per view (``explain.py``)
    in_scope: bool = True  # looks like a painting by one of the artists (always, for a bundle without a scope score)
    scope_score: float | None = None  # higher: more like the artists' paintings (``scope.py``); None without one
    out_of_scope: str | None = None  # why not in scope: scope.NOT_A_PAINTING or scope.NOT_ONE_OF_THE_ARTISTS
    regions: int = 1  # regions of the image whose answers were combined (more than 1: the photo was searched)
    recognised: Recognition | None = None  # the gallery painting verified in the image (``serving/recognition.py``)
    by_style: tuple[str, float] | None = None  # with ``recognised``: the model's first name before it was recognised
    features: np.ndarray | None = None  # the model's features of the painting shown (the head's input)
    similar: list[SimilarPainting] = dataclasses.field(default_factory=list)  # nearest gallery paintings (``similar.py``)

    @property
    def painting(self) -> Image.Image:
        return self.located.painting

    @property
    def crop(self) -> Crop | None:
        return self.located.crop


class Predictor:
    """Top-k artist predictions for images of any kind (path, bytes or PIL image).

    ``model``: what runs the forward pass (default: the bundle's LiteRT model; ``training.keras_serving`` gives the
    Keras one); its name is in ``self.runtime``. ``find``: look for the painting inside a photo of it (frame and
    wall) by default. ``gallery``: paintings to recognise (``serving/gallery.py``); None: style alone. ``similar``:
    the vectors of gallery paintings to show the nearest of, and blend their painters in (``serving/similar.py``).
    """

    def __init__(self, bundle: Bundle, tta: bool | None = None, warm_up: bool = True, model=None, find: bool = True,
                 gallery: Gallery | Galleries | None = None, similar: SimilarPaintings | None = None):
        self.bundle = bundle
        self.input_size = bundle.input_size
        self.tta = bundle.config.tta if tta is None else tta
        self.names = bundle.display_names
        self.find = find
        self.scope = bundle.scope
        self.search_margin = SEARCH_MARGIN
        self.search_confidence = SEARCH_CONFIDENCE
        self.search_gain = SEARCH_GAIN
        self.search_temperature = TEMPERATURE
        self.gallery = gallery
        self.similar = similar
        self._keypoint_finder = ThreadPoolExecutor(usable_cpus(), thread_name_prefix="keypoints")
        self.model = model or litert_model(bundle)
        self.runtime = self.model.runtime
        if warm_up:
            self.model(np.zeros((2 if self.tta else 1, self.input_size, self.input_size, 3), np.float32))

    @classmethod
    def from_bundle(cls, path: str | Path, **kwargs) -> "Predictor":
        """The predictor of the bundle in ``path``, with the bundle's gallery and its similar paintings where it has
        them."""
        bundle = load_bundle(path)
        gallery = bundle_gallery(bundle)
        return cls(bundle, **{"gallery": gallery, "similar": bundle_similar(bundle, gallery), **kwargs})

    def style_only(self) -> "Predictor":
        """This predictor answering from style alone, on the same model: no recognition, no similar paintings (the
        quiz asks paintings the gallery holds, and the model must not look them up)."""
        alone = copy.copy(self)
        alone.gallery, alone.similar = None, None
        return alone

    @property
    def explains(self) -> bool:
        """Whether the model gives a map of where it looked (a linear head does)."""
        return bool(self.model.layout.get("class_map"))

    def locate(self, image, find: bool | None = None) -> LocatedPainting:
        """``locate_painting`` as this predictor decodes (``find`` default: ``self.find``)."""
        return locate_painting(image, self.input_size, self.find if find is None else find)

    def prepare(self, image, find: bool | None = None) -> np.ndarray:
        """The uint8 square array the model sees."""
        return resize_square(self.locate(image, find).painting, self.input_size)

    def _outputs_of(self, arrays: np.ndarray) -> ModelOutputs:
        """The model's outputs for uint8 inputs (N, S, S, 3); with ``tta`` probabilities and features are averaged
        with the mirror image's (the map is the unmirrored image's)."""
        batch = np.asarray(arrays, np.float32)
        if not self.tta:
            return self.model(batch)
        outputs = self.model(np.concatenate([batch, batch[:, :, ::-1]]))
        n = len(arrays)
        return ModelOutputs((outputs.probabilities[:n] + outputs.probabilities[n:]) / 2,
                            (outputs.features[:n] + outputs.features[n:]) / 2,
                            None if outputs.class_maps is None else outputs.class_maps[:n])

    def ranked_of(self, probabilities: np.ndarray, top_k: int) -> list[tuple[str, float]]:
        """The ``top_k`` likeliest (artist, probability), best first."""
        order = np.argsort(-probabilities)[: max(1, int(top_k))]
        return [(self.names[i], float(probabilities[i])) for i in order]

    def _identification_of_row(self, pixels: np.ndarray, outputs: ModelOutputs, row: int, top_k: int,
                        located: LocatedPainting) -> Identification:
        probs = outputs.probabilities[row]
        ranked = self.ranked_of(probs, top_k)
        maps = None if outputs.class_maps is None else outputs.class_maps[row]
        features = outputs.features[row]
        if self.scope is None:
            return Identification(ranked, probs, located, maps, features=features)
        score, in_scope, why_not = self.scope.judge(features, probs, pixels)
        return Identification(ranked, probs, located, maps, in_scope, score, why_not, features=features)

    def identify(self, image, top_k: int = 5, find: bool | None = None) -> Identification:
        """The ``top_k`` most likely artists for ``image``, whether it is in scope (a painting by one of the
        artists), the painting the model was shown and where the model looked. With ``find`` (default:
        ``self.find``), a photo in which the painting is not plainly found is searched (``search``)."""
        located = self.locate(image, find)
        # the photo's keypoints are found on another thread while the model looks (OpenCV and LiteRT let go of the GIL)
        seen = None if self.gallery is None else self._keypoint_finder.submit(keypoints_of, located)
        first = self.identify_located(located, top_k)
        return self._answer(first, top_k, find, seen)

    def _answer(self, first: Identification, top_k: int, find: bool | None, seen=None) -> Identification:
        """The first look, searched where it calls for it, then recognised in the gallery when there is one (``seen``:
        the photo's keypoints, or their future), with the similar paintings."""
        answer = self.search(first, top_k) if self.needs_search(first, find) else first
        if self.gallery is not None:
            answer = recognised(self, answer, top_k, seen.result() if isinstance(seen, Future) else seen)
        return answer if self.similar is None else with_similar(self, answer, top_k)

    def identify_located(self, located: LocatedPainting, top_k: int = 5) -> Identification:
        """``identify`` for a painting already located, without a search."""
        pixels = resize_square(located.painting, self.input_size)
        return self._identification_of_row(pixels, self._outputs_of(pixels[None]), 0, top_k, located)

    def needs_search(self, first: Identification, find: bool | None = None) -> bool:
        """Whether to search a photo for its painting: the crop finder is on, the model has a scope score to choose
        with, and the first look found a frame, or no clear painting by one of the artists (a scope score less than
        ``search_margin`` above the threshold: a selfie's faces often pass the threshold itself)."""
        return bool((self.find if find is None else find) and self.scope is not None and first.located.image is not None
                    and (first.crop is not None or first.scope_score < self.scope.threshold + self.search_margin))

    def search(self, first: Identification, top_k: int = 5) -> Identification:
        """The photo's candidate regions (``finder.py``) through the model in one batch. The answer combines every
        region's, ``first`` included, weighted by how much each looks like a painting by one of the artists (its
        scope score; a whole picture's raised by ``search_gain``, as a window of a whole painting must do clearly
        better). The region shown, and the scope verdict, are those of the one most like such a painting; it
        overrules a first look out of scope only when its scope score clears the threshold by
        ``search_confidence``: some part of any photo looks a little like a painting."""
        image = first.located.image
        # regions the model would see enlarged are not tried (in the stored photo's pixels: a large photo is decoded
        # smaller to search it)
        candidates = candidate_crops(image, first.crop,
                                     min_side=self.input_size / first.located.stored_pixels_per_pixel)
        if not candidates:
            return first
        paintings = [cut_out(image, crop) for _, crop in candidates]
        pixels = np.stack([resize_square(painting, self.input_size) for painting in paintings])
        outputs = self._outputs_of(pixels)
        scores = self.scope.scores(outputs.features, outputs.probabilities)
        gain = self.search_gain if first.crop is None else 0.0
        probabilities = combined_probabilities(np.vstack([first.probabilities[None], outputs.probabilities]),
                                               np.concatenate([[first.scope_score + gain], scores]), self.search_temperature)
        best = int(np.argmax(scores))
        confident = scores[best] >= self.scope.threshold + self.search_confidence
        if scores[best] <= first.scope_score + gain or not (first.in_scope or confident):
            shown = first
        else:
            located = dataclasses.replace(first.located, painting=paintings[best], crop=candidates[best][1])
            shown = self._identification_of_row(pixels[best], outputs, best, top_k, located)
        return dataclasses.replace(shown, probabilities=probabilities, ranked=self.ranked_of(probabilities, top_k),
                                   regions=len(candidates) + 1)

    def identify_many(self, images, top_k: int = 5, batch_size: int = 16,
                      find: bool | None = None) -> Iterator[Identification | ValueError]:
        """``identify`` for many images, in order, with the same answers: decoded (with a gallery, their keypoints found) on a thread per usable core while the
        model runs on batches of ``batch_size``; an image whose first look calls for it is then searched (``search``),
        as ``identify`` does. An image that cannot be read yields its ``ValueError`` instead."""
        def prepared(image):
            try:
                located = self.locate(image, find)
            except (ValueError, OSError) as error:
                return ValueError(str(error))
            return located, None if self.gallery is None else keypoints_of(located)

        images = iter(images)
        chunks = iter(lambda: list(itertools.islice(images, max(1, batch_size))), [])
        with ThreadPoolExecutor(usable_cpus()) as pool:
            pending = [pool.submit(prepared, image) for image in next(chunks, [])]
            while pending:
                upcoming = [pool.submit(prepared, image) for image in next(chunks, [])]  # decoded while the model runs
                chunk = [future.result() for future in pending]
                pending = upcoming
                readable = [item for item in chunk if not isinstance(item, ValueError)]
                if readable:
                    pixels = np.stack([resize_square(located.painting, self.input_size) for located, _ in readable])
                    outputs = self._outputs_of(pixels)
                    rows = iter(range(len(readable)))
                for item in chunk:
                    if isinstance(item, ValueError):
                        yield item
                    else:
                        row = next(rows)
                        located, seen = item
                        first = self._identification_of_row(pixels[row], outputs, row, top_k, located)
                        yield self._answer(first, top_k, find, seen)

    def probabilities(self, image) -> np.ndarray:
        """Probability of every artist (bundle order) for one image."""
        return self.identify(image).probabilities

    def predict(self, image, top_k: int = 5) -> list[tuple[str, float]]:
        """``[(artist name, probability), ...]`` for the ``top_k`` most likely artists, best first."""
        return self.identify(image, top_k).ranked

    def explanation(self, identification: Identification) -> np.ndarray | None:
        """Where the model looked for its top class: a map in [0, 1] over the model's input (input_size square),
        from the forward pass that identified it; None when the model gives none."""
        if identification.class_maps is None:
            return None
        config = self.bundle.config
        return explanation_map(identification.class_maps, config.scales, self.input_size, config.border)
