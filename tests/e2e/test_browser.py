"""A real browser (Debian's Chromium via Playwright) uses `python app.py` like a visitor would."""
import io
import re
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.servers import SCREENSHOTS, chromium, needs_chromium, printed, running_app

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture
def served_app(tiny_bundle, tiny_quiz, tmp_path):
    """``python app.py`` on a free port: its URL and the file its output goes to."""
    with running_app(tiny_bundle, tiny_quiz, tmp_path) as served:
        yield served


def artist_of_shown_painting(page, quiz_folder: Path) -> str:
    """The display name of the painter of the quiz painting on the page (the served file is the quiz file's bytes)."""
    import pandas as pd

    src = page.locator("#quiz-painting img").get_attribute("src")
    with urllib.request.urlopen(urllib.parse.urljoin(page.url, src), timeout=10) as response:
        shown = response.read()
    manifest = pd.read_csv(quiz_folder / "manifest.csv")
    label_name = next(artist for file, artist in zip(manifest["file"], manifest["artist"])
                      if (quiz_folder / file).read_bytes() == shown)
    return label_name.replace("_", " ")


def test_visitor_identifies_a_painting_plays_the_quiz_and_reads_the_training_tab(served_app, styles_dataset,
                                                                                   tiny_quiz):
    from playwright.sync_api import expect

    url, log = served_app
    painting = next((styles_dataset / "images" / "Piet_Mondrian").iterdir())
    SCREENSHOTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("input[type=file]").first.set_input_files(str(painting))
        expect(page.locator("#artist-card h3")).to_have_text("Piet Mondrian", timeout=60_000)
        expect(page.locator("#prediction")).to_contain_text("Piet Mondrian")
        expect(page.get_by_text("Read more on Wikipedia")).to_be_visible()
        expect(page.locator("#gradcam img")).to_be_visible(timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "identify.png"), full_page=True)

        page.get_by_role("tab", name="Quiz").click()
        expect(page.locator("#quiz-score")).to_contain_text("You 0 – Model 0", timeout=30_000)
        expect(page.locator("#quiz-painting img")).to_be_visible()
        expect(page.locator("#quiz-choices label")).to_have_count(4)
        right = artist_of_shown_painting(page, tiny_quiz)  # the student knows this one
        page.locator("#quiz-choices label").filter(has_text=right).click()
        page.locator("#quiz-answer").click()
        expect(page.locator("#quiz-reveal")).to_contain_text("Right!", timeout=30_000)
        expect(page.locator("#quiz-score")).to_contain_text(re.compile("You 1 – Model [01]"))
        page.screenshot(path=str(SCREENSHOTS / "quiz.png"), full_page=True)
        page.locator("#quiz-next").click()
        expect(page.locator("#quiz-score")).to_contain_text("Painting 2 of", timeout=30_000)

        page.get_by_role("tab", name="Training").click()
        expect(page.get_by_text("Accuracy per epoch")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Class weight per artist")).to_be_visible()
        expect(page.locator("canvas, svg.marks").first).to_be_visible()
        metrics = page.locator("#test-metrics")
        expect(metrics.get_by_text("Top-1 accuracy")).to_be_visible()
        value = metrics.get_by_role("gridcell").nth(1)  # Top-1 accuracy's value, e.g. 100.0%
        expect(value).to_have_text(re.compile(r"^\s*\d+\.\d%\s*$"))
        expect(value).to_be_visible()
        box, table = value.bounding_box(), metrics.bounding_box()
        assert box["x"] + box["width"] <= table["x"] + table["width"]  # not cut off
        page.screenshot(path=str(SCREENSHOTS / "training.png"), full_page=True)

        page.get_by_role("tab", name="About").click()
        expect(page.locator("#model-card")).to_contain_text("Known limits")
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: the model card scrolls down only
        expect(page.locator("#model-card")).to_contain_text("Known limits")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    started = log.read_text()
    assert "Running on local URL" in started
    assert not any(noise in started for noise in ("cuInit", "oneDNN", "absl::", "XNNPACK")), started[:2000]


def served_bytes(page, selector: str) -> bytes:
    with urllib.request.urlopen(urllib.parse.urljoin(page.url, page.locator(selector).get_attribute("src")),
                                timeout=10) as response:
        return response.read()


def shown_picture(img) -> tuple[float, float, float, float]:
    """Where the picture itself is inside an <img> that fits it into its box (left, top, width, height)."""
    box = img.bounding_box()
    natural = img.evaluate("el => [el.naturalWidth, el.naturalHeight]")
    scale = min(box["width"] / natural[0], box["height"] / natural[1], 1)
    width, height = natural[0] * scale, natural[1] * scale
    return box["x"] + (box["width"] - width) / 2, box["y"] + (box["height"] - height) / 2, width, height


def test_a_photo_of_a_painting_on_a_wall_says_where_the_model_looked_in_plain_words(served_app, tmp_path):
    """The note on a searched photo is formatted text: Gradio's Markdown left the asterisks of an italic note
    holding bold words showing."""
    import numpy as np
    from playwright.sync_api import expect

    from tests.synthetic import a_painting, on_the_wall

    url, _ = served_app
    rng = np.random.default_rng(3)
    photo, _ = on_the_wall(a_painting(rng, 300, 200), rng)
    path = tmp_path / "wall.jpg"
    photo.save(path, quality=92)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        page.locator("input[type=file]").first.set_input_files(str(path))
        note = page.locator("#confidence-note")
        expect(note).to_contain_text("in your photo", timeout=60_000)
        expect(note.locator("strong", has_text="Not the right region?")).to_have_count(1)
        assert "*" not in note.inner_text()


def test_visitor_draws_the_painting_box_when_the_search_picked_the_wrong_region(served_app, tmp_path):
    """Two paintings side by side in one photo: tapping two opposite corners around each names its painter."""
    import numpy as np
    from PIL import Image
    from playwright.sync_api import expect

    from tests.synthetic import paint

    url, log = served_app
    rng = np.random.default_rng(11)
    photo = Image.new("RGB", (420, 200), (235, 235, 230))
    checkerboard, stripes = paint("checkerboard", 180, rng), paint("vertical stripes", 180, rng)
    photo.paste(Image.fromarray(checkerboard), (10, 10))
    photo.paste(Image.fromarray(stripes), (230, 10))
    path = tmp_path / "two paintings.png"
    photo.save(path)
    with chromium() as browser:
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(url)
            page.locator("input[type=file]").first.set_input_files(str(path))
            # the first answer has arrived (its card may be folded away: two paintings at once can be out of scope)
            expect(page.locator("#artist-card h3")).to_have_count(1, timeout=60_000)
            expect(page.locator("#confidence-note")).to_be_in_viewport()  # the page came to the answer
            page.get_by_text("Not the right region? Draw the painting's box").click()
            region = page.locator("#region-photo img")
            expect(region).to_be_visible(timeout=30_000)
            answers = []
            for (x0, x1), painting in (((0.57, 0.97), stripes), ((0.03, 0.43), checkerboard)):
                region.scroll_into_view_if_needed()
                left, top, width, height = shown_picture(region)
                page.mouse.click(left + x0 * width, top + 0.07 * height)
                expect(page.locator("#region-hint")).to_contain_text("Now tap the opposite corner", timeout=30_000)
                left, top, width, height = shown_picture(region)
                page.mouse.click(left + x1 * width, top + 0.93 * height)
                expect(page.locator("#region-hint")).to_contain_text("Identified the painting in your box",
                                                                      timeout=30_000)
                seen = Image.open(io.BytesIO(served_bytes(page, "#model-input img"))).convert("RGB")
                colour = np.asarray(seen).astype(np.float32).reshape(-1, 3).mean(axis=0)
                distances = [np.abs(colour - p.astype(np.float32).reshape(-1, 3).mean(axis=0)).sum()
                             for p in (painting, checkerboard if painting is stripes else stripes)]
                assert distances[0] < distances[1]  # the model looked at the painting in the box
                answers.append(page.locator("#artist-card h3").text_content())
            assert answers[0] != answers[1]
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            page.screenshot(path=str(SCREENSHOTS / "region_phone.png"), full_page=True)
        except AssertionError:
            page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
            print(log.read_text()[-3000:])
            raise


def test_a_picture_out_of_scope_leads_with_that_and_folds_the_closest_artist_away(served_app, tmp_path, tiny_bundle,
                                                                                   styles_dataset):
    """Out of scope: the note says so first, a short "closest in style" list follows, every name readable (none
    under the list's label), and the card is folded; a painting in scope afterwards gets the full answer back. On
    a phone the answer is brought into view."""
    import numpy as np
    from PIL import Image
    from playwright.sync_api import expect

    from painting_classifier import load_bundle

    url, log = served_app
    side = load_bundle(tiny_bundle).input_size
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (side, side, 3), np.uint8)).save(noise)
    painting = next(styles_dataset.glob("images/*/*"))
    with chromium() as browser:
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(url)
            page.locator("input[type=file]").first.set_input_files(str(noise))
            expect(page.locator("#confidence-note")).to_contain_text(re.compile("not a painting|Probably not one of"),
                                                                     timeout=60_000)
            expect(page.locator("#prediction")).to_contain_text("Closest in style (not a match)", timeout=30_000)
            expect(page.locator("#prediction .confidence-set:visible")).to_have_count(3)  # a short list
            expect(page.locator("#prediction .output-class")).to_be_hidden()  # no headline name
            expect(page.locator("#confidence-note")).to_be_in_viewport()  # scrolled to, below the photo
            names = page.evaluate("""() => {  // measured at once: the page may still be scrolling
                const badge = document.querySelector("#prediction label").getBoundingClientRect();
                return [...document.querySelectorAll("#prediction .confidence-set dt")]
                    .filter(name => name.offsetParent !== null)
                    .map(name => [name.textContent.trim(), name.getBoundingClientRect().top - badge.bottom]);
            }""")
            assert len(names) == 3 and all(text and below >= -1 for text, below in names), names  # none under it
            expect(page.locator("#artist-fold")).to_contain_text("About the closest artist in style")
            expect(page.locator("#artist-card")).to_be_hidden()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(SCREENSHOTS / "out_of_scope_phone.png"), full_page=True)
            page.locator("input[type=file]").first.set_input_files(str(painting))
            expect(page.locator("#prediction")).to_contain_text("Most likely artists", timeout=60_000)
            expect(page.locator("#artist-card h3")).to_be_visible(timeout=30_000)
            expect(page.locator("#prediction .confidence-set:visible")).to_have_count(4)  # all the tiny model has
        except AssertionError:
            page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
            print(log.read_text()[-3000:])
            raise


