"""The texts the app shows: the artist card, the confidence note and the model card (About tab).

Numbers (artists, paintings, metrics) always come from the loaded bundle.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..artists import normalise_name
from ..bundle import Bundle
from ..scope import NOT_A_PAINTING
from ..serving.predict import SEARCH_MARGIN

UNSURE_BELOW = 0.30  # top probability under which the app says it is not sure


def clean_bio(text: str) -> str:
    """A Wikipedia bio without its parentheses (pronunciations, "(listen)", dates) and runs of spaces."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    while re.search(r"\([^()]*\)", text):  # innermost first: "(; Dutch: [...] (listen); 1606 – 1669)"
        text = re.sub(r"\s*\([^()]*\)", "", text)
    return re.sub(r"\s+([,.;:])", r"\1", text)


def artist_card(row: pd.Series, probability: float) -> str:
    """Markdown card for one artist from the bundle's artists.csv."""
    facts = " · ".join(str(row[c]) for c in ("years", "genre", "nationality") if str(row.get(c, "")).strip())
    lines = [f"### {row['name']}", f"**{facts}**" if facts else "", "", clean_bio(row.get("bio", ""))]
    if str(row.get("wikipedia", "")).startswith("http"):
        lines += ["", f"[Read more on Wikipedia]({row['wikipedia']})"]
    trained_on = int(row.get("train_paintings", row.get("paintings", 0)))
    lines += ["", f"<sub>The model learned this artist from {trained_on} painting{'s' * (trained_on != 1)}"
              f" · confidence {probability:.0%}</sub>"]
    return "\n".join(lines)


def confidence_note(ranked: list[tuple[str, float]], n_artists: int | None = None) -> str:
    """One line on how sure the model is about ``ranked`` (best first); ``n_artists``: how many it knows."""
    name, top = ranked[0]
    if top < UNSURE_BELOW:
        these = f"these {n_artists} artists" if n_artists else "the artists it knows"
        knows = f"{n_artists} painters" if n_artists else "a fixed set of painters"
        return (f"**Not sure — maybe none of {these}.** The best guess, {name}, gets only "
                f"{top:.0%}. The model knows {knows} only; for anyone else it can only point to similar styles.")
    if len(ranked) > 1 and ranked[1][1] > top / 2:
        return f"Most likely **{name}** ({top:.0%}), but **{ranked[1][0]}** ({ranked[1][1]:.0%}) is close."
    return f"Most likely **{name}** ({top:.0%})."


def scope_note(why_not: str, n_artists: int) -> str:
    """What the app says first about an image out of scope (``scope.NOT_A_PAINTING`` or ``NOT_ONE_OF_THE_ARTISTS``)."""
    if why_not == NOT_A_PAINTING:
        return (f"**This looks like a photo, not a painting.** The model knows paintings by {n_artists} artists "
                "only, so the names below are just the painting styles it is reminded of — not an answer.")
    return (f"**Probably not one of the {n_artists} painters I know.** It may be by another painter: the names "
            "below are only the closest in style, not an answer.")


def recognition_note(found, n_artists: int, by_style: tuple[str, float] | None = None) -> str:
    """What the app says first about a painting recognised in the collection (``serving.gallery.Recognition``), and
    for one of the model's painters what the model would have said by style alone (``by_style``)."""
    if found.known:
        return (f"{found.headline}\n\nRecognised: the same painting as one in the collection ({found.inliers} "
                "keypoints agree), outlined on your photo." + style_line(found.artist, by_style))
    return (f"{found.headline}, not one of the {n_artists} painters the model knows.\n\nRecognised: the same "
            f"painting as one in the collection ({found.inliers} keypoints agree). The names below are only the "
            f"closest in style among the {n_artists}.")


