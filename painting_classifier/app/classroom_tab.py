"""Classroom mode in the app (``python app.py --classroom``): students join the quiz with a nickname on their
phones, every answer counts on a board kept in SQLite (``classroom.py``), and the teacher's Class tab shows
on the projector whether the class beat the network, and on which paintings.

Students and the teacher have separate links. The students' (``?view=quiz``) opens the Quiz tab, where they
play (``class_play.py``); the teacher's (``?view=class&key=KEY``) also shows the Class tab, which no other page has.
The key is made with the board and kept in it (``--teacher-key`` sets it); the teacher needs no account.

By default the teacher paces the rounds (``rounds.py``): "Start round" shows the painting on the projector and the
four names on the phones, and the answer comes to everyone at once when the round closes. With ``--self-paced``
(homework) each student goes through the paintings alone.

Teacher's endpoints (each refuses without the key, saying why): ``/class_board`` (the board as JSON: revealed rounds
only), ``/class_new`` (a fresh board), ``/class_open_round``, ``/class_close_round``, ``/class_remove`` (a player).
"""
from __future__ import annotations

import io
import logging
import secrets
import socket

import gradio as gr
import pandas as pd

from .classroom import Board, ClassroomError, Player, RateLimit, Standing, standing
from .quiz import Question, Quiz
from .rounds import LOBBY, OPEN, OVER, ROUND_SECONDS, Pacing, RoundState
from .served_files import ServedImages

log = logging.getLogger(__name__)

BOARD_EVERY = 1.0  # seconds between refreshes of the teacher's board while the Class tab is open
JOINS_PER_MINUTE = 10  # joins one network address may make a minute (--joins-per-minute)
QUIZ_VIEW = "quiz"  # ?view=quiz in the join link opens the Quiz tab
CLASS_VIEW = "class"  # ?view=class&key=KEY: the teacher's page
NOT_THE_TEACHER = ("Only the teacher's page can do this: open the teacher's link, which carries its key (the app "
                   "prints it when it starts).")