@pytest.fixture
def classroom_app(tiny_bundle, tiny_quiz, tmp_path):
    """``python app.py --classroom`` on a free port with its own board file: its URL and output file."""
    with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db",
                     str(tmp_path / "board.sqlite3")) as served:
        yield served


def teacher_link(log) -> str:
    """The teacher's link, as the app printed it when it started."""
    return printed(log, r"Teacher's page.*?(http\S+)").group(1)


def join_on_a_phone(browser, url: str, nickname: str):
    """A phone-sized page of its own (its own local storage) that opens the join link and joins."""
    from playwright.sync_api import expect

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(url + "?view=quiz")  # the join link opens the Quiz tab
    phone.locator("#class-nickname textarea, #class-nickname input").first.fill(nickname)
    phone.locator("#class-join-button").click()
    expect(phone.locator("#class-joined")).to_contain_text(f"You play as {nickname}", timeout=30_000)
    return phone


def test_a_paced_round_on_three_phones_and_the_projector(classroom_app, tmp_path):
    """The teacher's projector (1280x720, opened by the printed link) starts round 1: it shows the painting, the
    phones (390x844) the four names and nothing else; an answer is recorded but not revealed, a reload keeps the
    seat, and the answer comes to every phone and the projector once the last student has answered. No student page
    has the Class tab, not even at ?view=class. Screenshots at each step."""
    from playwright.sync_api import expect

    url, log = classroom_app
    with chromium() as browser:
        try:
            teacher = browser.new_page(viewport={"width": 1280, "height": 720})
            teacher.goto(url + teacher_link(log).split("/", 3)[3])  # the printed link's path, on the test's port
            expect(teacher.locator("#class-round-text")).to_contain_text("Ready for round 1", timeout=30_000)
            scout = browser.new_page(viewport={"width": 390, "height": 844})
            scout.goto(url + "?view=class")  # a student who guessed the teacher's view, without the key
            expect(scout.get_by_role("tab", name="Quiz")).to_be_visible(timeout=30_000)
            expect(scout.get_by_role("tab", name="Class")).to_have_count(0)
            expect(scout.locator("#class-open-round")).to_be_hidden()
            scout.close()
            phones = [join_on_a_phone(browser, url, name) for name in ("Ann", "Bo", "Cy")]
            expect(phones[0].locator("#class-status")).to_contain_text("starts soon", timeout=30_000)
            expect(teacher.locator("#class-round-text")).to_contain_text("3 joined", timeout=30_000)
            phones[0].screenshot(path=str(SCREENSHOTS / "classroom_phone_waiting.png"), full_page=True)
            teacher.screenshot(path=str(SCREENSHOTS / "classroom_projector_ready.png"), full_page=True)
            teacher.locator("#class-open-round").click()
            expect(teacher.locator("#class-round-painting img")).to_be_visible(timeout=30_000)
            expect(teacher.locator("#class-round-text")).to_contain_text("0 of 3 answered")
            for phone in phones:
                expect(phone.locator("#class-choice-3")).to_be_visible(timeout=30_000)
                expect(phone.locator("#class-painting")).to_be_hidden()  # the painting is on the projector
                assert phone.evaluate("document.documentElement.scrollWidth") <= 390
            teacher.screenshot(path=str(SCREENSHOTS / "classroom_projector_round.png"), full_page=True)
            phones[0].screenshot(path=str(SCREENSHOTS / "classroom_phone_round.png"), full_page=True)
            phones[0].locator("#class-choice-0").click()
            expect(phones[0].locator("#class-status")).to_contain_text("answer recorded", timeout=30_000)
            expect(phones[0].locator("#class-reveal")).to_be_empty()
            expect(teacher.locator("#class-round-text")).to_contain_text("1 of 3 answered", timeout=30_000)
            expect(teacher.locator("#class-round-text")).not_to_contain_text("painted by")
            phones[0].reload()  # the seat is kept: no join box, the same answer
            expect(phones[0].locator("#class-status")).to_contain_text("answer recorded", timeout=30_000)
            expect(phones[0].locator("#class-joined")).to_contain_text("You play as Ann")
            expect(phones[0].locator("#class-nickname")).to_be_hidden()
            phones[0].screenshot(path=str(SCREENSHOTS / "classroom_phone_answered.png"), full_page=True)
            for phone in phones[1:]:
                phone.locator("#class-choice-1").click()
            for phone in phones:
                expect(phone.locator("#class-reveal")).to_contain_text("It was painted by", timeout=30_000)
            expect(teacher.locator("#class-round-text")).to_contain_text("painted by", timeout=30_000)
            expect(teacher.locator("#class-paintings")).to_contain_text(re.compile("of 3"))
            for nickname in ("Ann", "Bo", "Cy"):
                expect(teacher.locator("#class-ranking")).to_contain_text(nickname)
            qr = teacher.locator("#class-qr img")
            expect(qr).to_be_visible()
            assert qr.evaluate("img => img.naturalWidth") > 100  # a real QR code image, not a placeholder
            phones[0].screenshot(path=str(SCREENSHOTS / "classroom_phone.png"), full_page=True)
            teacher.screenshot(path=str(SCREENSHOTS / "classroom_projector.png"), full_page=True)
            teacher.locator("#class-tools").click()
            teacher.locator("#class-new").click()  # a stray tap: it only asks
            expect(teacher.locator("#class-new-confirm")).to_be_visible(timeout=30_000)
            teacher.locator("#class-new-cancel").click()
            expect(teacher.locator("#class-new-confirm")).to_be_hidden(timeout=30_000)
            teacher.locator("#class-new").click()
            teacher.locator("#class-new-confirm").click()
            expect(teacher.locator("#class-round-text")).to_contain_text("Ready for round 1", timeout=30_000)
            expect(phones[1].locator("#class-joined")).to_contain_text("new class", timeout=30_000)
            expect(phones[1].locator("#class-status")).to_contain_text("starts soon")
        except AssertionError:
            for i, page in enumerate(browser.contexts[0].pages if browser.contexts else []):
                page.screenshot(path=str(tmp_path / f"failed-{i}.png"), full_page=True)
            print(log.read_text()[-3000:])
            raise