def style_line(painter: str, by_style: tuple[str, float] | None) -> str:
    """What the model says of a recognised painting by style alone, as it would of a painting it had never seen."""
    if by_style is None:
        return ""
    name, probability = by_style
    if normalise_name(name) == normalise_name(painter):
        return f"\n\nBy style alone the model says **{name}** ({probability:.0%}) too."
    return (f"\n\nBy style alone the model says **{name}** ({probability:.0%}), not {painter}: a miss. Painters "
            "of one time and place can look alike to it; the Training tab shows which painters it mixes up.")


def recognition_json(found) -> dict | None:
    """A recognised painting as the API returns it (None when nothing was recognised)."""
    if found is None:
        return None
    return {"title": found.title, "artist": found.artist, "year": found.year, "museum": found.museum,
            "one_of_the_artists": found.known, "inliers": found.inliers,
            "outline": [[round(float(x), 1), round(float(y), 1)] for x, y in found.outline]}


def _percent(metrics: dict, key: str) -> str:
    return f"{metrics[key]:.1%}" if metrics.get(key) is not None else "n/a"


def _model_section(bundle: Bundle, runtime: str) -> str:
    """How the model works, in words for a class (the recipe's terms are in the README and the Training tab)."""
    config = bundle.config
    tiles = [k for k in config.scales if k > 1]
    views = "the whole painting" + (f" and {tiles[0]}×{tiles[0]} close-ups of it" if tiles else "")
    seeing = ("a network that first learnt to see on a million everyday photos (ImageNet)" if config.weights ==
              "imagenet" else "a network trained from scratch on the paintings")
    texture = " and the texture of the brushwork (how colours and strokes vary)" if config.style_stats else ""
    copies = (", also as phone photos, thumbnails, details and black-and-white copies, so that real uploads look "
              "familiar" if config.degraded_copies or config.museum_copies or config.grayscale_copies else "")
    return (f"**How it works.** It looks at {views} with {seeing}, which describes shapes, colours{texture}. "
            f"A last layer learnt which of these descriptions go with which of the {len(bundle.classes)} artists, "
            f"from the paintings below{copies}. It runs on this computer, without TensorFlow"
            + (" (LiteRT)." if runtime == "litert" else "."))


def _data_section(bundle: Bundle) -> str:
    n = bundle.manifest.get("n_paintings", {})
    sources = bundle.manifest.get("sources") or {Path(str(bundle.manifest.get("data", "?"))).name: {}}
    folders = ", ".join(f"`{name}`" + (" (training and validation only)" if info.get("train_only") else "")
                        for name, info in sources.items())
    return (f"**Data.** {sum(n.values())} paintings of {len(bundle.classes)} artists\n"
            f"({n.get('train', 0)} to learn from, {n.get('val', 0)} to check it while it learnt, {n.get('test', 0)} "
            "kept aside to test it, every artist in each; copies of one painting always on one side). Data folders: {folders} — paintings from\n*Best Artworks "
            "of All Time* (ikarus777 on Kaggle, CC BY-NC-SA 4.0) and other public copies, so this model is for "
            "non-commercial use.")


def _metrics_section(bundle: Bundle) -> str:
    metrics = bundle.metrics
    sure = ""
    if metrics.get("temperature") and metrics.get("mean_confidence") is not None:
        sure = (f" Its percentages were tuned so that they mean what they say: on these paintings it was "
                f"{metrics['mean_confidence']:.0%} sure on average.")
    return (f"**How often it is right** ({metrics.get('n_images', 0)} paintings it never saw while learning): its "
            f"first name is the painter for {_percent(metrics, 'top1')}, and the painter is among its five names for "
            f"{_percent(metrics, 'top5')}. Counting every artist equally, rare ones too, its first name is right for "
            f"{_percent(metrics, 'balanced_accuracy')}.{sure}")


