"""Unit tests: every kind of image file becomes the same uint8 RGB array, or a clear ValueError."""
import io

import numpy as np
import pytest
from PIL import Image

from painting_classifier.vision.images import MAX_DECODED_PIXELS, load_array, load_rgb, stored_size


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_rgb_jpeg_resized_to_square():
    data = encode(Image.new("RGB", (120, 80), (200, 10, 10)), "JPEG")
    array = load_array(data, 32)
    assert array.shape == (32, 32, 3) and array.dtype == np.uint8
    assert abs(int(array[..., 0].mean()) - 200) < 10


def test_rgba_is_composited_on_white():
    img = Image.new("RGBA", (20, 20), (255, 0, 0, 0))  # fully transparent red
    array = load_array(encode(img, "PNG"), 8)
    assert (array > 250).all()


@pytest.mark.parametrize("mode", ["L", "LA", "P", "1", "CMYK"])
def test_other_modes_become_rgb(mode):
    img = Image.new("RGB", (16, 16), (10, 120, 240)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    assert load_array(encode(img, fmt), 8).shape == (8, 8, 3)


def test_16_bit_png_keeps_its_brightness():
    img = Image.fromarray(np.full((10, 10), 32768, np.uint16))
    assert img.mode.startswith("I;16")
    array = load_array(encode(img, "PNG"), 4)
    assert 120 < array.mean() < 136


def test_exif_rotation_is_applied():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    upright = load_rgb(encode(img, "JPEG", exif=exif))
    assert upright.size == (20, 40)
    assert stored_size(encode(img, "JPEG", exif=exif)) == (20, 40) and stored_size(encode(img, "JPEG")) == (40, 20)


def test_animated_gif_uses_first_frame():
    frames = [Image.new("P", (10, 10), c) for c in (1, 2, 3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert load_array(data, 5).shape == (5, 5, 3)


def test_one_pixel_image():
    assert load_array(encode(Image.new("RGB", (1, 1), (9, 9, 9)), "PNG"), 16).shape == (16, 16, 3)


def test_large_jpeg_is_decoded_at_reduced_scale():
    img = Image.new("RGB", (4000, 3000), (50, 60, 70))
    decoded = load_rgb(encode(img, "JPEG", quality=50), min_side=64)
    assert decoded.size == (500, 375)  # 1/8 scale: the smallest that still covers 64 px
    assert load_rgb(encode(img, "JPEG", quality=50), min_side=400).size == (1000, 750)  # 1/4


def test_a_scan_is_reduced_right_after_decoding(monkeypatch):
    monkeypatch.setattr("painting_classifier.vision.images.BIG_DECODE_PIXELS", 1_000_000)  # a 6-megapixel "scan"
    scan = Image.new("RGBA", (3000, 2000), (50, 60, 70, 255))
    decoded = load_rgb(encode(scan, "PNG"), min_side=448)
    assert decoded.size == (750, 500) and decoded.mode == "RGB"  # reduced 4x: the short side still covers 448
    assert load_rgb(encode(scan, "PNG")).size == (3000, 2000)  # nothing asked for: full size


def test_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr("painting_classifier.vision.images.MAX_DECODED_PIXELS", 100 * 100)
    with pytest.raises(ValueError, match="too large"):
        load_array(encode(Image.new("RGB", (200, 200)), "PNG"), 16)
    assert MAX_DECODED_PIXELS >= 50_000_000


@pytest.mark.parametrize("data, message", [
    (b"this is not an image", "not an image"),
    (b"", "not an image"),
])
def test_not_an_image(data, message):
    with pytest.raises(ValueError, match=message):
        load_array(data, 8)


def test_empty_file_and_truncated_jpeg(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_array(empty, 8)
    whole = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)), "JPEG")
    with pytest.raises(ValueError, match="cannot be decoded"):
        load_array(whole[: len(whole) // 2], 8)


def test_an_iphone_heic_photo_is_read_upright_with_the_same_size_caps(monkeypatch):
    photo = Image.new("RGB", (120, 80), (200, 30, 30))
    photo.paste((20, 30, 200), (0, 0, 60, 80))  # left half blue
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # taken with the phone turned: display rotated 90° clockwise
    photo.save(buffer, format="HEIF", exif=exif.tobytes(), quality=90)
    decoded = load_rgb(buffer.getvalue())
    assert decoded.size == (80, 120)  # upright
    monkeypatch.setattr("painting_classifier.vision.images.MAX_DECODED_PIXELS", 50 * 50)
    with pytest.raises(ValueError, match="too large"):
        load_rgb(buffer.getvalue())