def test_a_phone_left_open_across_a_restart_carries_on_in_its_seat(tiny_bundle, tiny_quiz, tmp_path):
    """The app restarts (same board, same port) while a student's page stays open: the page answers the round the
    teacher opens after the restart, in the same seat, and never shows a raw validation error."""
    from gradio_client import Client
    from playwright.sync_api import expect

    from tests.e2e.servers import free_port

    port, key = free_port(), "restart-key"
    options = ("--classroom", "--classroom-db", str(tmp_path / "board.sqlite3"), "--teacher-key", key)
    with chromium() as browser:
        with running_app(tiny_bundle, tiny_quiz, tmp_path, *options, port=port) as (url, _):
            phone = join_on_a_phone(browser, url, "Ann")
            Client(url, verbose=False).predict("Bo", api_name="/class_join")  # Bo's answer would close the round
            expect(phone.locator("#class-status")).to_contain_text("starts soon", timeout=30_000)
        with running_app(tiny_bundle, tiny_quiz, tmp_path, *options, port=port) as (url, log):
            Client(url, verbose=False).predict(key, api_name="/class_open_round")
            expect(phone.locator("#class-choice-0")).to_be_visible(timeout=30_000)
            phone.locator("#class-choice-0").click()
            expect(phone.locator("#class-status")).to_contain_text("answer recorded", timeout=30_000)
            expect(phone.locator("body")).not_to_contain_text("not in the list of choices")
            board = Client(url, verbose=False).predict(key, api_name="/class_board")
            assert board["players"] == ["Ann", "Bo"]  # the same seats, no "Ann 2"
            assert "Traceback" not in log.read_text()


