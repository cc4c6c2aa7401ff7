"""The Gradio app: Identify (top-k artists, artist card, Grad-CAM), Training (how it learned), About."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import gradio as gr
import pandas as pd

from . import plots
from .data import label_from_filename, normalise_name
from .images import load_rgb
from .predict import Predictor

UNSURE_BELOW = 0.30  # top probability under which the app says it is not sure
DEFAULT_TOP_K = 5
QUEUE_SIZE = 64
CONCURRENCY = 2  # requests computed at once (TensorFlow already uses every core for one)
MAX_UPLOAD = "25mb"


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


def _read(payload, min_side: int):
    source = _source(payload)
    if source is None:
        return None
    try:
        return load_rgb(source, min_side=min_side)
    except (ValueError, OSError) as exc:
        raise gr.Error(f"This file can't be used as a painting: {exc}. Try a JPEG or PNG image.",
                       title="Unreadable image") from None


def _first_sentences(text: str, limit: int = 450) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > limit // 3 else cut.rsplit(" ", 1)[0] + " …"


def artist_card(row: pd.Series, probability: float) -> str:
    """Markdown card for one artist from the bundle's artists.csv."""
    facts = " · ".join(str(row[c]) for c in ("years", "genre", "nationality") if str(row.get(c, "")).strip())
    lines = [f"### {row['name']}", f"**{facts}**" if facts else "", "", _first_sentences(row.get("bio", ""))]
    if str(row.get("wikipedia", "")).startswith("http"):
        lines += ["", f"[Read more on Wikipedia]({row['wikipedia']})"]
    trained_on = int(row.get("train_paintings", row.get("paintings", 0)))
    lines += ["", f"<sub>The model learned this artist from {trained_on} painting{'s' * (trained_on != 1)}"
              f" · confidence {probability:.0%}</sub>"]
    return "\n".join(lines)


def confidence_note(ranked: list[tuple[str, float]]) -> str:
    name, top = ranked[0]
    if top < UNSURE_BELOW:
        return (f"**Not sure — maybe none of these 50 artists.** The best guess, {name}, gets only "
                f"{top:.0%}. The model knows 50 painters only; for anyone else it can only point to similar styles.")
    if len(ranked) > 1 and ranked[1][1] > top / 2:
        return f"Most likely **{name}** ({top:.0%}), but **{ranked[1][0]}** ({ranked[1][1]:.0%}) is close."
    return f"Most likely **{name}** ({top:.0%})."


