"""Command line: ``painting-classifier {train,evaluate,predict,export,gallery,quiz-images}`` (also ``python -m
painting_classifier``; ``train.py`` = ``train``).

``predict`` and ``quiz-images`` run on LiteRT without TensorFlow; ``train``, ``evaluate`` and ``export`` need
requirements-train.txt."""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from .config import RECIPES, Config, recipe

_BOOL = argparse.BooleanOptionalAction
SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "assets" / "model"


def _comma_separated_ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def _config_option(p: argparse.ArgumentParser, spec: dataclasses.Field) -> None:
    """``--name`` for one Config field: type and default from the field, help from its metadata.

    The parsed value stays None unless given, so a ``--recipe`` keeps its own values.
    """
    default = spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
    kwargs = {k: v for k, v in spec.metadata.items() if k != "help"}
    if isinstance(default, bool):
        kwargs["action"] = _BOOL
    elif isinstance(default, list):
        kwargs["type"], default = _comma_separated_ints, ",".join(map(str, default))
    elif default is not None:
        kwargs["type"] = type(default)
    shown = "" if default is None else f" (default: {'on' if default is True else 'off' if default is False else default})"
    p.add_argument("--" + spec.name.replace("_", "-"), help=spec.metadata["help"] + shown, **kwargs)


