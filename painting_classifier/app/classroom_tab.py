"""Classroom mode in the app (``python app.py --classroom``): students join the quiz with a nickname on their
phones, every answer counts on a board kept in SQLite (``classroom.py``), and the teacher's Class tab shows
on the projector whether the class beat the network, and on which paintings.

Students and the teacher have separate links. The students' (``?view=quiz``) opens the Quiz tab; the teacher's
(``?view=class&key=KEY``) also shows the Class tab, which no other page has. The key is made with the board and
kept in it (``--teacher-key`` sets it); the teacher needs no account.

Endpoints: ``/class_join`` (nickname; the session then plays the class's ten paintings through
``/quiz_answer`` and ``/quiz_next``), and with the teacher's key ``/class_board`` (the board as JSON) and
``/class_new`` (a fresh board). Without the key they refuse, saying why.
"""
from __future__ import annotations

import io
import logging
import secrets
import socket

import gradio as gr
import pandas as pd

from .classroom import Board, ClassroomError, Player, RateLimit, Standing, shown_nickname, standing
from .quiz import Quiz
from .served_files import ServedImages

log = logging.getLogger(__name__)

BOARD_EVERY = 2.0  # seconds between refreshes of the teacher's board while the Class tab is open
JOINS_PER_MINUTE = 10  # joins one network address may make a minute (--joins-per-minute)
QUIZ_VIEW = "quiz"  # ?view=quiz in the join link opens the Quiz tab
CLASS_VIEW = "class"  # ?view=class&key=KEY: the teacher's page
NOT_THE_TEACHER = ("Only the teacher's page can do this: open the teacher's link, which carries its key (the app "
                   "prints it when it starts).")
CSS = """
#class-score h1 { font-size: 3.2rem; line-height: 1.1; margin: 0; }
#class-score p { font-size: 1.5rem; }
#class-join-link p { font-size: 1.3rem; word-break: break-all; }
"""


def lan_address() -> str | None:
    """This machine's address on the local network (no packet is sent), or None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return None


def join_link(fixed: str | None, host_header: str, bound_host: str) -> tuple[str, str]:
    """(the link students open, a warning when their phones probably cannot reach it): ``fixed`` (--share or
    --classroom-url) when set, else the address the teacher's browser used, with this machine's local network
    address instead of localhost when the app listens on every interface."""
    base, warning = app_address(fixed, host_header, bound_host)
    return f"{base}/?view={QUIZ_VIEW}", warning


def app_address(fixed: str | None, host_header: str, bound_host: str) -> tuple[str, str]:
    """(the app's address as phones would open it, a warning when they probably cannot): see ``join_link``."""
    if fixed:
        return fixed.rstrip("/"), ""
    host, _, port = host_header.partition(":")
    local = host in ("localhost", "127.0.0.1", "::1", "[::1]")
    if local and bound_host in ("0.0.0.0", "::", ""):
        host = lan_address() or host
        local = host.startswith("127.")
    link = f"http://{host}{':' + port if port else ''}"
    warning = ("Phones cannot reach this address: start the app with `--host 0.0.0.0` (school network) or `--share`."
               if local else "")
    return link, warning


def qr_png(link: str) -> bytes:
    """A QR code of ``link`` as PNG bytes, made locally (segno: pure Python, no network)."""
    import segno

    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=10, border=2)
    return buffer.getvalue()


