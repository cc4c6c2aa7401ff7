"""The Training tab: how the model learned, from the files in its bundle (no retraining)."""
from __future__ import annotations

import functools

import gradio as gr

from . import plots
from .served_files import ServedImages


def training_tab(bundle, served: ServedImages) -> tuple[list, callable]:
    """Training: learning curves, class weights, paintings per split, test metrics, who the model names and how often
    rightly, confusion matrix.

    Returns the output components and the function that fills them (run when a page loads; worked out at the
    first load, the confusion matrix drawn once as an image file, so pages share no matplotlib figure).
    """
    @functools.cache
    def values():
        display = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
        history = bundle.history
        return (plots.curves(history, "accuracy"), plots.curves(history, "loss"),
                plots.class_weights_frame(bundle), plots.paintings_frame(bundle), plots.sources_frame(bundle),
                plots.metrics_table(bundle.metrics), plots.per_artist_frame(bundle.metrics, display),
                plots.named_frame(bundle, display), served.copy(plots.confusion_png(bundle.metrics, display), ".png"))

    gr.Markdown("How this model learned, from the files in its bundle (no retraining). "
                "Steps count epochs across training stages.")
    with gr.Row():
        accuracy_plot = gr.LinePlot(x="step", y="value", color="series", title="Accuracy per epoch", label="Accuracy", show_label=False,
                                    x_title="epoch", y_title="accuracy", height=300)
        loss_plot = gr.LinePlot(x="step", y="value", color="series", title="Loss per epoch", label="Loss", show_label=False,
                                x_title="epoch", y_title="cross-entropy", height=300)
    with gr.Row():
        metrics_df = gr.Dataframe(label="Test metrics", interactive=False, scale=2, min_width=340,
                                  column_widths=["65%", "35%"], elem_id="test-metrics")
        per_artist_plot = gr.BarPlot(x="artist", y="accuracy", title="Test accuracy per artist",
                                     label="Test accuracy per artist", show_label=False,
                                     sort="-y", x_label_angle=-60, height=380, scale=3,
                                     tooltip=["artist", "accuracy", "test paintings"])
    weights_plot = gr.BarPlot(x="artist", y="class weight", sort="-y", x_label_angle=-60, height=380, label="Class weights", show_label=False,
                              title="Class weight per artist: total / (artists × paintings of the artist)")
    paintings_plot = gr.BarPlot(x="artist", y="paintings", color="split", sort="-y", x_label_angle=-60,
                                label="Paintings per split", show_label=False,
                                height=380, title="Paintings per artist and split")
    sources_plot = gr.BarPlot(x="artist", y="paintings", color="source", sort="-y", x_label_angle=-60,
                              label="Paintings per data folder", show_label=False,
                              height=380, title="Paintings per artist and data folder")
    named = gr.Dataframe(label="Who the model names, and how often it is right (most named first: a painter named "
                               "often and seldom right soaks up other painters' paintings)", interactive=False,
                         elem_id="named-per-artist", max_height=420)
    confusion_plot = gr.Image(label="Confusion matrix", interactive=False, elem_id="confusion-matrix")
    outputs = [accuracy_plot, loss_plot, weights_plot, paintings_plot, sources_plot, metrics_df, per_artist_plot,
               named, confusion_plot]
    return outputs, values
