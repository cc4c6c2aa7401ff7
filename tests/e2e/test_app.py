"""The Gradio app, launched on a free local port and driven through its API with gradio_client."""
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from tests.e2e.servers import free_port

pytestmark = pytest.mark.slow  # trains models or starts the app: not in the quick unit loop


@pytest.fixture(scope="module")
def app_url(tiny_bundle, tiny_quiz):
    from painting_classifier import Predictor
    from painting_classifier.app.blocks import build_demo, launch

    app = build_demo(Predictor.from_bundle(tiny_bundle), quiz_dir=tiny_quiz)
    port = free_port()
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.demo.close()


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


def test_every_api_output_has_a_meaningful_name(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/predict", "/explain", "/training_data", "/quiz_new_game", "/quiz_answer", "/quiz_next"} <= set(endpoints)
    names = {name: [r["label"] for r in e["returns"]] for name, e in endpoints.items()}
    assert names["/predict"] == ["Most likely artists", "Artist", "Note", "What the model looked at", "Scope"]
    assert names["/quiz_answer"] == ["Answer", "Score", "Quiz round"]
    unnamed = [(name, label) for name, labels in names.items() for label in labels
               if not label or label.startswith("value_")]
    assert unnamed == []


def test_predict_returns_top_k_artists_and_the_card(client, painting):
    label, card, note, seen, scope = client.predict(handle_file(str(painting)), 3, api_name="/predict")
    ranked = confidences(label)
    assert len(ranked) == 3
    assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)
    assert label["label"] == ranked[0][0] == "Piet Mondrian"
    assert card.startswith("### Piet Mondrian")
    assert "1802 - 1872" in card and "Testish" in card and "wikipedia.org/wiki/Piet_Mondrian" in card
    assert "Piet Mondrian" in note
    assert Image.open(seen).size == Image.open(painting).size  # a painting alone: nothing cut away
    assert scope["in_scope"] is True and scope["out_of_scope"] is None and isinstance(scope["scope_score"], float)


def test_predict_cuts_a_painting_out_of_a_photo_of_it_unless_switched_off(client, tmp_path):
    from tests.synthetic import a_painting, on_the_wall

    rng = np.random.default_rng(3)
    photo, (left, top, right, bottom) = on_the_wall(a_painting(rng, 300, 200), rng)
    path = tmp_path / "wall.jpg"
    photo.save(path, quality=92)
    _, _, note, seen, _ = client.predict(handle_file(str(path)), 3, True, api_name="/predict")
    assert "painting in your photo" in note or "painting found in your photo" in note
    width, height = Image.open(seen).size
    assert abs(width / height - (right - left) / (bottom - top)) < 0.05
    _, _, note, seen, _ = client.predict(handle_file(str(path)), 3, False, api_name="/predict")
    assert "in your photo" not in note
    assert Image.open(seen).size[0] / Image.open(seen).size[1] == pytest.approx(photo.width / photo.height, abs=0.02)


def test_top_k_slider_changes_the_number_of_artists(client, painting):
    for k in (1, 4):
        label, _, _, _, _ = client.predict(handle_file(str(painting)), k, api_name="/predict")
        assert len(label["confidences"]) == k


@pytest.mark.parametrize("top_k", ["five", 0, 2.5, 51])
def test_a_bad_top_k_is_named_in_the_error_and_the_app_keeps_serving(client, painting, top_k):
    with pytest.raises(AppError, match="top_k must be a whole number from 1 to 50"):
        client.predict(handle_file(str(painting)), top_k, api_name="/predict")
    label, *_ = client.predict(handle_file(str(painting)), 2, api_name="/predict")
    assert len(label["confidences"]) == 2


def test_pictures_out_of_scope_are_said_so_first_with_the_guesses_greyed_out(client, tmp_path, tiny_bundle):
    from painting_classifier import load_bundle

    side = load_bundle(tiny_bundle).input_size  # pixel noise as the model sees it
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (side, side, 3), np.uint8)).save(noise)
    label, card, note, _, scope = client.predict(handle_file(str(noise)), 3, api_name="/predict")
    assert scope["in_scope"] is False and scope["scope_score"] < 0
    assert note.startswith(("**This looks like a photo, not a painting.**",
                            "**Probably not one of the 4 painters I know.**"))
    assert len(label["confidences"]) == 3  # the guesses are still there
    assert card.startswith("*Closest in style, not a match:*")


def test_explain_endpoint_overlays_the_map_on_the_painting(client, painting):
    path = client.predict(handle_file(str(painting)), api_name="/explain")
    overlay, original = Image.open(path), Image.open(painting)
    assert overlay.mode == "RGB" and overlay.size == original.size  # small paintings keep their size
    difference = np.abs(np.asarray(overlay, np.int16) - np.asarray(original.convert("RGB"), np.int16))
    assert difference.mean() > 10  # the map is blended in


