"""The Identify tab: drop a painting, get the top-k artists, the first one's card, the painting the model looked
at (cut out of a photo of it), where it looked, and a box to draw when the search picked the wrong region."""
from __future__ import annotations

import base64
import csv
import dataclasses
import functools
from pathlib import Path

import gradio as gr
from PIL import Image

from ..artists import label_from_filename, normalise_name
from ..serving.predict import Predictor
from ..vision import region
from ..vision.explain import overlay
from .cards import artist_card, confidence_note, recognition_json, recognition_note, scope_note
from .served_files import ServedImages
from .similar_tiles import similar_tiles

QUEUE_SIZE = 64  # requests the queue holds (``blocks.launch``); the answers kept for /explain follow it
DEFAULT_TOP_K = 5
MAX_TOP_K = 50
FIRST_CORNER = "Tap one corner of the painting on your photo."
SECOND_CORNER = "Now tap the opposite corner."
BOX_USED = "Identified the painting in your box. Tap two corners again to try another."
SEEN_SIDE = 320  # long side of the "what the model looked at" preview
OVERLAY_SIDE = 640  # long side of the "where the model looked" overlay
LIKELIEST = "Most likely artists"
CLOSEST = "Closest in style (not a match)"
ABOUT_ARTIST = "About the artist"
CLOSEST_ARTIST = "About the closest artist in style"
SIMILAR = "Paintings the model finds most alike"
# out of scope: greyed, no headline name, the three closest names only (the API still gets all top_k)
CSS = """.out-of-scope { opacity: 0.5; }
#prediction.out-of-scope .output-class { display: none; }
#prediction.out-of-scope .container { padding-top: 2.4rem; }  /* the first name clear of the label above it */
#prediction.out-of-scope .confidence-set:nth-of-type(n+4) { display: none; }
#model-card td:not(:first-child) { white-space: nowrap; }
@media (max-width: 480px) { #model-card td, #model-card th { padding: 6px 8px; } }
#similar-paintings .grid-wrap { min-height: 0; height: auto; }
#map-legend { margin-top: -0.5rem; }
#map-legend .bar { height: 10px; border-radius: 5px;
  background: linear-gradient(to right, #000004, #420a68, #932667, #dd513a, #fca50a, #fcffa4); }
#map-legend .ends { display: flex; justify-content: space-between; font-size: 0.85rem; }
"""
# on a phone the answer sits below the photo: bring it into view once it has come
SCROLL_TO_ANSWER = """() => {
  if (window.innerWidth < 768) document.getElementById("confidence-note")?.scrollIntoView({behavior: "instant"});
}"""
MAP_LEGEND = ("<div class='bar'></div><div class='ends'><span>dark: hardly looked</span>"
              "<span>bright: what made it think of this artist</span></div>")
# greys out the guesses and the card while the picture is out of scope (client side: the API keeps plain values)
SCOPE_JS = """(scope) => {
  const out = Boolean(scope) && scope.in_scope === false;
  for (const id of ["prediction", "artist-card"]) document.getElementById(id)?.classList.toggle("out-of-scope", out);
}"""


def _source(payload):
    """What the (unpreprocessed) image input holds: a path, data-URL bytes or an image."""
    if payload is None:
        return None
    if isinstance(payload, dict):
        url = payload.get("url") or ""
        if url.startswith("data:"):
            return base64.b64decode(url.split(",", 1)[1])
        return payload.get("path")
    return payload


def _readable(payload, use):
    """``use(source)`` for the upload in ``payload`` (None without one); an image that cannot be read
    becomes a message for the user."""
    source = _source(payload)
    if source is None:
        return None
    try:
        return use(source)
    except (ValueError, OSError) as exc:
        raise gr.Error(f"This file can't be used as a painting: {exc}. Try a JPEG or PNG image.",
                       title="Unreadable image") from None