def _limits_section(bundle: Bundle) -> str:
    others = ("A check says when a picture does not look like a painting by one of them, but it\n  "
              "catches photos far better than paintings by other artists, which often get one of the 50"
              if bundle.scope is not None else "any other painter gets one of them, so read low probabilities as "
              "\"unsure\"")
    return f"""**Known limits.**
- It knows these {len(bundle.classes)} artists only. {others}.
- The data are very imbalanced (some artists have hundreds of paintings, others a handful); rare artists are
  recognised less reliably — see per-artist accuracy on the Training tab.
- Only {bundle.metrics.get('n_images', 0)} test paintings: the figures above could be a few points higher or lower by chance.
- It recognises style, not authorship: it is **not** a forgery or attribution tool."""


KIND_NAMES = {"clean": "the file as it is", "wall": "framed, on a wall (photo)", "bw": "black-and-white",
              "thumbnail": "256 px thumbnail, strong JPEG", "detail": "a detail (central 60 %)",
              "phone": "phone photo (perspective, light, blur)", "screenshot": "screenshot of a web page",
              "rotated": "turned 90°", "glare": "with a reflection"}


def real_world_section(results: dict, bundle: Bundle) -> str:
    """A table of ``benchmarks/quality/real_world.py`` results, when they were measured on this bundle's model."""
    if results.get("model_sha256") != bundle.checksum:
        return ""
    rows = [r for r in results.get("results", []) if r.get("crop", True)]
    lines = [f"**Real-world uploads** ({results.get('paintings', 'test split')}, {rows[0]['n'] if rows else 0} "
             "paintings, made by `benchmarks/quality/real_world.py`):", "",
             "| upload | first name right | among its five names | change in first name right |", "|---|---|---|---|"]
    lines += [f"| {KIND_NAMES.get(r['kind'], r['kind'])} | {r['top1']:.1%} | {r['top5']:.1%} | "
              f"{100 * (r.get('change_vs_clean') or 0):+.1f} |" for r in rows]
    return "\n".join(lines)


def scope_section(results: dict, bundle: Bundle) -> str:
    """``benchmarks/quality/scope.py``'s figures, when they were measured on this bundle's model."""
    if bundle.scope is None or results.get("model_sha256") != bundle.checksum:
        return ""
    photos, others = results["photos"], results["other_artists"]
    negatives = bundle.manifest.get("scope", {}).get("negatives")
    learnt = ""
    if negatives:
        train = negatives["train"]
        learnt = (f" It learnt what other painters' work looks like from {train['paintings']} paintings by "
                  f"{train['artists']} painters who are none of the {len(bundle.classes)}"
                  + (f", and rejects {negatives['rejected_on_validation']:.0%} of the paintings of "
                     f"{negatives['val']['artists']} further painters it never saw"
                     if negatives.get("rejected_on_validation") is not None else "") + ".")
    return (f"**Not one of the {len(bundle.classes)}?** A check (how much the picture looks like a painting, how "
            "well it matches any artist, and how much its style is theirs rather than another painter's) "
            f"flags pictures outside what the model knows.{learnt} Measured by "
            f"`benchmarks/quality/scope.py`: it keeps {results['test_kept']:.0%} of the {results['test_paintings']} test "
            f"paintings in scope and rejects {photos['rejected']:.0%} of {photos['n']} photos and "
            f"{others['rejected']:.0%} of {others['n']} paintings by other artists.")


def museum_section(results: dict, bundle: Bundle) -> str:
    """``benchmarks/quality/museum_photos.py``'s figures on real visitors' photos and synthetic museum scenes, with the
    search on at the app's margin (``SEARCH_MARGIN``), when they were measured on this bundle's model."""
    if results.get("model_sha256") != bundle.checksum:
        return ""
    plain = next((r for r in results.get("rows", []) if not r.get("search")), None)
    searched_rows = [r for r in results.get("rows", []) if r.get("search")]
    searched = next((r for r in searched_rows if r.get("margin") == SEARCH_MARGIN), next(iter(searched_rows), None))
    if plain is None or searched is None or "museum_photos_dev" not in searched:
        return ""
    photos, scenes = searched["museum_photos_dev"], searched["scenes"]
    return (f"**Photos taken in a museum** (`benchmarks/quality/museum_photos.py`): of {photos['n']} real visitors' photos "
            f"of paintings by the {len(bundle.classes)} (gilt frames, walls, selfies), the app names the painter of "
            f"{photos['top1']:.0%} ({plain['museum_photos_dev']['top1']:.0%} without its search for the painting) "
            f"and has the painter among its five names for {photos['top5']:.0%}; of {scenes['n']} synthetic museum "
            f"scenes, {scenes['top1']:.0%}. " + _box_advice(results.get("museum_photos_dev_at_hand_boxes")))


