"""Visitors in front of a painting: people who stand in the photo count, painted people do not; the search looks
above and beside them."""
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import needs_sample
from painting_classifier.finder import candidate_crops
from painting_classifier.people import SIDE, people_finder, visitors_in

DEV = __import__("conftest").ROOT.parent / "shared" / "data" / "museum-photos-dev"


def mask_with(*boxes) -> np.ndarray:
    """A SIDE x SIDE people mask with the given (left, top, right, bottom) boxes, in shares of the side."""
    mask = np.zeros((SIDE, SIDE), bool)
    for left, top, right, bottom in boxes:
        mask[int(top * SIDE):int(bottom * SIDE), int(left * SIDE):int(right * SIDE)] = True
    return mask


def test_people_who_reach_the_bottom_edge_are_visitors():
    visitors = visitors_in(mask_with((0.1, 0.5, 0.4, 1.0), (0.5, 0.6, 0.7, 1.0)))
    assert visitors is not None
    assert visitors.top == pytest.approx(0.5, abs=0.01)
    assert (visitors.left, visitors.right) == (pytest.approx(0.1, abs=0.01), pytest.approx(0.7, abs=0.01))


def test_painted_people_and_specks_are_not_visitors():
    assert visitors_in(mask_with((0.2, 0.1, 0.6, 0.8))) is None  # a figure inside a painting on the wall
    assert visitors_in(mask_with((0.5, 0.95, 0.55, 1.0))) is None  # a speck at the bottom edge
    only_the_visitor = visitors_in(mask_with((0.2, 0.1, 0.6, 0.5), (0.7, 0.6, 0.9, 1.0)))
    assert only_the_visitor.top == pytest.approx(0.6, abs=0.01) and only_the_visitor.left == pytest.approx(0.7, abs=0.01)


def test_the_search_looks_above_and_beside_the_visitors():
    photo = Image.new("RGB", (400, 300), (120, 110, 100))
    visitors = visitors_in(mask_with((0.3, 0.55, 0.6, 1.0)))
    regions = dict(candidate_crops(photo, None, visitors))
    assert regions["above the visitors"].box == (0, 0, 400, pytest.approx(0.55 * 300, abs=2))
    assert regions["left of the visitors"].box == (0, 0, pytest.approx(0.3 * 400, abs=2), 300)
    assert regions["right of the visitors"].box == (pytest.approx(0.6 * 400, abs=2), 0, 400, 300)
    wide = visitors_in(mask_with((0.05, 0.1, 0.95, 1.0)))  # a close-up selfie: no room above or beside
    assert not {"above the visitors", "left of the visitors", "right of the visitors"} & set(
        dict(candidate_crops(photo, None, wide)))


def test_a_plain_wall_or_a_generated_painting_has_no_visitors():
    rng = np.random.default_rng(0)
    assert people_finder().visitors(Image.new("RGB", (640, 480), (200, 190, 170))) is None
    noise = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    assert people_finder().visitors(noise) is None


@needs_sample
def test_the_visitors_of_real_selfies_are_found_and_the_moma_walls_have_none():
    catalogue = pd.read_csv(DEV / "images.csv")
    found = {file: people_finder().visitors(Image.open(DEV / file)) is not None for file in catalogue["file"]}
    selfies = [f for f in found if "selfie" in f]
    walls = [f for f in found if f.startswith(("Edgar_Degas/moma", "Vincent_van_Gogh/moma", "Andy_Warhol/moma"))]
    assert len(selfies) == 11 and sum(found[f] for f in selfies) >= 10
    assert walls and not any(found[f] for f in walls)


def test_the_search_of_a_photo_with_visitors_weighs_the_regions_above_and_beside_them(tiny_bundle, monkeypatch):
    from painting_classifier import Predictor, predict

    predictor = Predictor.from_bundle(tiny_bundle)
    predictor.search_margin = 1e9  # every photo is searched
    painting = predictor.bundle.files(predictor.bundle.split.query("split == 'test'"))[0]
    weighed = []
    real_candidates = predict.candidate_crops
    monkeypatch.setattr(predict, "candidate_crops",
                        lambda *args: weighed.append(dict(real_candidates(*args))) or list(weighed[-1].items()))

    class StandingVisitors:
        def visitors(self, img):
            return visitors_in(mask_with((0.3, 0.6, 0.6, 1.0)))

    predictor.identify(painting)  # a generated painting: nobody stands in front
    monkeypatch.setattr(predict, "people_finder", StandingVisitors)
    identification = predictor.identify(painting)
    predictor.look_past_visitors = False
    predictor.identify(painting)
    assert [("above the visitors" in regions) for regions in weighed] == [False, True, False]
    assert identification.ranked