def test_an_upload_goes_through_the_model_once_for_predict_and_explain(client, painting, tmp_path, monkeypatch):
    import painting_classifier.serving.predict as predict

    decoded = []
    original = predict.locate_painting
    def counting(image, *args, **kwargs):
        decoded.append(image)
        return original(image, *args, **kwargs)

    monkeypatch.setattr(predict, "locate_painting", counting)
    upload = tmp_path / "once.png"
    Image.open(painting).rotate(180).save(upload)  # content no earlier test uploaded
    client.predict(handle_file(str(upload)), 3, api_name="/predict")
    client.predict(handle_file(str(upload)), api_name="/explain")
    assert len(decoded) == 1


def tiny_bundle_test_split(bundle_path):
    from painting_classifier import load_bundle

    split = load_bundle(bundle_path).split
    return split[split["split"] == "test"]


def test_training_tab_data(client, tiny_bundle):
    accuracy, loss, weights, paintings, sources, metrics, per_artist, named, confusion = client.predict(
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
    assert sum(row[1] for row in named["data"]) == len(tiny_bundle_test_split(tiny_bundle))  # every test painting named once
    matrix = Image.open(confusion["path"] if isinstance(confusion, dict) else confusion)
    assert matrix.format == "PNG" and min(matrix.size) > 300


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
        label, card, _, _, _ = client.predict(handle_file(str(path)), 3, api_name="/predict")
        assert len(label["confidences"]) == 3 and "### " in card
    # and the app keeps serving
    label, _, _, _, _ = client.predict(handle_file(str(painting)), 2, api_name="/predict")
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


def test_a_student_plays_a_quiz_round_through_the_api(app_url):
    student = Client(app_url, verbose=False)
    painting, _, score, reveal, round_info = student.predict(api_name="/quiz_new_game")
    assert Image.open(painting).size[0] > 0 and reveal == ""
    assert "Painting 1 of" in score and "You 0 – Model 0" in score
    choices = round_info["choices"]
    assert len(choices) == 4 and round_info["round"] == 1 and not round_info["answered"]
    reveal, score, answered = student.predict(choices[0], api_name="/quiz_answer")
    right = answered["answer"]
    assert right in choices and answered["you_right"] == (choices[0] == right)
    assert (f"You {int(choices[0] == right)} – Model {int(answered['model_right'])}") in score
    assert right in reveal and answered["model_guess"] in reveal
    with pytest.raises(AppError, match="answered this one"):
        student.predict(choices[1], api_name="/quiz_answer")
    painting, _, score, reveal, next_round = student.predict(api_name="/quiz_next")
    assert next_round["round"] == 2 and reveal == "" and "Painting 2 of" in score

    classmate = Client(app_url, verbose=False)  # another browser: a game and a score of its own
    _, _, score, _, first = classmate.predict(api_name="/quiz_new_game")
    assert first["round"] == 1 and "You 0 – Model 0" in score
    _, _, mine = student.predict(next_round["choices"][0], api_name="/quiz_answer")
    assert mine["round"] == 2 and mine["answered"]  # the student's game went on where it was


def test_the_cli_its_csv_and_the_app_give_one_answer_for_each_museum_photo(client, tiny_bundle, tmp_path):
    import csv
    import subprocess
    import sys

    from painting_classifier import load_bundle
    from painting_classifier.training.museum_scenes import museum_scene
    from tests.helpers import ROOT

    bundle = load_bundle(tiny_bundle)
    rng = np.random.default_rng(11)
    photos = []
    for i, file in enumerate(bundle.files(bundle.split[bundle.split["split"] == "test"])[:5]):
        photos.append(tmp_path / f"museum_{i}.jpg")
        museum_scene(Image.open(file).convert("RGB"), rng).photo.save(photos[-1], quality=90)

    def cli(*args) -> str:
        done = subprocess.run([sys.executable, "-m", "painting_classifier", "predict", "--model", str(tiny_bundle),
                               *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    printed, answer = {}, None
    for line in cli(*photos, "--top-k", "3").splitlines():
        if line.startswith("# ") and not line.startswith("# out of scope"):
            answer = printed.setdefault(line[2:], [])
        elif not line.startswith("#"):
            name, probability = line.split("\t")
            answer.append((name, float(probability)))
    cli("--csv", tmp_path / "answers.csv", "--no-progress", *photos)
    with open(tmp_path / "answers.csv", newline="") as handle:
        rows = {row["path"]: row for row in csv.DictReader(handle)}
    searched = 0
    for photo in photos:
        label, _card, note, _seen, _scope = client.predict(handle_file(str(photo)), 3, True, api_name="/predict")
        in_app = confidences(label)
        searched += "regions it tried" in note
        assert [name for name, _ in printed[str(photo)]] == [name for name, _ in in_app]
        np.testing.assert_allclose([p for _, p in printed[str(photo)]], [p for _, p in in_app], atol=2e-3)
        assert rows[str(photo)]["artist"] == in_app[0][0]
        assert float(rows[str(photo)]["probability"]) == pytest.approx(in_app[0][1], abs=2e-3)
    assert searched  # the museum-photo search ran, on every surface alike
