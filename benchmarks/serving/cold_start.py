"""Cold start: how long after ``python app.py`` starts does the first answer come, and what does the app hold?

    python -m benchmarks.serving.cold_start [--model assets/model] [--runs 3]

Each run starts ``app.py`` in its own process with an empty home, feature/model cache and Gradio cache (as a
first start on a new machine or a fresh Space; the operating system's file cache is not emptied), waits for
its page, uploads a test painting and calls /predict, then /explain. Reported per run: seconds from the start
to the page, to the first /predict answer and to the /explain image; the app's resident memory after each;
and whether TensorFlow's libraries were ever loaded into it. Writes benchmarks/results/cold_start.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common.app_client import call, fetch, loaded_libraries, rss_mb, start_app, upload, wait_until_serving
from benchmarks.common.paths import RESULTS, ROOT, SHIPPED_MODEL
from benchmarks.common.provenance import provenance


def one_start(model: Path, painting: Path) -> dict:
    """Start the app on empty caches and time its first answers."""
    with tempfile.TemporaryDirectory() as home:
        env = {"HOME": home, "XDG_CACHE_HOME": f"{home}/.cache", "PAINTING_CLASSIFIER_CACHE": f"{home}/cache",
               "GRADIO_TEMP_DIR": f"{home}/gradio", "MPLCONFIGDIR": f"{home}/matplotlib"}
        began = time.perf_counter()
        server, url = start_app("--model", str(model), env=env)
        try:
            wait_until_serving(url, server)
            page = time.perf_counter() - began
            uploaded = upload(url, painting)
            label, *_ = call(url, "predict", [uploaded, 5, True])
            first = time.perf_counter() - began
            rss_first = rss_mb(server.pid)
            (overlay,) = call(url, "explain", [uploaded, True])
            fetch(overlay)
            explained = time.perf_counter() - began
            libraries = loaded_libraries(server.pid)
            return {"page_s": round(page, 2), "first_predict_s": round(first, 2), "first_explain_s": round(explained, 2),
                    "rss_after_first_predict_mb": round(rss_first, 1),
                    "rss_after_explain_mb": round(rss_mb(server.pid), 1), "top_artist": label["label"],
                    "tensorflow_loaded": any("tensorflow" in name for name in libraries)}
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS / "cold_start.json")
    args = parser.parse_args()

    from painting_classifier import load_bundle

    bundle = load_bundle(args.model)
    painting = sorted((ROOT / "assets" / "examples").glob("*.jpg"))[0]
    starts = [one_start(args.model, painting) for _ in range(args.runs)]
    summary = {key: {"median": statistics.median(s[key] for s in starts), "max": max(s[key] for s in starts)}
               for key in ("first_predict_s", "rss_after_first_predict_mb", "rss_after_explain_mb")}
    result = {**provenance(bundle.checksum, runs=args.runs), "model": str(args.model), "painting": painting.name,
              "summary": summary, "tensorflow_loaded": any(s["tensorflow_loaded"] for s in starts), "starts": starts}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
