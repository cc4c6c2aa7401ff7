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
from .class_play import CSS as CLASS_PLAY_CSS
from .class_play import seat_state
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


@dataclass
class ClassroomSettings:
    """Classroom mode's options (``app.py --classroom``): the board, the address the app listens on and the link
    students open (when it is not this machine's), the teacher's key (default: the board's), joins a minute from one
    network address, seconds a round, and self-paced play instead of rounds paced by the teacher."""

    board: object  # classroom.Board
    host: str = "127.0.0.1"
    link: str | None = None
    teacher_key: str | None = None
    joins_per_minute: int | None = None
    round_seconds: float | None = None
    self_paced: bool = False

    def classroom(self, quiz: Quiz, served) -> Classroom:
        chosen = {name: value for name, value in (("joins_per_minute", self.joins_per_minute),
                                                  ("round_seconds", self.round_seconds)) if value}
        return Classroom(self.board, quiz, served, self.host, self.link, self.teacher_key,
                         self_paced=self.self_paced, **chosen)


def build_demo(predictor: Predictor, examples_dir: Path | None = None, quiz_dir: Path | None = None,
               concurrency: int | None = None, classroom_settings: ClassroomSettings | None = None) -> App:
    """The whole app for one loaded model (``quiz_dir``: the quiz paintings and their manifest; ``concurrency``:
    requests computed at once, as given to ``launch``; ``classroom_settings`` turn on classroom mode).
    The About tab shows the figures measured on this model that ship in its bundle (``Bundle.measured``)."""
    bundle = predictor.bundle
    quiz = Quiz(predictor, quiz_dir) if quiz_dir else None
    classroom = None
    with gr.Blocks(title="Who painted this?", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(f"# Who painted this?\nDrop a painting to see which of {len(bundle.classes)} famous artists "
                    "most likely painted it — and where the network looked.")
        seat = None
        if classroom_settings is not None and quiz is not None:  # outside the tabs: read from the browser at once
            seat = seat_state(classroom_settings.board)
        with gr.Tabs() as tabs:
            with gr.Tab("Identify", id="identify") as identify_view:
                served = identify_tab(predictor, examples_dir, concurrency or usable_cpus())
            other_tabs = [identify_view]
            if quiz is not None:
                if classroom_settings is not None:
                    classroom = classroom_settings.classroom(quiz, served)
                with gr.Tab("Quiz", id="quiz") as quiz_view:
                    quiz_tab(quiz, bundle.artists, served, demo.load, classroom, seat)
                other_tabs.append(quiz_view)
            with gr.Tab("Training", id="training") as training_view:
                training_outputs, training_data = training_tab(bundle, served)
            with gr.Tab("About", id="about") as about_view:
                gr.Markdown(model_card(bundle, predictor.runtime), elem_id="model-card")
            other_tabs += [training_view, about_view]
            if classroom is not None:  # shown to the teacher's page only (``Classroom.page_role``)
                with gr.Tab("Class", id="class", visible=False) as class_view:
                    key = class_tab(classroom, class_view, other_tabs)
        demo.load(training_data, outputs=training_outputs, api_name="training_data")
        if classroom is not None:  # the join link (?view=quiz) opens the Quiz tab, the teacher's the Class tab
            demo.load(classroom.page_role, outputs=[tabs, class_view, key], api_visibility="private")
    return App(demo, predictor, classroom)


def launch(app: App, host: str, port: int, share: bool = False, concurrency: int | None = None, **kwargs):
    """Start the app with a bounded queue and an upload size cap; ``concurrency`` requests are computed at once (one
    decodes and crops while another uses the model; default: the cores this process may use)."""
    demo = app.demo
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=concurrency or usable_cpus())
    blocking = not kwargs.pop("prevent_thread_lock", False)
    quiet = kwargs.pop("quiet", False)
    result = demo.launch(server_name=host, server_port=port, share=share, max_file_size=MAX_UPLOAD,
                         theme=gr.themes.Soft(primary_hue="amber", secondary_hue="rose"), css=IDENTIFY_CSS + CLASSROOM_CSS + CLASS_PLAY_CSS,
                         footer_links=["api", "gradio"], prevent_thread_lock=True, quiet=True, **kwargs)
    if app.predictor.gallery is not None:  # read once the page is served, not at the first photo
        threading.Thread(target=app.predictor.gallery.load, name="gallery", daemon=True).start()
    if app.classroom is not None and share and demo.share_url and not app.classroom.link:
        app.classroom.link = demo.share_url  # students join through the public link
    if not quiet:
        local = getattr(demo, "local_url", None) or f"http://{host}:{port}/"
        print(started_lines(app, local, demo.share_url if share else None, host, port), flush=True)
    if blocking:
        demo.block_thread()
    return result


def started_lines(app: App, local_url: str, share_url: str | None, host: str, port: int) -> str:
    """What the terminal says once the app serves: where, and in classroom mode the students' and the teacher's
    links, each with what it is for (Gradio's own lines would point to a ``share=True`` that is ``--share`` here)."""
    lines = [f"Running on local URL:  {local_url}"]
    lines.append(f"Running on public URL: {share_url}" if share_url else
                 "For a public link (students outside this network): python app.py --share")
    if app.classroom is not None:
        students, teacher = app.classroom.links(f"localhost:{port}")
        lines += [f"Students join at:  {students}",
                  f"Teacher's page (the projector; keep this link to yourself, it holds the key):  {teacher}"]
    return "\n".join(lines)