def model_card(predictor: Predictor) -> str:
    bundle = predictor.bundle
    config, manifest, metrics = bundle.config, bundle.manifest, bundle.metrics
    n = manifest.get("n_paintings", {})
    scales = ", ".join("whole painting" if k == 1 else f"{k}×{k} tiles at {k}× resolution" for k in config.scales)
    stages = "a classifier head trained on cached backbone features" if config.pretrained else "end-to-end training"
    if config.pretrained and config.fine_tune_epochs:
        stages += f", then fine-tuning of the top {config.fine_tune_layers} backbone layers (BatchNorm frozen)"
    history = bundle.history
    if config.refit and "stage" in history and (history["stage"] == "refit").any():
        stages += (f"; then the head was trained again on train + validation for the "
                   f"{int((history['stage'] == 'refit').sum())} epochs that validation chose")
    weights = "ImageNet weights" if config.weights == "imagenet" else f"weights: {config.weights}"
    style = (f", {'pooled features plus ' if config.pooled_features else ''}style statistics (channel means and "
             "standard deviations of five intermediate stages, i.e. texture)") if config.style_stats else ""
    calibration = ""
    if metrics.get("temperature") and metrics.get("mean_confidence") is not None:
        calibration = (f"; mean confidence {metrics['mean_confidence']:.1%} (probabilities calibrated on "
                       f"validation data with softmax temperature {metrics['temperature']:.2f})")
    runtime = ("a TensorFlow Lite (XNNPACK) conversion of the model" if predictor.runtime == "tflite"
               else "the Keras model")

    def pct(key):
        return f"{metrics[key]:.1%}" if metrics.get(key) is not None else "n/a"

    return f"""
## Model card

**What it does.** Names which of the 50 artists of the Kaggle data set *Best Artworks of All Time* most
likely painted a picture, with probabilities, and shows where the network looked (Grad-CAM).

**Data.** {sum(n.values())} paintings of {len(bundle.classes)} artists
({n.get('train', 0)} train / {n.get('val', 0)} validation / {n.get('test', 0)} test; stratified by artist,
no painting on two sides). Source: `{Path(str(manifest.get('data', '?'))).name}` — paintings from
*Best Artworks of All Time* (ikarus777 on Kaggle, CC BY-NC-SA 4.0), so this model is for non-commercial use.

**Model.** Backbone `{config.backbone}` ({weights}), views of {config.view_side} px: {scales}
(input {bundle.input_size} px){style}. Training: {stages}; Adam, learning rate {config.learning_rate:g},
batch {config.batch_size}, early stopping on validation loss (patience {config.patience}),
{'class weights total/(artists·count)' if config.class_weights else 'no class weights'}{', mirrored paintings as augmentation' if config.augment else ''}{', label smoothing ' + str(config.label_smoothing) if config.label_smoothing else ''}{f', L2 {config.head_l2:g} on the softmax weights' if config.head_l2 else ''}.
Predictions here run on {runtime}.

**Test metrics** (held-out test split, {metrics.get('n_images', 0)} paintings): top-1 {pct('top1')},
top-5 {pct('top5')}, balanced accuracy {pct('balanced_accuracy')}, macro-F1
{metrics.get('macro_f1', float('nan')):.3f}{calibration}.

**Known limits.**
- It knows these 50 artists only: any other painter gets one of them, so read low probabilities as "unsure".
- The data are very imbalanced (some artists have hundreds of paintings, others a handful); rare artists are
  recognised less reliably — see per-artist accuracy on the Training tab.
- Small test split: the metrics above carry a few points of sampling noise.
- It recognises style, not authorship: it is **not** a forgery or attribution tool.

<sub>Bundle `{bundle.path.name}`, created {manifest.get('created', '?')}, TensorFlow
{manifest.get('versions', {}).get('tensorflow', '?')}; model sha256 `{manifest.get('model_sha256', '')[:12]}…`</sub>
"""


def _examples(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}) if folder.is_dir() else []


