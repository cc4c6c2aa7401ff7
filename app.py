"""Who painted this? The Gradio demo: ``python app.py [--model DIR] [--host H] [--port P] [--share] [--runtime R]
[--concurrency N] [--quiz DIR] [--classroom [--classroom-db PATH] [--classroom-url URL] [--teacher-key KEY]
[--joins-per-minute N] [--round-seconds S | --self-paced]]
[--verbose]``. Serves on LiteRT: TensorFlow is never imported."""
import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Serve the painting classifier in the browser.")
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("PAINTING_MODEL", HERE / "assets" / "model")),
                        help="model bundle directory (default: $PAINTING_MODEL or assets/model)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                        help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument("--runtime", choices=["auto", "litert", "keras"], default="auto",
                        help="predict with the bundle's LiteRT model (converted once, with TensorFlow, for a bundle "
                        "without one) or with Keras (needs TensorFlow) (default: auto = LiteRT where the model converts)")
    parser.add_argument("--concurrency", type=int, default=None, metavar="N",
                        help="requests computed at once (default: the CPU cores this process may use)")
    parser.add_argument("--quiz", type=Path, default=HERE / "assets" / "quiz",
                        help="folder of quiz paintings with manifest.csv (default: assets/quiz; make one with "
                        "python -m painting_classifier quiz-images)")
    parser.add_argument("--classroom", action="store_true",
                        help="classroom mode: students join the quiz with a nickname, answers count on a class board "
                        "(a Class tab for the projector); use with --host 0.0.0.0 or --share")
    parser.add_argument("--classroom-db", type=Path, default=None, metavar="PATH",
                        help="the class board's SQLite file (default: ~/.local/share/painting_classifier/"
                        "classroom.sqlite3, or under $XDG_DATA_HOME)")
    parser.add_argument("--classroom-url", default=None, metavar="URL",
                        help="the address students open, when it is not this machine's (e.g. behind a proxy)")
    parser.add_argument("--joins-per-minute", type=int, default=None, metavar="N",
                        help="students who may join a minute from one network address (default: 10; a class behind "
                        "one school address, or a proxy, needs about 60)")
    parser.add_argument("--round-seconds", type=float, default=None, metavar="S",
                        help="classroom mode: seconds a round stays open at most (default: 20); it closes earlier "
                        "when every student has answered")
    parser.add_argument("--self-paced", action="store_true",
                        help="classroom mode: each student goes through the paintings alone (homework) instead of "
                        "rounds the teacher starts")
    parser.add_argument("--teacher-key", default=None, metavar="KEY",
                        help="the key of the teacher's link (default: one made with the class board and kept in it)")
    parser.add_argument("--gallery", type=Path, action="append", default=[], metavar="DIR",
                        help="also recognise the paintings of this folder, by any painters (images/<Artist_Name>/*.jpg, "
                        "or a CSV of file, artist, title): indexed once, then kept in the cache; repeatable")
    parser.add_argument("--verbose", action="store_true", help="show native libraries' start-up logging")
    args = parser.parse_args(argv)
    if args.concurrency is not None and args.concurrency < 1:
        parser.error("--concurrency must be 1 or more")
    if (args.round_seconds is not None or args.self_paced) and not args.classroom:
        parser.error("--round-seconds and --self-paced go with --classroom")
    if args.round_seconds is not None and args.round_seconds <= 0:
        parser.error("--round-seconds must be more than 0")

    from painting_classifier.logs import quiet_tensorflow

    quiet_tensorflow(args.verbose)
    from painting_classifier import BundleError
    from painting_classifier.app.blocks import build_demo, launch
    from painting_classifier.cli import load_predictor

    try:
        predictor = load_predictor(args.model, runtime=args.runtime, collections=args.gallery)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BundleError as exc:
        print(f"error: {exc}\nTrain one with: python train.py --recipe default --data DATA --out {args.model}",
              file=sys.stderr)
        return 2
    settings = None
    if args.classroom:
        from painting_classifier.app.blocks import ClassroomSettings
        from painting_classifier.app.classroom import Board, default_database

        board = Board(args.classroom_db or default_database())
        print(f"Classroom mode: the class board is kept in {board.path}")
        settings = ClassroomSettings(board, args.host, args.classroom_url, args.teacher_key, args.joins_per_minute,
                                     args.round_seconds, args.self_paced)
    app = build_demo(predictor, examples_dir=HERE / "assets" / "examples", quiz_dir=args.quiz,
                     concurrency=args.concurrency, classroom_settings=settings)
    launch(app, args.host, args.port, share=args.share, concurrency=args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