def scope_layout(scope):
    """The answer's layout for the scope /predict gave: in scope, the likeliest artists and the first one's card
    open; out of scope, a short "closest in style" list and the card folded away."""
    out = bool(scope) and scope.get("in_scope") is False
    return (gr.update(label=CLOSEST if out else LIKELIEST),
            gr.update(open=not out, label=CLOSEST_ARTIST if out else ABOUT_ARTIST))


def _top_k(value) -> int:
    """The requested number of artists, or a message naming what is wrong with it."""
    if value is None or value == "":
        return DEFAULT_TOP_K
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number.is_integer() or not 1 <= number <= MAX_TOP_K:
        raise gr.Error(f"top_k must be a whole number from 1 to {MAX_TOP_K}, not {value!r}.", title="Invalid top_k")
    return int(number)


def _examples(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}) if folder.is_dir() else []


# plain text: Gradio's Markdown shows the asterisks of an italic note that holds bold words
SEARCH_NOTE = ("Looked for the painting in your photo: **What the model looked at** shows the region most like a "
               "painting by one of the artists, and the answer combines what the model saw in all {regions} regions it "
               "tried, that one counting most. Wrong region? Draw the painting's box under **Not the right "
               "region?**, or untick **Find the painting in a photo**.\n\n")
CROP_NOTE = ("Looked at the painting found in your photo (**What the model looked at**), not at the whole photo. Wrong "
             "region? Draw the painting's box under **Not the right region?**, or untick **Find the painting in a "
             "photo**.\n\n")


def _how_it_looked(found) -> str:
    """The note on what the model was shown: a searched photo, a painting found in a photo, or nothing to say."""
    if found.regions > 1:
        return SEARCH_NOTE.format(regions=found.regions)
    return CROP_NOTE if found.crop is not None else ""


