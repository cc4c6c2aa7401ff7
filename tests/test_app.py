"""The Gradio app, launched on a free local port and driven through its API with gradio_client."""
import io
import socket
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from conftest import TEST_DATA

pytestmark = pytest.mark.slow  # trains models or starts the app: not in the quick unit loop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tiny_bundle):
    from painting_classifier import Predictor
    from painting_classifier.serve import build_demo, launch

    demo = build_demo(Predictor.from_bundle(tiny_bundle))
    port = free_port()
    launch(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def painting(styles_dataset):
    return next((styles_dataset / "images" / "Piet_Mondrian").iterdir())


def confidences(label: dict) -> list[tuple[str, float]]:
    return [(c["label"], c["confidence"]) for c in label["confidences"]]


def test_api_lists_the_predict_endpoint(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/predict" in endpoints
    assert [p["label"] for p in endpoints["/predict"]["parameters"]] == ["Painting", "Top-k artists", "Find the painting in a photo"]


def test_predict_returns_top_k_artists_and_the_card(client, painting):
    label, card, note, seen = client.predict(handle_file(str(painting)), 3, api_name="/predict")
    ranked = confidences(label)
    assert len(ranked) == 3
    assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)
    assert label["label"] == ranked[0][0] == "Piet Mondrian"
    assert card.startswith("### Piet Mondrian")
    assert "1802 - 1872" in card and "Testish" in card and "wikipedia.org/wiki/Piet_Mondrian" in card
    assert "Piet Mondrian" in note
    assert Image.open(seen).size == Image.open(painting).size  # a painting alone: nothing cut away


def test_predict_cuts_a_painting_out_of_a_photo_of_it_unless_switched_off(client, tmp_path):
    from test_crop import a_painting, on_the_wall

    rng = np.random.default_rng(3)
    photo, (left, top, right, bottom) = on_the_wall(a_painting(rng, 300, 200), rng)
    path = tmp_path / "wall.jpg"
    photo.save(path, quality=92)
    _, _, note, seen = client.predict(handle_file(str(path)), 3, True, api_name="/predict")
    assert "cut away" in note
    width, height = Image.open(seen).size
    assert abs(width / height - (right - left) / (bottom - top)) < 0.05
    _, _, note, seen = client.predict(handle_file(str(path)), 3, False, api_name="/predict")
    assert "cut away" not in note
    assert Image.open(seen).size[0] / Image.open(seen).size[1] == pytest.approx(photo.width / photo.height, abs=0.02)


def test_top_k_slider_changes_the_number_of_artists(client, painting):
    for k in (1, 4):
        label, _, _, _ = client.predict(handle_file(str(painting)), k, api_name="/predict")
        assert len(label["confidences"]) == k


def test_low_confidence_says_not_sure(client):
    from painting_classifier.serve import confidence_note

    assert confidence_note([("A", 0.12), ("B", 0.10)]).startswith("**Not sure")
    label, _, note, _ = client.predict(handle_file(str(TEST_DATA / "coffee.jpg")), 4, api_name="/predict")
    top = confidences(label)[0][1]
    assert ("Not sure" in note) == (top < 0.30)


def test_gradcam_endpoint_returns_an_overlay(client, painting):
    path = client.predict(handle_file(str(painting)), api_name="/explain")
    overlay = Image.open(path)
    assert overlay.size[0] > 32 and overlay.mode == "RGB"


def test_training_tab_data(client, tiny_bundle):
    accuracy, loss, weights, paintings, sources, metrics, per_artist, confusion = client.predict(
        api_name="/training_data")
    series = {row[2] for row in accuracy["data"]}
    assert {"train", "validation"} <= series and any(s.startswith("best epoch") for s in series)
    assert {row[2] for row in loss["data"]} >= {"train", "validation"}
    assert sorted(row[0] for row in weights["data"]) == ["Albrecht Dürer", "Claude Monet", "Piet Mondrian",
                                                           "Vincent van Gogh"]
    assert {row[1] for row in paintings["data"]} == {"train", "val", "test"}
    assert {row[1] for row in sources["data"]} == {"data"}  # one data folder, named like it
    assert sum(row[2] for row in sources["data"]) == sum(row[2] for row in paintings["data"])
    assert [row[0] for row in metrics["data"]][:4] == ["Top-1 accuracy", "Top-5 accuracy", "Balanced accuracy",
                                                        "Macro-F1"]
    assert len(per_artist["data"]) == 4
    assert confusion is not None


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _bad_and_odd_inputs():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (80, 120, 3), np.uint8))
    jpeg = encode(photo, "JPEG")
    frames = [Image.new("P", (40, 40), c) for c in (10, 50, 90)]
    return {
        # name: (file name, bytes, expected: "error" or "prediction")
        "text renamed .jpg": ("notes.jpg", b"Dear diary, today I painted nothing.", "error"),
        "truncated JPEG": ("cut.jpg", jpeg[: len(jpeg) // 2], "error"),
        "empty file": ("empty.png", b"", "error"),
        "1x1 image": ("dot.png", encode(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"), "prediction"),
        "20000x20000 image": ("huge.png", encode(Image.new("1", (20000, 20000)), "PNG"), "error"),
        "animated GIF": ("anim.gif", encode(frames[0], "GIF", save_all=True, append_images=frames[1:]), "prediction"),
        "CMYK JPEG": ("cmyk.jpg", encode(photo.convert("CMYK"), "JPEG"), "prediction"),
        "16-bit PNG": ("deep.png", encode(Image.fromarray(rng.integers(0, 65535, (50, 50), np.uint16)), "PNG"),
                       "prediction"),
        "RGBA PNG": ("alpha.png", encode(photo.convert("RGBA"), "PNG"), "prediction"),
        "grayscale JPEG": ("grey.jpg", encode(photo.convert("L"), "JPEG"), "prediction"),
    }


@pytest.mark.parametrize("case", list(_bad_and_odd_inputs()))
def test_bad_input_gets_a_prediction_or_a_readable_error(client, tmp_path, painting, case):
    name, data, expected = _bad_and_odd_inputs()[case]
    path = tmp_path / name
    path.write_bytes(data)
    if expected == "error":
        with pytest.raises(AppError, match="can't be used as a painting"):
            client.predict(handle_file(str(path)), 3, api_name="/predict")
    else:
        label, card, _, _ = client.predict(handle_file(str(path)), 3, api_name="/predict")
        assert len(label["confidences"]) == 3 and card.startswith("### ")
    # and the app keeps serving
    label, _, _, _ = client.predict(handle_file(str(painting)), 2, api_name="/predict")
    assert label["label"] == "Piet Mondrian"


def test_oversized_upload_is_refused(client, tmp_path, painting):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + bytes(26 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)size|large|413"):
        client.predict(handle_file(str(big)), 3, api_name="/predict")
    assert client.predict(handle_file(str(painting)), 1, api_name="/predict")[0]["label"] == "Piet Mondrian"


def test_twenty_concurrent_clients(app_url, styles_dataset):
    paintings = sorted((styles_dataset / "images").rglob("*.jpg"))[:20]

    def session(path):
        own = Client(app_url, verbose=False)
        return [own.predict(handle_file(str(path)), 2, api_name="/predict")[0]["label"] for _ in range(5)]

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(session, paintings))
    assert sum(len(a) for a in answers) == 100
    assert all(label for a in answers for label in a)
    assert all(len(set(a)) == 1 for a in answers)  # the same painting always gets the same answer