def recognition_section(results: dict, bundle: Bundle) -> str:
    """``benchmarks/quality/recognition.py``'s test figures, when they were measured on this bundle's model."""
    if results.get("model_sha256") != bundle.checksum or "museum_photos_dev" not in results:
        return ""
    photos, scenes = results["museum_photos_dev"], results["members"]
    wrong = len(results["non_members"]["another_painter"])
    return (f"**Recognising a painting** (`benchmarks/quality/recognition.py`): a photo of one of the "
            f"{results['gallery']['paintings']:,} paintings in the app's gallery is recognised by its keypoints, as a "
            f"museum guide app does, and named with its title where it is known. Of {photos['n']} real visitors' "
            f"photos it recognised {photos['recognised']} ({photos['wrong']} wrong), and of {scenes['n']} synthetic "
            f"museum photos of test paintings {scenes['recognised']}; "
            + ("no test painting left out of the gallery was" if not wrong else f"{wrong} test paintings left out of "
               "the gallery were") + " taken for another painter's painting. With recognition the app names the painter of "
            f"{photos['painter']['with_recognition']['top1']:.0%} of those real photos "
            f"({photos['painter']['without']['top1']:.0%} without).")


def _box_advice(boxed: dict | None) -> str:
    """The advice to draw a box around the painting, with what it did for the real photos when measured."""
    if not boxed:
        return "Crop to the painting (draw a box) for a better answer."
    return (f"Drawing a box around the painting (**Not the right region?**) helps: cut at such boxes, the same photos "
            f"get the painter first for {boxed['top1']:.0%} and among the five names for {boxed['top5']:.0%}.")


def model_card(bundle: Bundle, runtime: str) -> str:
    """The About tab: what the model does, its data, architecture, test metrics (also on real-world uploads, museum
    photos and out of scope, from the benchmarks' results that ship in the bundle: ``Bundle.measured``) and
    limits."""
    results = bundle.measured
    manifest = bundle.manifest
    what = (f"**What it does.** Names which of the {len(bundle.classes)} artists of the Kaggle data set *Best "
            "Artworks of All Time* most\nlikely painted a picture, with how sure it is, and shows where the network "
            "looked: the bright parts of the map are those that made it think of that artist.")
    footer = (f"<sub>Bundle `{bundle.path.name}`, created {manifest.get('created', '?')}, trained with TensorFlow\n"
              f"{manifest.get('versions', {}).get('tensorflow', '?')}; model sha256 `{bundle.checksum[:12]}…`</sub>")
    sections = [_data_section(bundle), _model_section(bundle, runtime), _metrics_section(bundle),
                real_world_section(results.get("real_world", {}), bundle),
                museum_section(results.get("museum_photos_val", {}), bundle),
                recognition_section(results.get("recognition_test", {}), bundle),
                scope_section(results.get("scope", {}), bundle),
                _limits_section(bundle), footer]
    sections = [section for section in sections if section]
    return "\n## Model card\n\n" + what + "\n\n" + "\n\n".join(sections) + "\n"


def artist_line(row: pd.Series) -> str:
    """A paragraph on an artist: name, years, nationality, genre, and the whole bio."""
    facts = ", ".join(str(row[c]) for c in ("years", "nationality", "genre") if str(row.get(c, "")).strip())
    return f"**{row['name']}** ({facts}). {clean_bio(row.get('bio', ''))}"
