"""Single-image latency of this checkout against an earlier commit, on the same machine at the same time.

    python -m benchmarks.serving.latency_against --before f335ff8 [--rounds 2] [--n 100]

Latency on a shared 2-core machine drifts by several milliseconds from hour to hour, so a figure measured
days ago is no baseline. This checks the earlier commit out into a temporary git worktree and times
``Predictor.predict`` (file -> top-5, the app's runtime, its own shipped model) in a fresh process for each
side, alternating ``--rounds`` times, each over ``--n`` real paintings after warm-up. Writes
benchmarks/results/latency_against.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common.paths import DATA, RESULTS, ROOT, SHIPPED_MODEL
from benchmarks.common.provenance import provenance

TIMING = """
import json, statistics, sys, time
from pathlib import Path
root = Path(sys.argv[1]); sys.path.insert(0, str(root))
from painting_classifier import Predictor
p = Predictor.from_bundle(root / "assets" / "model")
folder = Path(sys.argv[2])
images = sorted(q for q in folder.rglob("*") if q.suffix.lower() in {".jpg", ".jpeg", ".png"})[:50]
for image in images[:3]:
    p.predict(image)
seconds = []
for i in range(int(sys.argv[3])):
    start = time.perf_counter()
    p.predict(images[i % len(images)], top_k=5)
    seconds.append(time.perf_counter() - start)
print(json.dumps({"runtime": p.runtime, "p50_ms": 1000 * statistics.median(seconds),
                  "tensorflow_loaded": "tensorflow" in sys.modules}))
"""


def timed(checkout: Path, images: Path, n: int) -> dict:
    done = subprocess.run([sys.executable, "-c", TIMING, str(checkout), str(images), str(n)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--json", type=Path, default=RESULTS / "latency_against.json")
    args = parser.parse_args()
    sample = DATA / "best-artworks-sample" / "images"
    images = sample if sample.is_dir() else ROOT / "assets" / "examples"

    from painting_classifier import load_bundle

    before = Path(tempfile.mkdtemp()) / "before"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(before), args.before], cwd=ROOT, check=True)
    try:
        sides = {"before": [], "now": []}
        for _ in range(args.rounds):
            sides["before"].append(timed(before, images, args.n))
            sides["now"].append(timed(ROOT, images, args.n))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=True)
    result = {**provenance(load_bundle(SHIPPED_MODEL).checksum, runs=args.rounds),
              "before_commit": args.before, "calls_per_run": args.n, "images": str(images),
              **{side: {"p50_ms_each_run": [round(r["p50_ms"], 1) for r in runs],
                        "p50_ms_median": round(statistics.median(r["p50_ms"] for r in runs), 1),
                        "runtime": runs[0]["runtime"], "tensorflow_loaded": runs[0]["tensorflow_loaded"]}
                 for side, runs in sides.items()}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