class IdentifyEvents:
    """What the Identify tab computes: /predict (the artists, card, note, painting looked at, scope) and /explain
    (where the model looked, from the same forward pass)."""

    def __init__(self, predictor: Predictor, concurrency: int):
        self.predictor = predictor
        self.rows = predictor.bundle.artists.set_index("name", drop=False)
        self.n_artists = len(predictor.bundle.classes)
        self.served = ServedImages()
        # uploads are files named by their content: /predict and the /explain that follows share one identification,
        # also when a whole queue of students asks at once (a kept answer holds a small copy of the painting only,
        # not the decoded photo)
        self._identified = functools.lru_cache(maxsize=QUEUE_SIZE + concurrency)(self._kept_identification)

    def _kept_identification(self, source, find: bool):
        answer = self.predictor.identify(source, top_k=self.n_artists, find=find)
        painting = answer.painting.copy()
        painting.thumbnail((OVERLAY_SIDE, OVERLAY_SIDE))
        recognised = answer.recognised and dataclasses.replace(answer.recognised, painting=None)
        return dataclasses.replace(answer, recognised=recognised, located=dataclasses.replace(
            answer.located, painting=painting, image=None, source=None))

    def identified(self, source, find: bool):
        """Every artist ranked for an upload, decoded and run through the model once per file."""
        return self._identified(source, find) if isinstance(source, str) else self._kept_identification(source, find)

    def identify(self, payload, top_k=DEFAULT_TOP_K, find=True):
        k = _top_k(top_k)
        found = _readable(payload, lambda source: self.identified(source, bool(find)))
        return (None, "", "", None, None) if found is None else self.outputs(found, k)

    def outputs(self, found, k: int) -> tuple:
        """/predict's outputs for one ``Identification``: the ``k`` likeliest artists, the first one's card, the note
        (out of scope first and plainly; the guesses stay, greyed out by SCOPE_JS), the painting looked at, the
        scope."""
        ranked = found.ranked[:k]
        card = artist_card(self.rows.loc[ranked[0][0]], ranked[0][1])
        if found.recognised is not None:
            note = recognition_note(found.recognised, self.n_artists, found.by_style)
            if not found.recognised.known:
                card = f"*Closest in style among the {self.n_artists}, not the painter:*\n\n{card}"
        elif found.in_scope:
            note = _how_it_looked(found) + confidence_note(ranked, self.n_artists)
        else:  # out of scope first and plainly; where it looked only when that was a region of the photo
            note = scope_note(found.out_of_scope, self.n_artists) + "\n\n" + (_how_it_looked(found) if found.crop else "")
            card = f"*Closest in style, not a match:*\n\n{card}"
        seen = (found.recognised.outlined if found.recognised is not None else found.painting).copy()
        seen.thumbnail((SEEN_SIDE, SEEN_SIDE))
        scope = {"in_scope": found.in_scope, "scope_score": found.scope_score, "out_of_scope": found.out_of_scope,
                 "recognised": recognition_json(found.recognised)}
        return ({name: round(p, 4) for name, p in ranked}, card, note.strip(), self.served.jpeg(seen),
                scope)

    def explain(self, payload, find=True):
        found = _readable(payload, lambda source: self.identified(source, bool(find)))
        return None if found is None else self.overlay_of(found)

    def similar(self, payload, find=True):
        """/similar: the collection's paintings nearest to the upload in the model's eyes, as (image, caption)."""
        found = _readable(payload, lambda source: self.identified(source, bool(find)))
        return None if found is None else similar_tiles(found.similar, self.served)

    def overlay_of(self, found) -> str | None:
        heat = self.predictor.explanation(found)
        return None if heat is None else self.served.jpeg(overlay(found.painting, heat, max_side=OVERLAY_SIDE))

    def region_photo(self, payload):
        """The uploaded photo to draw a box on, and a fresh drawing state."""
        photo = _readable(payload, region.shown_photo)
        if photo is None:
            return None, None, FIRST_CORNER
        shown = self.served.jpeg(photo)
        return shown, {"photo": shown, "corner": None}, FIRST_CORNER

    def region_tap(self, shown, drawing, top_k, tap: gr.SelectData):
        """A tap on the photo: the first marks a corner; the second closes the box and identifies what is in it."""
        if not shown or not drawing:
            raise gr.Error("Upload a photo first.", title="No photo")
        clean = drawing["photo"]  # the photo without the marks drawn on what is shown
        photo = Image.open(clean).convert("RGB")
        corner = tuple(int(v) for v in tap.index)
        if not drawing.get("corner"):
            return (self.served.jpeg(region.with_box(photo, corner=corner)), {"photo": clean, "corner": corner},
                    SECOND_CORNER, *[gr.skip()] * 7)  # the answer, its map and the similar paintings stay
        try:
            box = region.box_of(tuple(drawing["corner"]), corner, photo.size)
        except ValueError as error:
            raise gr.Error(f"{str(error)[0].upper()}{str(error)[1:]}.", title="Box too small") from None
        found = self.predictor.identify(photo.crop(box), top_k=self.n_artists, find=False)
        return (self.served.jpeg(region.with_box(photo, box)), {"photo": clean, "corner": None}, BOX_USED,
                *self.outputs(found, _top_k(top_k)), self.overlay_of(found), similar_tiles(found.similar, self.served))