def test_a_museum_photo_of_a_collection_painting_is_named_with_its_title_on_desktop_and_phone(tiny_bundle, tiny_quiz,
                                                                                            tmp_path):
    """Recognised, titled, and shown with the collection's paintings most like it (thumbnails, captions)."""
    import numpy as np
    from gradio_client import Client, handle_file
    from playwright.sync_api import expect

    from painting_classifier import load_bundle
    from painting_classifier.serving.gallery_index import attach_gallery, build_gallery
    from painting_classifier.serving.similar_vectors import write_bundle_similar
    from painting_classifier.serving.thumbnails import ALL
    from painting_classifier.training.museum_scenes import museum_scene
    from tests.serving.test_recognition import a_collection

    artists = list(load_bundle(tiny_bundle).display_names[:3])
    paintings = a_collection(tmp_path / "collection", artists, seed=6)
    bundle = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    build_gallery([tmp_path / "collection"], tmp_path / "gallery", progress=False, thumbnails=ALL)
    attach_gallery(bundle, tmp_path / "gallery")
    write_bundle_similar(bundle, progress=False)
    photo = tmp_path / "museum.jpg"
    museum_scene(paintings[1], np.random.default_rng(2)).photo.save(photo, quality=90)
    with running_app(bundle, tiny_quiz, tmp_path) as (url, _), chromium() as browser:
        for width, height in ((1280, 1000), (390, 844)):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            page.locator("input[type=file]").first.set_input_files(str(photo))
            note = page.locator("#confidence-note")
            expect(note).to_contain_text("Recognised", timeout=60_000)
            expect(note.locator("strong", has_text="Harbour at dusk number 1")).to_have_count(1)
            expect(page.locator("#prediction")).to_contain_text(artists[1])
            expect(page.locator("#model-input img")).to_have_count(1)
            similar = page.locator("#similar-paintings")
            expect(similar.locator("img")).to_have_count(2, timeout=30_000)  # the collection, less the painting itself
            for name in (artists[0], artists[2]):
                expect(similar).to_contain_text(name)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            note.scroll_into_view_if_needed()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"recognised-{width}.png"))
            similar.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / f"similar-{width}.png"))
            page.close()
        tiles = Client(url, verbose=False).predict(handle_file(str(photo)), True, api_name="/similar")
        assert sorted(tile["caption"].split(" — ")[0] for tile in tiles) == sorted([artists[0], artists[2]])
