"""The painting finder on generated museum scenes: frames cut, visitors left out, full-frame paintings untouched."""
import numpy as np
import pytest
from PIL import Image

from painting_classifier.training.museum_scenes import museum_scene
from painting_classifier.vision.crop import Crop
from painting_classifier.vision.finder import candidate_crops, combined_probabilities, cut_in
from tests.synthetic import paint


def iou(a, b) -> float:
    left, top, right, bottom = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def a_painting(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(paint("checkerboard", 300, rng)).resize((300, 220))


def test_cutting_in_moves_every_side_inwards_by_its_share():
    crop = Crop(np.array([[100, 50], [300, 50], [300, 150], [100, 150]], np.float32))
    assert cut_in(crop, 0.1).box == (120, 60, 280, 140)


def test_the_most_painting_like_regions_count_most_in_the_combined_answer():
    says_a, says_b = [0.9, 0.1, 0.0], [0.0, 0.2, 0.8]
    combined = combined_probabilities(np.array([says_a, says_b, says_b]), np.array([3.0, 0.0, 0.0]))
    assert combined.argmax() == 0 and combined.sum() == pytest.approx(1.0)
    # two regions that agree outvote a slightly more painting-like one
    assert combined_probabilities(np.array([says_a, says_b, says_b]), np.array([0.5, 0.0, 0.0])).argmax() == 2


def test_regions_that_look_alike_count_alike():
    probabilities = np.array([[0.6, 0.4], [0.2, 0.8]])
    assert combined_probabilities(probabilities, np.array([-2.0, -2.0])) == pytest.approx([0.4, 0.6])


@pytest.mark.parametrize("seed", range(6))
def test_some_candidate_is_the_painting_without_its_gilt_frame(seed):
    scene = museum_scene(a_painting(seed), np.random.default_rng(seed), selfie=False)
    boxes = [crop.box for _, crop in candidate_crops(scene.photo)]
    assert max(iou(box, scene.box) for box in boxes) > 0.6


@pytest.mark.parametrize("seed", range(6))
def test_a_selfie_has_a_candidate_above_the_visitors_faces(seed):
    scene = museum_scene(a_painting(seed), np.random.default_rng(seed), selfie=True)
    faces_from = 0.45 * scene.photo.height  # the visitors' heads start below this (museum_scenes.visitors)
    above = [crop.box for _, crop in candidate_crops(scene.photo) if crop.box[3] <= faces_from + 0.15 * scene.photo.height]
    assert above and max(iou(box, scene.box) for box in above) > 0.25


def test_scenes_are_reproducible_and_the_painting_lies_inside_the_photo():
    first = museum_scene(a_painting(0), np.random.default_rng(3))
    again = museum_scene(a_painting(0), np.random.default_rng(3))
    assert np.array_equal(np.asarray(first.photo), np.asarray(again.photo)) and first.box == again.box
    left, top, right, bottom = first.box
    assert 0 <= left < right <= first.photo.width and 0 <= top < bottom <= first.photo.height




def test_two_taps_make_a_box_in_any_order_inside_the_photo():
    from painting_classifier.vision.region import box_of

    assert box_of((300, 40), (100, 200), (400, 300)) == (100, 40, 300, 200)
    assert box_of((-20, -5), (500, 400), (400, 300)) == (0, 0, 400, 300)
    with pytest.raises(ValueError, match="tap two opposite corners"):
        box_of((100, 100), (105, 300), (400, 300))



def test_no_region_is_proposed_that_the_model_would_see_enlarged():
    photo = a_painting(4).resize((300, 200))
    assert candidate_crops(photo, min_side=0)
    assert all(min(crop.size) >= 120 for _, crop in candidate_crops(photo, min_side=120))
    assert candidate_crops(photo, min_side=200) == []
