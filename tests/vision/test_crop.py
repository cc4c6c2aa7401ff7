"""The crop finder: the painting inside generated photos of framed paintings, and clean paintings left alone."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from painting_classifier.vision.crop import cut_out, find_painting
from tests.synthetic import a_painting, on_the_wall, paint


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mat", [0, 30])
def test_finds_the_painting_inside_frame_and_wall(seed, mat):
    rng = np.random.default_rng(seed)
    photo, box = on_the_wall(a_painting(rng), rng, frame=int(rng.integers(10, 30)), mat=mat)
    crop = find_painting(photo)
    assert crop is not None
    assert np.abs(np.array(crop.box) - np.array(box)).max() <= 4, (crop.box, box)


def test_a_frame_like_edge_keeps_the_frame():
    """A painting whose edge has the frame's colour: the wall is cut away, the frame may stay."""
    rng = np.random.default_rng(11)
    painting = a_painting(rng)
    ImageDraw.Draw(painting).rectangle((0, 0, 40, painting.height), fill=(50, 50, 50))
    photo, (left, top, right, bottom) = on_the_wall(painting, rng, frame=20)
    photo.paste((50, 50, 50), (left - 20, top - 20, right + 20, top))  # the frame's colour
    crop = find_painting(photo)
    assert crop is not None
    l, t, r, b = crop.box
    assert l >= left - 24 and t >= top - 24 and r <= right + 24 and b <= bottom + 24  # no wall
    kept = (min(r, right) - max(l, left)) * (min(b, bottom) - max(t, top))
    assert kept >= 0.8 * (right - left) * (bottom - top)  # most of the painting


def test_cut_out_undoes_a_slight_perspective():
    rng = np.random.default_rng(7)
    photo, (left, top, right, bottom) = on_the_wall(a_painting(rng), rng)
    # a camera slightly to one side: the picture's far edge shorter than its near one
    tilted = photo.transform(photo.size, Image.Transform.PERSPECTIVE,
                             (1, -0.02, 6, 0, 1, 0, 0, -0.00003, 1), Image.Resampling.BICUBIC)
    crop = find_painting(tilted)
    assert crop is not None
    painting = cut_out(tilted, crop)
    width, height = painting.size
    assert abs(width / height - (right - left) / (bottom - top)) < 0.08


@pytest.mark.parametrize("seed", range(6))
def test_leaves_a_painting_that_fills_the_image_alone(seed):
    rng = np.random.default_rng(100 + seed)
    assert find_painting(a_painting(rng)) is None


@pytest.mark.parametrize("style", ["checkerboard", "horizontal stripes"])
def test_leaves_geometric_paintings_alone(style):
    assert find_painting(Image.fromarray(paint(style, 300, np.random.default_rng(3)))) is None


def test_leaves_a_painting_with_a_large_plain_rectangle_alone():
    """Like a Mondrian: a big flat rectangle inside is a part of the painting, not a painting on a wall."""
    img = Image.new("RGB", (400, 400), (240, 240, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle((60, 50, 330, 320), fill=(200, 30, 30), outline=(10, 10, 10), width=8)
    for x in (20, 360):
        draw.line((x, 0, x, 400), fill=(10, 10, 10), width=8)
    draw.rectangle((345, 330, 400, 400), fill=(30, 40, 180))
    assert find_painting(img) is None


def test_flat_and_tiny_images_are_left_alone():
    assert find_painting(Image.new("RGB", (300, 200), (255, 255, 255))) is None
    assert find_painting(Image.new("RGB", (1, 1), (0, 0, 0))) is None


def test_cut_out_of_the_whole_image_is_the_image():
    from painting_classifier.vision.crop import Crop

    img = a_painting(np.random.default_rng(5), 120, 90)
    whole = Crop(np.array([[0, 0], [120, 0], [120, 90], [0, 90]], float))
    np.testing.assert_allclose(np.asarray(cut_out(img, whole), float), np.asarray(img, float), atol=1)


@pytest.mark.parametrize("seed", range(4))
def test_finds_a_painting_shown_off_centre_on_a_web_page(seed):
    rng = np.random.default_rng(seed)
    painting = a_painting(rng, width=int(rng.integers(290, 320)), height=int(rng.integers(640, 700)))
    page = Image.new("RGB", (1440, 900), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 1440, 86), fill=(222, 225, 230))  # the browser's toolbar
    left, top = 70 + int(rng.integers(0, 20)), 130  # its centre a third of the page's width left of the middle
    page.paste(painting, (left, top))
    draw.rectangle((left + painting.width + 40, 140, 1200, 150), fill=(90, 90, 90))  # a line of text beside it
    crop = find_painting(page)
    assert crop is not None
    box = (left, top, left + painting.width, top + painting.height)
    assert np.abs(np.array(crop.box) - np.array(box)).max() <= 6, (crop.box, box)