def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, action="append",
                   help="data set folder: artists.csv plus images/<Artist_Name>/*.jpg, resized/*.jpg or a folder per "
                   "artist; repeat for several folders (artists joined by name, artists.csv from the first that has one)")
    p.add_argument("--train-only", type=Path, action="append", default=[], metavar="DIR",
                   help="a further data folder whose paintings are used for training and validation only, never "
                   "for testing (so the --data folders' test split stays comparable); repeatable")
    p.add_argument("--negatives", type=Path, action="append", default=[], metavar="DIR",
                   help="a folder of paintings by other painters (images/<Artist_Name>/*.jpg, none of the 50): the scope "
                   "score learns what 'not one of the 50' looks like from them; repeatable")
    p.add_argument("--out", type=Path, default=Path("runs/latest"), help="bundle directory to write (default: %(default)s)")
    p.add_argument("--gallery", type=Path, metavar="DIR",
                   help="also index every painting of the --data, --train-only and --negatives folders in DIR, as "
                   "the bundle's gallery of paintings to recognise in photos (the shipped one: assets/gallery)")
    p.add_argument("--titles", type=Path, metavar="CSV",
                   help="with --gallery: a catalogue of famous works (file, title, year, museum) to name them by")
    p.add_argument("--recipe", choices=sorted(RECIPES),
                   help="start from a named recipe (flags given explicitly override it); 'default' is the shipped model's")
    for spec in dataclasses.fields(Config):
        _config_option(p, spec)
    p.add_argument("--cpu-devices", type=int, default=0,
                   help="split the CPU into N logical devices (to try --strategy mirrored without GPUs)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out from its last checkpoint")
    p.add_argument("--cache-dir", type=Path,
                   help="where backbone features are cached (default: $PAINTING_CLASSIFIER_CACHE or ~/.cache/painting_classifier)")
    p.add_argument("--save-h5", action="store_true", help="also write the original's painting_classification.h5")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _add_gallery_command(commands, common: argparse.ArgumentParser) -> None:
    """``gallery``: index folders of paintings to recognise."""
    ga = commands.add_parser("gallery", parents=[common], help="index paintings to recognise in photos",
                             description="Index folders of paintings as a gallery: their keypoints and visual words. "
                             "A photo of one of them is then recognised by a geometric check, and named with its "
                             "title where one is known.")
    ga.add_argument("--data", required=True, type=Path, action="append", metavar="DIR",
                    help="a folder of paintings: images/<Artist_Name>/*.jpg, or any folder with a CSV of file, "
                    "artist, title (year and museum optional); repeatable")
    ga.add_argument("--out", required=True, type=Path, help="the gallery folder to write")
    ga.add_argument("--model", type=Path, help="also name the gallery in this bundle, whose predictor then "
                    "recognises its paintings and shows the most similar under an answer")
    ga.add_argument("--all-thumbnails", action="store_true", help="keep a thumbnail of every painting, not only of "
                    "public-domain ones (artists who died before 1900): for your own paintings")
    ga.add_argument("--titles", type=Path, help="a catalogue of famous works: file (relative to the folders' "
                    "parent), title, year, museum")
    ga.add_argument("--no-progress", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="painting-classifier",
                                     description="Who painted this? Train, evaluate and use an artist classifier.")
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up logging")

    _add_train_arguments(commands.add_parser("train", parents=[common], help="train a model and write a bundle",
                                             description="Train an artist classifier and write a model bundle."))

    ev = commands.add_parser("evaluate", parents=[common], help="score a bundle on paintings",
                             description="Score a bundle on a folder of paintings or on its own test split.")
    ev.add_argument("--model", required=True, type=Path, help="bundle directory")
    source = ev.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="folder of paintings the model never saw (data set layout; "
                        "artists.csv optional)")
    source.add_argument("--split", choices=["test", "val", "train"],
                        help="score the bundle's own split (paintings are read from the path recorded in the bundle)")
    ev.add_argument("--data-root", type=Path, help="with --split: where the bundle's data folders live now (a folder "
                    "holding them by name; default: $PAINTING_DATA_ROOT, else where they were at training)")
    ev.add_argument("--json", type=Path, help="write the metrics to this JSON file")
    ev.add_argument("--tta", action=_BOOL, help="average with the mirror image (default: as trained)")
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")

    pr = commands.add_parser("predict", parents=[common], help="name the likely artists of paintings",
                             description="Print 'Artist<TAB>probability' lines, best first, for each image; "
                             "with --csv, write one row per image to a CSV file instead.")
    pr.add_argument("--model", type=Path, default=None, help="bundle directory (default: the shipped assets/model)")
    pr.add_argument("images", nargs="+", type=Path, metavar="PATH",
                    help="image files, or folders (searched recursively for images)")
    pr.add_argument("--top-k", type=int, default=5, help="how many artists to list (default: %(default)s)")
    pr.add_argument("--csv", type=Path, metavar="OUT.csv",
                    help="write path,artist,probability,top5,in_scope,scope_score,recognised,error per image (top5 joined "
                    "by '|'); unreadable images get an error and the run carries on")
    pr.add_argument("--batch-size", type=int, default=16, help="images per model call (default: %(default)s)")
    pr.add_argument("--gallery", type=Path, action="append", default=[], metavar="DIR",
                    help="also recognise the paintings of this folder (images/<Artist_Name>/*.jpg, or a CSV of file, "
                    "artist, title); indexed once and cached; repeatable")
    pr.add_argument("--no-progress", action="store_true", help="no progress bar")

    ex = commands.add_parser("export", parents=[common], help="bring a bundle up to date: write its LiteRT model",
                             description="Write the bundle's LiteRT model (model.tflite: probabilities, features and "
                             "the activation map in one pass, float16 weights), store the Keras model as its head "
                             "when the backbone is the unchanged ImageNet one, and record data folder names "
                             "instead of paths. Serving then needs no TensorFlow.")
    ex.add_argument("--model", required=True, type=Path, help="bundle directory (rewritten in place)")

    _add_gallery_command(commands, common)

    qz = commands.add_parser("quiz-images", parents=[common], help="make the app's quiz paintings from a bundle",
                             description="Write the quiz paintings (public domain: artists who died before "
                             "--died-before) from a bundle's test split, resized, with manifest.csv.")
    qz.add_argument("--model", type=Path, default=SHIPPED_MODEL, help="bundle directory (default: assets/model)")
    qz.add_argument("--out", type=Path, required=True,
                    help="folder to write; replaced only when the whole quiz is made (the shipped one is assets/quiz)")
    qz.add_argument("--limit", type=int, default=52, help="at most this many paintings (default: %(default)s)")
    qz.add_argument("--per-artist", type=int, default=6, help="at most this many per artist (default: %(default)s)")
    qz.add_argument("--died-before", type=int, default=1900, help="artists who died before this year (default: %(default)s)")
    qz.add_argument("--exclude-like", type=Path, default=SHIPPED_MODEL.parent / "examples", metavar="DIR",
                    help="leave out paintings named like the files in DIR (default: assets/examples)")
    qz.add_argument("--data-root", type=Path, help="where the bundle's data folders live now (a folder holding them "
                    "by name; default: $PAINTING_DATA_ROOT, else where they were at training)")
    return parser