class Classroom:
    """What classroom mode's events share: the board, the quiz, the join link and the flood limits."""

    def __init__(self, board: Board, quiz: Quiz, served: ServedImages | None = None, bound_host: str = "127.0.0.1",
                 link: str | None = None, teacher_key: str | None = None, joins_per_minute: int = JOINS_PER_MINUTE):
        self.board, self.quiz, self.served = board, quiz, served or ServedImages()
        self.bound_host, self.link = bound_host, link
        self.key = board.teacher_key(teacher_key)
        # per network address, not per page: a fresh browser session is free to make, an address is not
        self.joins = RateLimit(joins_per_minute, 60, "joins", "this network address",
                               "(A whole class behind one school address? The teacher can start the app with "
                               "--joins-per-minute 60.)")
        self.answers = RateLimit(20, 10, "answers")
        self._qr: dict[str, str] = {}

    # --- students ---------------------------------------------------------------------------------------------

    def join(self, nickname, request: gr.Request | None = None):
        """A student joins the current class: (player, the class's game)."""
        try:
            self.joins.check(_address(request))
            player = self.board.join(nickname)
        except ClassroomError as exc:
            log.warning("a join was refused: %s", exc)  # one line, not a traceback per refusal
            raise gr.Error(str(exc), title="Can't join", print_exception=False) from None
        game = self.quiz.new_game(seed=player.class_id)  # the same paintings in the same order for the class
        return {"id": player.id, "class_id": player.class_id, "nickname": player.nickname}, game

    def record(self, player: dict, game: dict, chosen: str, right: bool, request: gr.Request | None = None) -> str:
        """Count one answer on the board; what the class has said on this painting so far (shown after answering)."""
        question, _ = self.quiz.question(game)
        try:
            self.answers.check(_session(request))
            self.board.record(Player(**player), game["round"], question.file.name, chosen, right)
        except ClassroomError as exc:
            raise gr.Error(str(exc), title="Answer not counted", print_exception=False) from None
        rows = self.board.answers(player["class_id"], game["round"])
        return (f"\n\n**Your class so far:** {sum(r[4] for r in rows)} of {len(rows)} right on this painting "
                f"(you are {shown_nickname(player['nickname'])}).")

    # --- the teacher ------------------------------------------------------------------------------------------

    def is_teacher(self, key) -> bool:
        return isinstance(key, str) and bool(key) and secrets.compare_digest(key.encode(), self.key.encode())

    def _teacher_only(self, key) -> None:
        if not self.is_teacher(key):
            raise gr.Error(NOT_THE_TEACHER, title="Teacher's page only", print_exception=False)

    def links(self, host_header: str) -> tuple[str, str]:
        """(the students' join link, the teacher's link with its key) as phones on ``host_header`` would open them."""
        base, _ = app_address(self.link, host_header, self.bound_host)
        return f"{base}/?view={QUIZ_VIEW}", f"{base}/?view={CLASS_VIEW}&key={self.key}"

    def page_role(self, request: gr.Request | None = None):
        """On page load: the tab the link opens; the Class tab and the key for the teacher's page only."""
        params = request.query_params if request is not None else {}
        teacher = self.is_teacher(params.get("key"))
        view = params.get("view")
        selected = view if view == QUIZ_VIEW or (view == CLASS_VIEW and teacher) else None
        return (gr.Tabs(selected=selected) if selected else gr.Tabs(), gr.Tab(visible=teacher),
                self.key if teacher else "")

    def model_answers(self, class_id: int) -> dict[str, tuple[str, str, bool]]:
        """Painting file name -> (painter, the model's guess, right) for a class's paintings."""
        order = self.quiz.new_game(seed=class_id)["order"]
        questions = [self.quiz.question_of(i) for i in order]
        return {q.file.name: (q.artist, q.model_guess, q.model_guess == q.artist) for q in questions}

    def current(self) -> Standing:
        class_id = self.board.current_class()
        return standing(self.board, class_id, self.model_answers(class_id))

    def board_json(self, key: str) -> dict:
        """The current class's board for API clients with the teacher's ``key``."""
        self._teacher_only(key)
        return self._board_of(self.current())

    def _board_of(self, now: Standing) -> dict:
        return {"class": now.class_id, "players": now.players, "answers": now.answers,
                "class_right": now.class_right, "model_right": now.model_right, "per_painting": now.per_painting,
                "ranking": now.ranking}

    def teacher_view(self, key: str, show_ranking: bool, request: gr.Request | None = None):
        """The Class tab's outputs: join link, QR code, score, per-painting table, ranking (teacher's key only)."""
        self._teacher_only(key)
        host = request.headers.get("host", "localhost") if request is not None else "localhost"
        link, warning = join_link(self.link, host, self.bound_host)
        if link not in self._qr:
            self._qr[link] = self.served.copy(qr_png(link), ".png")
        now = self.current()
        return (f"**Join the class:** {link}" + (f"\n\n⚠️ {warning}" if warning else ""), self._qr[link],
                score_text(now), per_painting_frame(now), gr.update(value=ranking_frame(now), visible=show_ranking),
                self._board_of(now))

    def new_class(self, key: str, show_ranking: bool, request: gr.Request | None = None):
        """A fresh board (teacher's key only); the Class tab's outputs for it."""
        self._teacher_only(key)
        self.board.new_class()
        return self.teacher_view(key, show_ranking, request)