CSS = """
#class-score h1 { font-size: 3.2rem; line-height: 1.1; margin: 0; }
#class-score p { font-size: 1.5rem; }
#class-join-link p { font-size: 1.3rem; word-break: break-all; }
#class-round-text h2 { font-size: 2.2rem; margin: 0.2em 0; }
#class-round-text p { font-size: 1.4rem; }
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
                 link: str | None = None, teacher_key: str | None = None, joins_per_minute: int = JOINS_PER_MINUTE,
                 round_seconds: float = ROUND_SECONDS, self_paced: bool = False):
        self.board, self.quiz, self.served = board, quiz, served or ServedImages()
        self.bound_host, self.link = bound_host, link
        self.key = board.teacher_key(teacher_key)
        self.seat_secret = board.seat_secret()
        self.pacing = None if self_paced else Pacing(board, quiz.rounds, round_seconds)
        # per network address, not per page: a fresh browser session is free to make, an address is not
        self.joins = RateLimit(joins_per_minute, 60, "joins", "this network address",
                               "(A whole class behind one school address? The teacher can start the app with "
                               "--joins-per-minute 60.)")
        self.answers = RateLimit(20, 10, "answers")
        self._qr: dict[str, str] = {}
        self._paintings: dict[str, str] = {}  # a round's painting file -> its served copy

    # --- students (``class_play.py`` shows it) -----------------------------------------------------------------

    def join(self, nickname, request: gr.Request | None = None) -> Player:
        """A student joins the current class."""
        self.joins.check(_address(request))
        return self.board.join(nickname)

    def question(self, class_id: int, round_number: int) -> tuple[Question, list[str]]:
        """A class's painting of round ``round_number`` and its four names as shown (the same for the whole class)."""
        game = self.quiz.new_game(seed=class_id)
        return self.quiz.question({**game, "round": round_number})

    def record(self, player: Player, round_number: int, chosen: str, request: gr.Request | None = None) -> bool:
        """Count one answer on the board (paced: only while its round is open); whether it was right."""
        question, choices = self.question(player.class_id, round_number)
        if chosen not in choices:
            raise ClassroomError(f"“{chosen}” is not one of this round's four names: pick one of "
                                 f"{', '.join(choices)}.")
        self.answers.check(_session(request))
        right = chosen == question.artist
        self.board.record(player, round_number, question.file.name, chosen, right, paced=self.pacing is not None)
        if self.pacing is not None:
            self.pacing.state(player.class_id)  # the last answer closes the round at once
        return right

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

    def standing_of(self, class_id: int) -> Standing:
        """A class's board; with paced rounds, the revealed rounds only."""
        revealed = self.pacing.revealed(class_id) if self.pacing is not None else None
        return standing(self.board, class_id, self.model_answers(class_id), revealed)

    def current(self) -> Standing:
        return self.standing_of(self.board.current_class())

    def board_json(self, key: str) -> dict:
        """The current class's board for API clients with the teacher's ``key``."""
        self._teacher_only(key)
        return self._board_of(self.current())

    def _board_of(self, now: Standing) -> dict:
        return {"class": now.class_id, "players": now.players, "answers": now.answers,
                "class_right": now.class_right, "model_right": now.model_right, "per_painting": now.per_painting,
                "ranking": now.ranking}

    def teacher_view(self, key: str, show_ranking: bool, shown_class=None, request: gr.Request | None = None):
        """The Class tab's outputs (teacher's key only): join link, QR code, score, per-painting table, ranking and the
        board of the class chosen in "Board" (the current one by default), the round's painting and words, the
        round buttons, and the boards and players to choose from."""
        self._teacher_only(key)
        host = request.headers.get("host", "localhost") if request is not None else "localhost"
        link, warning = join_link(self.link, host, self.bound_host)
        if link not in self._qr:
            self._qr[link] = self.served.copy(qr_png(link), ".png")
        current = self.board.current_class()
        shown = int(shown_class) if str(shown_class or "").isdigit() else current
        now = self.standing_of(shown)
        return (f"**Join the class:** {link}" + (f"\n\n⚠️ {warning}" if warning else ""), self._qr[link],
                score_text(now, self.pacing is not None) + ("" if shown == current else "\n\n*An earlier class's board.*"),
                per_painting_frame(now), gr.update(value=ranking_frame(now), visible=show_ranking),
                self._board_of(now), *self._round_panel(current),
                gr.Dropdown(choices=self._board_choices(current), value=shown),
                gr.Dropdown(choices=self.board.players(current), value=None))

    def _round_panel(self, class_id: int):
        """The projector's round: its painting, what to say about it, and the teacher's two round buttons."""
        if self.pacing is None:
            return (gr.update(visible=False), "", gr.update(visible=False), gr.update(visible=False))
        state = self.pacing.state(class_id)
        if state.phase == LOBBY:
            return (gr.update(value=None, visible=False), round_text(state, None, None),
                    gr.update(value="Start round 1", visible=True), gr.update(visible=False))
        question, _ = self.question(class_id, state.number)
        painting = gr.update(value=self.painting_file(question), visible=True)
        next_label = "" if state.phase == OVER else f"Start round {state.number + 2}"
        return (painting, round_text(state, question, self.board.answers(class_id, state.number)),
                gr.update(value=next_label or "Next round", visible=state.phase not in (OPEN, OVER)),
                gr.update(visible=state.phase == OPEN))

    def painting_file(self, question: Question) -> str:
        """A served copy of a round's painting (made once)."""
        key = str(question.file)
        if key not in self._paintings:
            self._paintings[key] = self.served.copy(question.file.read_bytes(), question.file.suffix.lower())
        return self._paintings[key]

    def _board_choices(self, current: int) -> list[tuple[str, str]]:
        return [(f"Class {cid}{' (now)' if cid == current else ''} · started {started[:16].replace('T', ' ')} UTC · "
                 f"{players} player{'s' if players != 1 else ''}", str(cid))
                for cid, started, players in self.board.classes()]

    def new_class(self, key: str, show_ranking: bool, request: gr.Request | None = None):
        """A fresh board (teacher's key only); the Class tab's outputs for it."""
        self._teacher_only(key)
        self.board.new_class()
        return self.teacher_view(key, show_ranking, None, request)

    def open_round(self, key: str) -> dict:
        """The teacher opens the next round; the round now, as JSON."""
        return self._round_call(key, lambda class_id: self.pacing.open_next(class_id))

    def close_round(self, key: str) -> dict:
        """The teacher closes the open round before its time is up: everyone sees the answer."""
        return self._round_call(key, lambda class_id: self.pacing.close_now(class_id))

    def _round_call(self, key: str, act) -> dict:
        self._teacher_only(key)
        if self.pacing is None:
            raise gr.Error("The class plays at its own pace (--self-paced): there are no rounds to start.",
                           print_exception=False)
        try:
            state = act(self.board.current_class())
        except ClassroomError as exc:
            raise gr.Error(str(exc), title="Round", print_exception=False) from None
        return state.__dict__

    def remove(self, key: str, nickname: str) -> list[str]:
        """The teacher takes a player off the current board; the players left."""
        self._teacher_only(key)
        class_id = self.board.current_class()
        if not nickname or not self.board.remove(class_id, str(nickname)):
            raise gr.Error(f"No player called “{nickname}” on this board.", print_exception=False)
        log.info("the teacher removed a player from class %s", class_id)
        return self.board.players(class_id)