def _config_from_args(args) -> Config:
    config = recipe(args.recipe) if args.recipe else Config()
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)
                 if getattr(args, f.name, None) is not None}
    return dataclasses.replace(config, **overrides)


def _split_cpu(n: int) -> None:
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)


def cmd_train(args) -> int:
    from .logs import import_tensorflow

    import_tensorflow()
    from .training.run import train

    if args.cpu_devices:
        _split_cpu(args.cpu_devices)
    config = None if args.resume else _config_from_args(args)
    train(args.data, args.out, config, resume=args.resume, cache_dir=args.cache_dir,
          save_h5=args.save_h5, progress=not args.no_progress, train_only=args.train_only,
          negatives=args.negatives, gallery=args.gallery, titles=args.titles)
    return 0


def cmd_evaluate(args) -> int:
    from .logs import import_tensorflow

    import_tensorflow()
    from .training.evaluate import evaluate_bundle, summary_line

    metrics = evaluate_bundle(args.model, data=args.data, split=args.split, data_root=args.data_root, tta=args.tta,
                              progress=not args.no_progress)
    print(summary_line(metrics))
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=1))
    return 0


def load_predictor(model_dir: Path, runtime: str = "auto", collections: list[Path] = (), **kwargs):
    """The ``Predictor`` for a bundle on ``runtime``, recognising the paintings of the bundle's gallery and of the
    ``collections`` (folders, indexed once and cached): the bundle's LiteRT model; with ``keras``, or for a bundle
    without one, through ``training.keras_serving`` (needs requirements-train.txt)."""
    from .bundle import load_bundle
    from .serving.collection import collection_gallery
    from .serving.gallery import Galleries, bundle_gallery
    from .serving.predict import Predictor
    from .serving.similar import SimilarPaintings, bundle_similar
    from .serving.similar_vectors import collection_vectors

    bundle = load_bundle(model_dir)
    shipped = bundle_gallery(bundle)
    own = [collection_gallery(folder, bundle.classes, progress=True) for folder in collections]
    galleries = [g for g in [shipped] if g is not None] + own
    kwargs.setdefault("gallery", Galleries(galleries) if galleries else None)
    kwargs.setdefault("similar", bundle_similar(bundle, shipped))
    if runtime == "keras" or (bundle.litert_path is None and runtime in ("auto", "litert")):
        from .logs import import_tensorflow

        import_tensorflow()
        from .training.keras_serving import model_for_serving

        kwargs["model"] = model_for_serving(bundle, runtime)
    predictor = Predictor(bundle, **kwargs)
    if own:  # one's own paintings join the similar ones, their vectors made by this model
        parts = [] if predictor.similar is None else list(predictor.similar.parts)
        parts += [(gallery, collection_vectors(predictor, gallery, progress=True)) for gallery in own]
        predictor.similar = SimilarPaintings(bundle.scope, parts)
    return predictor


