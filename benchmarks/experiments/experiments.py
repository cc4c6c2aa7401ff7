"""Recipe search for the shipped model: train each recipe on the same split, record validation and test.

    python -m benchmarks.experiments.experiments --data ../shared/data/best-artworks-sample [--only NAME,NAME]

Every recipe goes through the real pipeline (``training.train``), so backbone features
are cached and shared between recipes with the same backbone and views; "seconds" is
the wall time of that run with whatever was already in the cache (see "features_cached").
Recipes are chosen on the validation columns; test columns are recorded for the table only.
Appends to benchmarks/results/experiments.csv (one row per recipe; re-running a name replaces it).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from benchmarks.common.paths import DATA, RESULTS, ROOT
from painting_classifier.config import RECIPES, Config  # noqa: E402

HEAD = {"learning_rate": 1e-3, "epochs": 200, "patience": 30}
EXPERIMENTS: dict[str, dict] = {
    # the original's own defaults (Adam 1e-4, 100 epochs, patience 50), at 128 px: 256 px takes ~4x longer
    "seed-cnn 128px (original architecture)": {"backbone": "seed-cnn", "weights": "none", "view_size": 128},
    "lite0 whole 224 linear": {"backbone": "lite0", **HEAD},
    "lite0 whole 224 +flip+ls": {"backbone": "lite0", **HEAD, "augment": True, "label_smoothing": 0.1},
    "lite0 1x+2x 224 linear": {"backbone": "lite0", "scales": [1, 2], **HEAD},
    "lite0 1x+2x 224 +flip+ls": {"backbone": "lite0", "scales": [1, 2], **HEAD, "augment": True,
                                 "label_smoothing": 0.1},
    "lite0 1x+2x 224 +flip+ls no class weights": {"backbone": "lite0", "scales": [1, 2], **HEAD, "augment": True,
                                                  "label_smoothing": 0.1, "class_weights": False},
    "lite0 1x+2x 224 +flip+ls hidden 512": {"backbone": "lite0", "scales": [1, 2], **HEAD, "augment": True,
                                            "label_smoothing": 0.1, "head_units": 512},
    "lite0 1x+2x 224 +flip+ls +tta": {"backbone": "lite0", "scales": [1, 2], **HEAD, "augment": True,
                                      "label_smoothing": 0.1, "tta": True},
    "lite0 1x+2x 192 +flip+ls": {"backbone": "lite0", "scales": [1, 2], "view_size": 192, **HEAD,
                                 "augment": True, "label_smoothing": 0.1},
    "lite0 1x+2x+3x 224 +flip+ls": {"backbone": "lite0", "scales": [1, 2, 3], **HEAD, "augment": True,
                                    "label_smoothing": 0.1},
    # style statistics of the intermediate stages; standardised features need a slower, L2-regularised head
    "lite0 1x+2x 224 +style stats +flip+ls": {"backbone": "lite0", "scales": [1, 2], "style_stats": True, **HEAD,
                                              "augment": True, "label_smoothing": 0.1},
    "lite0 1x+2x 224 +style stats +flip+ls +L2 head lr 1e-4": {
        **{k: v for k, v in RECIPES["default"].items() if k != "refit"}},
    # the default recipe with the backbone's top block fine-tuned with the head (training/fine_tuning.py)
    "lite0 1x+2x 224 +style stats +flip+ls +L2 head lr 1e-4 +fine-tune 1 block": {
        **{k: v for k, v in RECIPES["default"].items() if k not in ("refit", "calibrate")}, "fine_tune_blocks": 1},
    "lite2 whole 260 +flip+ls": {"backbone": "lite2", **HEAD, "augment": True, "label_smoothing": 0.1},
    "lite2 1x+2x 260 +flip+ls": {"backbone": "lite2", "scales": [1, 2], **HEAD, "augment": True,
                                 "label_smoothing": 0.1},
}


def run(name: str, overrides: dict, data: Path, out_root: Path) -> dict:
    from painting_classifier.config import default_cache_dir
    from painting_classifier.training.features import features_key
    from painting_classifier.training.run import train

    config = Config.from_dict(overrides)
    feature_dir = default_cache_dir() / "features" / features_key(config)
    cached = feature_dir.is_dir() and any(feature_dir.iterdir())
    start = time.perf_counter()
    bundle = train(data, out_root / name.replace(" ", "_").replace("/", "-"), config, progress=False)
    seconds = time.perf_counter() - start
    manifest = json.loads((bundle / "manifest.json").read_text())
    val, test = manifest["validation_metrics"], manifest["test_metrics"]
    size_mb = (bundle / "model.keras").stat().st_size / 1e6
    return {"recipe": name, "backbone": config.backbone, "views": "+".join(f"{k}x" for k in config.scales),
            "view_px": config.effective_view_size, "style_stats": config.style_stats,
            "head": f"hidden {config.head_units}" if config.head_units else "linear",
            "head_l2": config.head_l2, "learning_rate": config.learning_rate, "refit": config.refit,
            "augment": config.augment, "label_smoothing": config.label_smoothing, "tta": config.tta,
            "class_weights": config.class_weights, "fine_tune_blocks": config.fine_tune_blocks,
            "val_top1": val["top1"], "val_top5": val["top5"], "val_balanced": val["balanced_accuracy"],
            "test_top1": test["top1"], "test_top5": test["top5"], "test_balanced": test["balanced_accuracy"],
            "epochs_run": len(pd.read_csv(bundle / "history.csv")), "seconds": round(seconds),
            "features_cached": cached, "model_mb": round(size_mb, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "best-artworks-sample")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "experiments")
    parser.add_argument("--only", help="comma-separated recipe names (default: all)")
    args = parser.parse_args()
    results = RESULTS / "experiments.csv"
    names = args.only.split(",") if args.only else list(EXPERIMENTS)  # a name may also be a RECIPES key
    for name in names:
        overrides = EXPERIMENTS.get(name) or RECIPES[name]
        row = run(name, overrides, args.data, args.out)
        table = pd.read_csv(results) if results.is_file() else pd.DataFrame()
        if len(table):
            table = table[table["recipe"] != name]
        table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
        results.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(results, index=False)
        print(f"{name}: val top-1 {row['val_top1']:.3f} top-5 {row['val_top5']:.3f} "
              f"balanced {row['val_balanced']:.3f} ({row['seconds']} s)", flush=True)


if __name__ == "__main__":
    main()