def build_demo(predictor: Predictor, examples_dir: Path | None = None) -> gr.Blocks:
    """The whole app for one loaded model."""
    bundle = predictor.bundle
    rows = bundle.artists.set_index("name", drop=False)
    display = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
    min_side = max(predictor.input_size, 640)
    names_by_key = {normalise_name(n): n for n in bundle.artists["name"]}

    def identify(payload, top_k):
        painting = _read(payload, min_side)
        if painting is None:
            return None, "", ""
        ranked = predictor.predict(painting, top_k=int(top_k or DEFAULT_TOP_K))
        label = {name: round(p, 4) for name, p in ranked}
        return label, artist_card(rows.loc[ranked[0][0]], ranked[0][1]), confidence_note(ranked)

    def explain(payload):
        painting = _read(payload, min_side)
        if painting is None:
            return None
        return plots.overlay_heatmap(painting, predictor.gradcam(painting))

    history = bundle.history
    training_values = (
        plots.curves(history, "accuracy"), plots.curves(history, "loss"),
        plots.class_weights_frame(bundle), plots.paintings_frame(bundle),
        plots.metrics_table(bundle.metrics), plots.per_artist_frame(bundle.metrics, display),
    )
    confusion = plots.confusion_figure(bundle.metrics, display)

    def training_data():
        return (*training_values, confusion)

    with gr.Blocks(title="Who painted this?", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# Who painted this?\nDrop a painting to see which of 50 famous artists most likely "
                    "painted it — and where the network looked.")
        with gr.Tab("Identify"):
            with gr.Row():
                with gr.Column(scale=1) as input_column:
                    image = gr.Image(label="Painting", type="filepath", image_mode=None,
                                     sources=["upload", "clipboard"], height=420)
                    top_k = gr.Slider(1, 10, value=DEFAULT_TOP_K, step=1, label="Top-k artists")
                with gr.Column(scale=1):
                    note = gr.Markdown(elem_id="confidence-note")
                    label = gr.Label(label="Most likely artists", elem_id="prediction")
                    card = gr.Markdown(elem_id="artist-card")
                with gr.Column(scale=1):
                    heatmap = gr.Image(label="Where the model looked (Grad-CAM)", interactive=False, height=420,
                                       format="jpeg", elem_id="gradcam")
            # user actions only (.input, not .change): example clicks show their cached results instead
            event = gr.on([image.input, top_k.release], identify, inputs=[image, top_k],
                          outputs=[label, card, note], api_name="predict", preprocess=False,
                          concurrency_id="model")
            event.success(explain, inputs=[image], outputs=[heatmap], api_name="explain", preprocess=False,
                          concurrency_id="model")
            image.clear(lambda: (None, "", "", None), outputs=[label, card, note, heatmap], api_visibility="private")
            example_files = _examples(examples_dir) if examples_dir else []
            if example_files:
                with input_column:
                    gr.Examples([[str(p), DEFAULT_TOP_K] for p in example_files], inputs=[image, top_k],
                                outputs=[label, card, note, heatmap],
                                fn=lambda payload, k: (*identify(payload, k), explain(payload)),
                                cache_examples=True, cache_mode="lazy", preprocess=False,
                                label="Public-domain paintings from the test split",
                                example_labels=[names_by_key.get(normalise_name(label_from_filename(p)), p.stem)
                                                for p in example_files])
        with gr.Tab("Training"):
            gr.Markdown("How this model learned, from the files in its bundle (no retraining). "
                        "Steps count epochs across training stages.")
            with gr.Row():
                accuracy_plot = gr.LinePlot(x="step", y="value", color="series", title="Accuracy per epoch",
                                            x_title="epoch", y_title="accuracy", height=300)
                loss_plot = gr.LinePlot(x="step", y="value", color="series", title="Loss per epoch",
                                        x_title="epoch", y_title="cross-entropy", height=300)
            with gr.Row():
                metrics_df = gr.Dataframe(label="Test metrics", interactive=False, scale=1)
                per_artist_plot = gr.BarPlot(x="artist", y="accuracy", title="Test accuracy per artist",
                                             sort="-y", x_label_angle=-60, height=380, scale=3,
                                             tooltip=["artist", "accuracy", "test paintings"])
            weights_plot = gr.BarPlot(x="artist", y="class weight", sort="-y", x_label_angle=-60, height=380,
                                      title="Class weight per artist: total / (artists × paintings of the artist)")
            paintings_plot = gr.BarPlot(x="artist", y="paintings", color="split", sort="-y", x_label_angle=-60,
                                        height=380, title="Paintings per artist and split")
            confusion_plot = gr.Plot(label="Confusion matrix")
            training_outputs = [accuracy_plot, loss_plot, weights_plot, paintings_plot, metrics_df,
                                per_artist_plot, confusion_plot]
        with gr.Tab("About"):
            gr.Markdown(model_card(predictor), elem_id="model-card")
        demo.load(training_data, outputs=training_outputs, api_name="training_data")
    return demo


def launch(demo: gr.Blocks, host: str, port: int, share: bool = False, **kwargs):
    """Start the app with a bounded queue and an upload size cap."""
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return demo.launch(server_name=host, server_port=port, share=share, max_file_size=MAX_UPLOAD,
                       theme=gr.themes.Soft(primary_hue="amber", secondary_hue="rose"),
                       footer_links=["api", "gradio"], **kwargs)