def cmd_predict(args) -> int:
    from .serving.batch_predict import image_files, predict_to_csv, print_predictions

    predictor = load_predictor(args.model or SHIPPED_MODEL, collections=args.gallery)
    files = image_files(args.images)
    if not files:
        print("error: no images found in " + ", ".join(map(str, args.images)), file=sys.stderr)
        return 1
    if args.csv:
        readable, unreadable = predict_to_csv(predictor, files, args.csv, args.batch_size, not args.no_progress,
                                              args.top_k)
        print(f"{readable} images predicted, {unreadable} unreadable: {args.csv}", file=sys.stderr)
        return 0 if readable else 1
    return 1 if print_predictions(predictor, files, args.top_k, args.batch_size) else 0


def cmd_export(args) -> int:
    from .logs import import_tensorflow

    import_tensorflow()
    from .training.keras_bundle import export_bundle

    manifest = export_bundle(args.model)
    litert = manifest.get("litert")
    served = (f"{manifest['model_file']} ({litert['weights']} weights, "
              f"{(args.model / manifest['model_file']).stat().st_size / 1e6:.1f} MB)") if litert else "Keras only"
    print(f"{args.model}: serves with {served}; Keras model in {manifest['keras']['file']}")
    return 0


def cmd_gallery(args) -> int:
    from .serving.gallery_index import attach_gallery, build_gallery
    from .serving.similar_vectors import write_bundle_similar
    from .serving.thumbnails import ALL, PUBLIC_DOMAIN

    indexed = build_gallery(args.data, args.out, args.titles, progress=not args.no_progress,
                            thumbnails=ALL if args.all_thumbnails else PUBLIC_DOMAIN)
    titled = int((indexed.paintings["title"] != "").sum())
    print(f"{len(indexed.paintings)} paintings of {indexed.paintings['artist'].nunique()} painters indexed "
          f"({titled} with a title) in {args.out}; {indexed.duplicates} duplicate files left out")
    for path, why in indexed.skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    if args.model:
        attach_gallery(args.model, args.out)
        print(f"{args.model} now recognises the paintings of {args.out}")
        print(f"similar paintings under its answers: {write_bundle_similar(args.model, not args.no_progress)}")
    return 0


def cmd_quiz_images(args) -> int:
    import tempfile

    from .app.quiz import build_quiz_folder
    from .bundle import load_bundle

    exclude = sorted(args.exclude_like.glob("*")) if args.exclude_like and args.exclude_like.is_dir() else []
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".quiz-", dir=out.parent) as staging:  # a failed run leaves --out as it was
        built = Path(staging) / "quiz"
        manifest = build_quiz_folder(load_bundle(args.model), built, args.limit, args.per_artist, args.died_before,
                                     exclude, args.data_root)
        if manifest.empty:
            print(f"error: the bundle's test split has no public-domain paintings to ask; {args.out} left as it was",
                  file=sys.stderr)
            return 1
        if out.exists():
            out.rename(Path(staging) / "previous")  # removed with the staging folder
        built.rename(out)
    size = sum((out / f).stat().st_size for f in manifest["file"])
    print(f"{len(manifest)} quiz paintings of {manifest['artist'].nunique()} artists, {size / 1e6:.1f} MB: {args.out}")
    return 0


def _report_progress_to(stream) -> None:
    """The package's log messages (a training run's stages, a data report) as plain lines on ``stream``."""
    logger = logging.getLogger("painting_classifier")
    if not any(getattr(handler, "stream", None) is stream for handler in logger.handlers):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    from .bundle import BundleError
    from .logs import quiet_tensorflow
    from .training.data import DataError

    args = build_parser().parse_args(argv)
    quiet_tensorflow(args.verbose)
    _report_progress_to(sys.stdout if args.command == "train" else sys.stderr)
    handlers = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "export": cmd_export,
                "quiz-images": cmd_quiz_images, "gallery": cmd_gallery}
    try:
        return handlers[args.command](args)
    except (DataError, BundleError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted" + (" (continue with --resume)" if args.command == "train" else ""), file=sys.stderr)
        return 130