def _address(request: gr.Request | None) -> str:
    """The network address a request came from (a proxy's, behind one: then the whole class shares it)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "anonymous"


def score_text(now: Standing) -> str:
    """The projector's headline: the class's accuracy against the model's, and the number of players."""
    players = f"{len(now.players)} player{'s' if len(now.players) != 1 else ''}"
    if not now.answers:
        return f"# Waiting for answers\n{players} joined. Scan the code or open the link to play."
    verdict = ("The class is ahead!" if now.class_right > now.model_right else
               "A draw so far." if now.class_right == now.model_right else "The model is ahead.")
    return (f"# Class {now.class_accuracy:.0%} · Model {now.model_accuracy:.0%}\n"
            f"{players}, {now.answers} answers. {verdict}")


def per_painting_frame(now: Standing) -> pd.DataFrame:
    return pd.DataFrame([{"Round": r["round"], "Painter": r["painter"],
                          "Students right": f"{r['right']} of {r['answered']}",
                          "Model said": r["model_guess"] + (" ✓" if r["model_right"] else " ✗")}
                         for r in now.per_painting], columns=["Round", "Painter", "Students right", "Model said"])


def ranking_frame(now: Standing) -> pd.DataFrame:
    return pd.DataFrame([{"#": i, "Nickname": r["nickname"], "Right": r["right"], "Answered": r["answered"]}
                         for i, r in enumerate(now.ranking, start=1)], columns=["#", "Nickname", "Right", "Answered"])


def class_tab(classroom: Classroom, tab: gr.Tab, other_tabs: list[gr.Tab]) -> gr.Textbox:
    """The teacher's Class tab (the projector): link and QR code, live score, per-painting results, ranking,
    "New class" (after a confirmation). The board refreshes every ``BOARD_EVERY`` seconds while this tab is open. Returns the hidden box
    that holds the teacher's key on the teacher's page (empty on every other)."""
    key = gr.Textbox(visible=False, elem_id="class-key")
    with gr.Row():
        with gr.Column(scale=1, min_width=240):
            link = gr.Markdown(elem_id="class-join-link")
            qr = gr.Image(label="Scan to join", interactive=False, height=260, elem_id="class-qr",
                          show_label=True, buttons=[])
            new_button = gr.Button("New class", elem_id="class-new")
            with gr.Group(visible=False, elem_id="class-new-confirm-box") as confirm_box:
                gr.Markdown("**Start a new class?** This board is kept; everyone joins the new one again.")
                with gr.Row():
                    confirm = gr.Button("Yes, start a new class", variant="stop", elem_id="class-new-confirm")
                    cancel = gr.Button("Cancel", elem_id="class-new-cancel")
            show_ranking = gr.Checkbox(value=True, label="Show the ranking of nicknames", elem_id="class-show-ranking")
        with gr.Column(scale=2, min_width=300):
            score = gr.Markdown(elem_id="class-score")
            paintings = gr.Dataframe(label="Per painting", interactive=False, elem_id="class-paintings", wrap=True)
            ranking = gr.Dataframe(label="Ranking", interactive=False, elem_id="class-ranking")
    board = gr.JSON(visible=False)
    timer = gr.Timer(BOARD_EVERY, active=False)
    outputs = [link, qr, score, paintings, ranking, board]
    tab.select(classroom.teacher_view, inputs=[key, show_ranking], outputs=outputs, api_visibility="private")
    tab.select(lambda: gr.Timer(active=True), outputs=[timer], api_visibility="private")
    for other in other_tabs:
        other.select(lambda: gr.Timer(active=False), outputs=[timer], api_visibility="private")
    gr.on([timer.tick, show_ranking.change], classroom.teacher_view, inputs=[key, show_ranking], outputs=outputs,
          api_visibility="private", show_progress="hidden")
    # a board a whole class has played is not wiped by one stray tap: New class asks first
    new_button.click(lambda: gr.Group(visible=True), outputs=[confirm_box], api_visibility="private")
    cancel.click(lambda: gr.Group(visible=False), outputs=[confirm_box], api_visibility="private")
    confirm.click(classroom.new_class, inputs=[key, show_ranking], outputs=outputs, api_name="class_new").then(
        lambda: gr.Group(visible=False), outputs=[confirm_box], api_visibility="private")
    gr.api(classroom.board_json, api_name="class_board")
    return key