def _address(request: gr.Request | None) -> str:
    """The network address a request came from (a proxy's, behind one: then the whole class shares it)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "anonymous"


def score_text(now: Standing, paced: bool = False) -> str:
    """The projector's headline: the class's accuracy against the model's, and the number of players."""
    players = f"{len(now.players)} player{'s' if len(now.players) != 1 else ''}"
    if not now.answers:
        if paced:
            return f"### Class against model: the score comes with the first answer\n{players} joined."
        return f"# Waiting for answers\n{players} joined. Scan the code or open the link to play."
    verdict = ("The class is ahead!" if now.class_right > now.model_right else
               "A draw so far." if now.class_right == now.model_right else "The model is ahead.")
    return (f"# Class {now.class_accuracy:.0%} · Model {now.model_accuracy:.0%}\n"
            f"{players}, {now.answers} answers. {verdict}")


def round_text(state: RoundState, question: Question | None, answers: list | None) -> str:
    """What the projector says about the round: how to start, the time left and answers in, or the answer."""
    if state.phase == LOBBY:
        return (f"## Ready for round 1 of {state.rounds}\n{state.players} joined. Press **Start round 1** when "
                "everyone is in.")
    head = f"## Round {state.number + 1} of {state.rounds}"
    if state.phase == OPEN:
        return (f"{head} · {state.seconds_left} s\nWho painted this? Answer on your phone. "
                f"{state.answered} of {state.players} answered.")
    right = sum(a[4] for a in answers or [])
    model = "right ✓" if question.model_guess == question.artist else "wrong ✗"
    return (f"{head}: painted by **{question.artist}**\nThe model said {question.model_guess} "
            f"({question.model_probability:.0%}), {model}. Students: {right} of {len(answers or [])} right."
            + ("\n\nThat was the last painting." if state.phase == OVER else ""))


def per_painting_frame(now: Standing) -> pd.DataFrame:
    return pd.DataFrame([{"Round": r["round"], "Painter": r["painter"],
                          "Students right": f"{r['right']} of {r['answered']}",
                          "Model said": r["model_guess"] + (" ✓" if r["model_right"] else " ✗")}
                         for r in now.per_painting], columns=["Round", "Painter", "Students right", "Model said"])


def ranking_frame(now: Standing) -> pd.DataFrame:
    return pd.DataFrame([{"#": i, "Nickname": r["nickname"], "Right": r["right"], "Answered": r["answered"]}
                         for i, r in enumerate(now.ranking, start=1)], columns=["#", "Nickname", "Right", "Answered"])


