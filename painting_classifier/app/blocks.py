"""The Gradio app: Identify (top-k artists, artist card, where the model looked), Quiz (can you beat the model?),
Training (how it learned), About, and with classroom mode the teacher's Class tab.

Each tab has its own module; ``build_demo`` puts them together and ``launch`` starts them.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ..serving.cpus import usable_cpus
from ..serving.predict import Predictor
from .cards import model_card
from .classroom_tab import CSS as CLASSROOM_CSS
from .classroom_tab import Classroom, class_tab
from .identify_tab import CSS as IDENTIFY_CSS
from .identify_tab import QUEUE_SIZE, identify_tab
from .quiz import Quiz
from .quiz_tab import quiz_tab
from .training_tab import training_tab

MAX_UPLOAD = "25mb"


@dataclass
class App:
    """The built app: its Blocks, its predictor, and classroom mode's state when it is on (``launch`` sets its link)."""

    demo: gr.Blocks
    predictor: Predictor
    classroom: Classroom | None = None


def build_demo(predictor: Predictor, examples_dir: Path | None = None, quiz_dir: Path | None = None,
               concurrency: int | None = None, classroom_board=None, classroom_host: str = "127.0.0.1",
               classroom_link: str | None = None) -> App:
    """The whole app for one loaded model (``quiz_dir``: the quiz paintings and their manifest; ``concurrency``:
    requests computed at once, as given to ``launch``; ``classroom_board``: a ``classroom.Board`` turns on classroom
    mode, with the join link made from ``classroom_link`` or the address the app listens on, ``classroom_host``).
    The About tab shows the figures measured on this model that ship in its bundle (``Bundle.measured``)."""
    bundle = predictor.bundle
    quiz = Quiz(predictor, quiz_dir) if quiz_dir else None
    classroom = None
    with gr.Blocks(title="Who painted this?", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(f"# Who painted this?\nDrop a painting to see which of {len(bundle.classes)} famous artists "
                    "most likely painted it — and where the network looked.")
        with gr.Tabs() as tabs:
            with gr.Tab("Identify", id="identify") as identify_view:
                served = identify_tab(predictor, examples_dir, concurrency or usable_cpus())
            other_tabs = [identify_view]
            if quiz is not None:
                if classroom_board is not None:
                    classroom = Classroom(classroom_board, quiz, served, classroom_host, classroom_link)
                with gr.Tab("Quiz", id="quiz") as quiz_view:
                    quiz_tab(quiz, bundle.artists, served, demo.load, classroom)
                other_tabs.append(quiz_view)
            with gr.Tab("Training", id="training") as training_view:
                training_outputs, training_data = training_tab(bundle, served)
            with gr.Tab("About", id="about") as about_view:
                gr.Markdown(model_card(bundle, predictor.runtime), elem_id="model-card")
            other_tabs += [training_view, about_view]
            if classroom is not None:
                with gr.Tab("Class", id="class") as class_view:
                    class_tab(classroom, class_view, other_tabs)
        demo.load(training_data, outputs=training_outputs, api_name="training_data")
        if classroom is not None:  # the join link (?view=quiz) opens the Quiz tab
            demo.load(_opened_tab, outputs=[tabs], api_visibility="private")
    return App(demo, predictor, classroom)


def _opened_tab(request: gr.Request):
    view = request.query_params.get("view") if request is not None else None
    return gr.Tabs(selected=view) if view in ("quiz", "class") else gr.Tabs()


def launch(app: App, host: str, port: int, share: bool = False, concurrency: int | None = None, **kwargs):
    """Start the app with a bounded queue and an upload size cap; ``concurrency`` requests are computed at once (one
    decodes and crops while another uses the model; default: the cores this process may use)."""
    demo = app.demo
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=concurrency or usable_cpus())
    blocking = not kwargs.pop("prevent_thread_lock", False)
    result = demo.launch(server_name=host, server_port=port, share=share, max_file_size=MAX_UPLOAD,
                         theme=gr.themes.Soft(primary_hue="amber", secondary_hue="rose"), css=IDENTIFY_CSS + CLASSROOM_CSS,
                         footer_links=["api", "gradio"], prevent_thread_lock=True, **kwargs)
    if app.predictor.gallery is not None:  # read once the page is served, not at the first photo
        threading.Thread(target=app.predictor.gallery.load, name="gallery", daemon=True).start()
    if app.classroom is not None and share and demo.share_url and not app.classroom.link:
        app.classroom.link = demo.share_url  # students join through the public link
    if blocking:
        demo.block_thread()
    return result