def identify_tab(predictor: Predictor, examples_dir: Path | None, concurrency: int) -> ServedImages:
    """Identify: drop a painting, get the top-k artists, the first one's card, the painting the model looked
    at (cut out of a photo of it) and where it looked. Returns the folder its output images are served from."""
    events = IdentifyEvents(predictor, concurrency)
    with gr.Row():
        with gr.Column(scale=1) as input_column:
            image = gr.Image(label="Painting", type="filepath", image_mode=None,
                             sources=["upload", "clipboard"], height=420)
            top_k = gr.Slider(1, 10, value=DEFAULT_TOP_K, step=1, label="Top-k artists")
            find = gr.Checkbox(value=True, label="Find the painting in a photo",
                               info="Cut away a frame and the wall around a painting before identifying it")
            seen = gr.Image(label="What the model looked at", interactive=False, height=200,
                            elem_id="model-input")
            with gr.Accordion("Not the right region? Draw the painting's box", open=False, elem_id="region-box"):
                hint = gr.Markdown(FIRST_CORNER, elem_id="region-hint")
                shown = gr.Image(label="Your photo", interactive=False, height=360, type="filepath",
                                 elem_id="region-photo")
                drawing = gr.State(None)
        with gr.Column(scale=1):
            note = gr.Markdown(label="Note", elem_id="confidence-note")
            label = gr.Label(label=LIKELIEST, elem_id="prediction")
            with gr.Accordion(ABOUT_ARTIST, open=True, elem_id="artist-fold") as card_fold:
                card = gr.Markdown(label="Artist", elem_id="artist-card")
            similar = gr.Gallery(label=SIMILAR, columns=3, rows=2, height="auto", object_fit="cover", allow_preview=True,
                                 buttons=[], interactive=False,
                                 visible=predictor.similar is not None, elem_id="similar-paintings")
            scope = gr.JSON(label="Scope", visible=False)  # for API users: in_scope, scope_score, out_of_scope
        with gr.Column(scale=1):
            heatmap = gr.Image(label="Where the model looked", interactive=False, height=420, elem_id="gradcam")
            gr.HTML(MAP_LEGEND, elem_id="map-legend")
    outputs = [label, card, note, seen, scope]
    # user actions only (.input, not .change): example clicks show their cached results instead
    event = gr.on([image.input, top_k.release, find.input], events.identify, inputs=[image, top_k, find],
                  outputs=outputs, api_name="predict", preprocess=False, concurrency_id="model")
    event.success(events.explain, inputs=[image, find], outputs=[heatmap], api_name="explain", preprocess=False,
                  concurrency_id="model")
    event.success(events.similar, inputs=[image, find], outputs=[similar], api_name="similar", preprocess=False,
                  concurrency_id="model")
    event.success(None, js=SCROLL_TO_ANSWER, api_visibility="private")
    image.input(events.region_photo, inputs=[image], outputs=[shown, drawing, hint], preprocess=False,
                api_visibility="private")
    shown.select(events.region_tap, inputs=[shown, drawing, top_k],
                 outputs=[shown, drawing, hint, *outputs, heatmap, similar],
                 api_visibility="private", concurrency_id="model")
    scope.change(None, inputs=[scope], js=SCOPE_JS, api_visibility="private")
    scope.change(scope_layout, inputs=[scope], outputs=[label, card_fold], api_visibility="private",
                 show_progress="hidden")
    image.clear(lambda: (None, "", "", None, None, None, None), outputs=outputs + [heatmap, similar],
                api_visibility="private")
    if examples_dir and _examples(examples_dir):
        with input_column:
            _examples_gallery(events, examples_dir, [image, top_k], outputs + [heatmap, similar])
    return events.served


def example_labels(folder: Path, files: list[Path], names: list[str]) -> list[str]:
    """Each example's label: its painter, from the file name, or the label ``labels.csv`` in ``folder`` gives it
    (the instructive miss says so)."""
    names_by_key = {normalise_name(n): n for n in names}
    labels = {}
    if (folder / "labels.csv").is_file():
        with open(folder / "labels.csv", newline="", encoding="utf-8") as handle:
            labels = {row["file"]: row["label"] for row in csv.DictReader(handle)}
    return [labels.get(p.name) or names_by_key.get(normalise_name(label_from_filename(p)), p.stem) for p in files]


def _examples_gallery(events: IdentifyEvents, folder: Path, inputs: list, outputs: list) -> None:
    """The example paintings under the input, labelled with their painters, answered lazily and cached."""
    files = _examples(folder)
    gr.Examples([[str(p), DEFAULT_TOP_K] for p in files], inputs=inputs, outputs=outputs,
                fn=lambda payload, k: (*events.identify(payload, k), events.explain(payload), events.similar(payload)),
                cache_examples=True, cache_mode="lazy", preprocess=False,
                label="Public-domain paintings from the test split",
                example_labels=example_labels(folder, files, list(events.predictor.bundle.artists["name"])))