def class_tab(classroom: Classroom, tab: gr.Tab, other_tabs: list[gr.Tab]) -> gr.Textbox:
    """The teacher's Class tab (the projector): link and QR code, the round (its painting, the time left, the answer)
    with "Start round" and "Show the answer now", live score, per-painting results, ranking, a player's removal, the
    boards of earlier classes, and "New class" (after a confirmation). It refreshes every ``BOARD_EVERY`` seconds
    while open. Returns the hidden box that holds the teacher's key on the teacher's page (empty on every other)."""
    key = gr.Textbox(visible=False, elem_id="class-key")
    with gr.Row():
        with gr.Column(scale=1, min_width=240):
            link = gr.Markdown(elem_id="class-join-link")
            qr = gr.Image(label="Scan to join", interactive=False, height=260, elem_id="class-qr",
                          show_label=True, buttons=[])
            with gr.Accordion("Teacher's tools", open=False, elem_id="class-tools"):
                show_ranking = gr.Checkbox(value=True, label="Show the ranking of nicknames",
                                           elem_id="class-show-ranking")
                with gr.Row():
                    player = gr.Dropdown(label="Player", choices=[], elem_id="class-player", scale=3,
                                         allow_custom_value=True)
                    remove = gr.Button("Remove from the board", elem_id="class-remove", scale=2)
                shown_class = gr.Dropdown(label="Board", choices=[], elem_id="class-boards", allow_custom_value=True)
                new_button = gr.Button("New class", elem_id="class-new")
                with gr.Group(visible=False, elem_id="class-new-confirm-box") as confirm_box:
                    gr.Markdown("**Start a new class?** This board is kept; students playing now are moved to the "
                                "new one.")
                    with gr.Row():
                        confirm = gr.Button("Yes, start a new class", variant="stop", elem_id="class-new-confirm")
                        cancel = gr.Button("Cancel", elem_id="class-new-cancel")
        with gr.Column(scale=2, min_width=300):
            round_text_box = gr.Markdown(elem_id="class-round-text")
            with gr.Row():
                open_round = gr.Button("Start round 1", variant="primary", elem_id="class-open-round",
                                       visible=classroom.pacing is not None)
                close_round = gr.Button("Show the answer now", elem_id="class-close-round", visible=False)
            round_painting = gr.Image(label="This round's painting", interactive=False, height=480, visible=False,
                                      elem_id="class-round-painting", buttons=[])
            score = gr.Markdown(elem_id="class-score")
            paintings = gr.Dataframe(label="Per painting (rounds revealed)", interactive=False,
                                     elem_id="class-paintings", wrap=True)
            ranking = gr.Dataframe(label="Ranking", interactive=False, elem_id="class-ranking")
    board = gr.JSON(visible=False)
    timer = gr.Timer(BOARD_EVERY, active=False)
    outputs = [link, qr, score, paintings, ranking, board, round_painting, round_text_box, open_round, close_round,
               shown_class, player]
    view = [key, show_ranking, shown_class]
    tab.select(classroom.teacher_view, inputs=view, outputs=outputs, api_visibility="private")
    tab.select(lambda: gr.Timer(active=True), outputs=[timer], api_visibility="private")
    for other in other_tabs:
        other.select(lambda: gr.Timer(active=False), outputs=[timer], api_visibility="private")
    # the refresh leaves the two dropdowns alone, so a choice being made is not reset under the teacher's finger
    gr.on([timer.tick, show_ranking.change, shown_class.input], lambda *args: classroom.teacher_view(*args)[:-2],
          inputs=view, outputs=outputs[:-2], api_visibility="private", show_progress="hidden")
    open_round.click(classroom.open_round, inputs=[key], outputs=[board], api_name="class_open_round").then(
        classroom.teacher_view, inputs=view, outputs=outputs, api_visibility="private")
    close_round.click(classroom.close_round, inputs=[key], outputs=[board], api_name="class_close_round").then(
        classroom.teacher_view, inputs=view, outputs=outputs, api_visibility="private")
    remove.click(classroom.remove, inputs=[key, player], outputs=[board], api_visibility="private").then(
        classroom.teacher_view, inputs=view, outputs=outputs, api_visibility="private")
    # a board a whole class has played is not wiped by one stray tap: New class asks first
    new_button.click(lambda: gr.Group(visible=True), outputs=[confirm_box], api_visibility="private")
    cancel.click(lambda: gr.Group(visible=False), outputs=[confirm_box], api_visibility="private")
    confirm.click(classroom.new_class, inputs=[key, show_ranking], outputs=outputs, api_name="class_new").then(
        lambda: gr.Group(visible=False), outputs=[confirm_box], api_visibility="private")
    gr.api(classroom.board_json, api_name="class_board")
    gr.api(classroom.remove, api_name="class_remove")
    return key
