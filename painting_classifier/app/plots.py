"""Tables and figures of a bundle for the app's Training tab, and the Grad-CAM overlay."""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..bundle import Bundle  # noqa: E402


def best_epoch(history: pd.DataFrame) -> int | None:
    """Step (1-based, across stages) with the lowest validation loss (training loss without validation)."""
    if history.empty:
        return None
    column = "val_loss" if "val_loss" in history and history["val_loss"].notna().any() else "loss"
    return int(history.loc[history[column].idxmin(), "step"])


def curves(history: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Long frame (step, value, series) of train vs validation ``metric``, plus a vertical
    two-point series marking the best epoch, ready for ``gr.LinePlot(color="series")``."""
    rows = []
    stage = history["stage"] if "stage" in history else pd.Series("", index=history.index)
    first = stage.iloc[0] if len(stage) else ""
    # later stages (fine-tuning, refit) get series of their own, so their lines do not join the first's
    suffix = stage.map(lambda s: "" if s == first else f" ({str(s).replace('_', ' ')})")
    for column, name in ((metric, "train"), (f"val_{metric}", "validation")):
        if column in history:
            part = pd.DataFrame({"step": history["step"], "value": history[column], "series": name + suffix})
            rows.append(part.dropna(subset=["value"]))
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["step", "value", "series"])
    best = best_epoch(history)
    if best is not None and len(frame):
        top = float(np.nanmax(frame["value"]))
        marker = pd.DataFrame({"step": [best, best], "value": [0.0, top], "series": f"best epoch ({best})"})
        frame = pd.concat([frame, marker], ignore_index=True)
    return frame


def class_weights_frame(bundle: Bundle) -> pd.DataFrame:
    return pd.DataFrame({"artist": bundle.artists["name"], "class weight": bundle.artists["class_weight"]})


def paintings_frame(bundle: Bundle) -> pd.DataFrame:
    """Paintings per artist and split (train / val / test), long format for a stacked bar chart."""
    names = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
    counts = bundle.split.groupby(["artist", "split"]).size().rename("paintings").reset_index()
    counts["artist"] = counts["artist"].map(names)
    return counts


def sources_frame(bundle: Bundle) -> pd.DataFrame:
    """Paintings per artist and data folder (all splits), long format for a stacked bar chart."""
    names = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
    split = bundle.split if "source" in bundle.split else bundle.split.assign(source=Path(bundle.manifest["data"]).name)
    counts = split.groupby(["artist", "source"]).size().rename("paintings").reset_index()
    counts["artist"] = counts["artist"].map(names)
    return counts


def per_artist_frame(metrics: dict, display: dict[str, str]) -> pd.DataFrame:
    """Test accuracy (recall) per artist, with the number of test paintings."""
    rows = [{"artist": display.get(a, a), "accuracy": m["recall"], "test paintings": m["n"]}
            for a, m in metrics.get("per_artist", {}).items() if m["n"] > 0]
    return pd.DataFrame(rows, columns=["artist", "accuracy", "test paintings"])


NAMED_COLUMNS = ["Artist", "Named (test)", "Right when named (test)", "Named (cross-validation)",
                 "Right when named (cross-validation)"]


def named_frame(bundle, display: dict[str, str]) -> pd.DataFrame:
    """Per artist, how often the model names it and how often that is right: on the test split (from the bundle's
    confusion matrix) and, where ``benchmarks/quality/per_artist.py --publish`` recorded it, out of fold in
    cross-validation. Most named first: an artist named often and seldom right soaks up others' paintings."""
    metrics = bundle.metrics
    matrix = np.asarray(metrics.get("confusion_matrix", []))
    if matrix.size == 0:
        return pd.DataFrame(columns=NAMED_COLUMNS)
    cv = {row["artist"]: row for row in bundle.measured.get("per_artist", {}).get("rows", [])}

    def share(right, named) -> str:
        return f"{right / named:.0%}" if named else "—"

    rows = []
    for i, name in enumerate(bundle.classes):
        shown = display.get(name, name)
        fold = cv.get(name.replace("_", " "), {})
        cv_named = fold.get("cv_named")
        cv_right = "—" if fold.get("cv_precision") is None else f"{fold['cv_precision']:.0f}%"
        rows.append([shown, int(matrix[:, i].sum()), share(int(matrix[i, i]), int(matrix[:, i].sum())),
                     "—" if cv_named is None else int(cv_named), cv_right])
    frame = pd.DataFrame(rows, columns=NAMED_COLUMNS)
    order = frame["Named (cross-validation)"].replace("—", -1).astype(int) * 1000 + frame["Named (test)"]
    return frame.loc[order.sort_values(ascending=False).index].reset_index(drop=True)


def metrics_table(metrics: dict) -> pd.DataFrame:
    names = {"top1": "Top-1 accuracy", "top5": "Top-5 accuracy", "balanced_accuracy": "Balanced accuracy",
             "macro_f1": "Macro-F1", "mean_confidence": "Mean confidence (top-1 probability)"}
    rows = [{"metric": label, "value": f"{metrics[key]:.1%}" if key != "macro_f1" else f"{metrics[key]:.3f}"}
            for key, label in names.items() if metrics.get(key) is not None]
    rows.append({"metric": "Test paintings", "value": str(metrics.get("n_images", 0))})
    return pd.DataFrame(rows)


def confusion_png(metrics: dict, display: dict[str, str]) -> bytes:
    """``confusion_figure`` drawn as PNG bytes (the figure is closed)."""
    fig = confusion_figure(metrics, display)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def confusion_figure(metrics: dict, display: dict[str, str]):
    """Row-normalised confusion matrix over the artists in the test split (matplotlib figure)."""
    matrix = np.asarray(metrics.get("confusion_matrix", []), dtype=float)
    classes = metrics.get("classes", [])
    fig, ax = plt.subplots(figsize=(9, 8), dpi=90)
    if matrix.size == 0:
        ax.text(0.5, 0.5, "no test metrics in this bundle", ha="center")
        ax.axis("off")
        return fig
    keep = np.where((matrix.sum(axis=1) + matrix.sum(axis=0)) > 0)[0]
    matrix = matrix[np.ix_(keep, keep)]
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    labels = [display.get(classes[i], classes[i]) for i in keep]
    ax.set_xticks(range(len(keep)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(keep)), labels, fontsize=7)
    ax.set_xlabel("predicted artist")
    ax.set_ylabel("true artist")
    ax.set_title("Confusion matrix on the test split (share of each true artist's paintings)")
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig
