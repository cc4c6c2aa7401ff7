"""A student's page in classroom mode: join with a nickname, then answer each round with one tap on four big names.

The seat is a signed token kept in the browser (``seats.py``), and everything else (the round, the answer given,
the score) is read from the board, so a reload or an app restart carries on where the student was. With paced
rounds (``rounds.py``) the phone shows the round's four names while the projector shows its painting, and the answer
only once the round has closed; with ``--self-paced`` the phone shows the painting too, and a round's answer right
after answering it. The page asks the board every ``POLL_EVERY`` seconds.

Endpoints: ``/class_join`` (nickname -> seat, round), ``/class_round`` (seat -> the round as this student may see
it), ``/class_answer`` (seat, name -> round), ``/class_next`` (seat -> the next painting; self-paced).
"""
from __future__ import annotations

import logging

import gradio as gr
import pandas as pd

from .cards import artist_line
from .classroom import ClassroomError, Player, shown_nickname
from .classroom_tab import Classroom
from .rounds import LOBBY, OPEN, OVER, REVEALED
from .seats import STORAGE_KEY, seat_token, seated_player

log = logging.getLogger(__name__)

POLL_EVERY = 1.0  # seconds between a phone's looks at the board
ANSWERS_AT_ONCE = 8  # answers, joins and polls computed at once (light: SQLite and a cached quiz)
WAITING, ANSWERED = "waiting", "answered"
CSS = """
.class-choice button, button.class-choice { min-height: 4.2rem; font-size: 1.25rem; white-space: normal; }
#class-status h3 { margin: 0.2em 0; }
"""


class ClassPlay:
    """What a student's page does, on the board of ``classroom``."""

    def __init__(self, classroom: Classroom, artists: pd.DataFrame):
        self.classroom, self.board, self.quiz = classroom, classroom.board, classroom.quiz
        self.rows = artists.set_index("name", drop=False)

    @property
    def paced(self) -> bool:
        return self.classroom.pacing is not None

    # --- the round as this student may see it ------------------------------------------------------------------

    def seated(self, token) -> Player | None:
        return seated_player(self.board, token, self.classroom.seat_secret)

    def round_of(self, player: Player, showing: int | None = None) -> dict:
        """The "Class round" a student sees: phase, round (1-based), the four names while they may answer, and the
        answer only once it may be shown (paced: the round has closed; self-paced: the student has answered it)."""
        answered = self.board.answered_rounds(player.id)
        if self.paced:
            state = self.classroom.pacing.state(player.class_id)
            if state.phase == LOBBY:
                return {"phase": WAITING, "round": 1, "of": state.rounds, "nickname": player.nickname}
            number, seconds = state.number, state.seconds_left
            phase = ((ANSWERED if number in answered else OPEN) if state.phase == OPEN else REVEALED)
            over = state.phase == OVER
        else:
            unanswered = [r for r in range(self.quiz.rounds) if r not in answered]
            number = showing if showing is not None and showing in answered else (unanswered or [None])[0]
            if number is None:
                number, phase, over = self.quiz.rounds - 1, REVEALED, True
            else:
                phase, over = (REVEALED if number in answered else OPEN), not unanswered
            seconds = None
        question, choices = self.classroom.question(player.class_id, number)
        found = {"phase": phase, "round": number + 1, "of": self.quiz.rounds, "nickname": player.nickname,
                 "choices": choices if phase in (OPEN, ANSWERED) else [], "over": over}
        if seconds is not None and phase in (OPEN, ANSWERED):
            found["seconds_left"] = seconds
        if number in answered:
            found["you_chose"] = answered[number][0]
        if phase == REVEALED:
            found.update(self._revealed(player, question, number, answered))
        return found

    def _revealed(self, player: Player, question, number: int, answered: dict) -> dict:
        rows = self.board.answers(player.class_id, number)
        shown = self.classroom.pacing.revealed(player.class_id) if self.paced else set(answered)
        score = [ok for r, (_, ok) in answered.items() if r in shown]
        return {"answer": question.artist, "you_right": bool(answered.get(number, ("", False))[1]),
                "model_guess": question.model_guess, "model_probability": round(question.model_probability, 4),
                "model_right": question.model_guess == question.artist,
                "class_right": sum(r[4] for r in rows), "class_answered": len(rows),
                "your_score": sum(score), "your_answers": len(score)}

    # --- the endpoints -----------------------------------------------------------------------------------------

    def join(self, nickname: str, request: gr.Request | None = None) -> tuple[str, dict]:
        """(the seat token to keep, the round) for a new player."""
        try:
            player = self.classroom.join(nickname, request)
        except ClassroomError as exc:
            log.warning("a join was refused: %s", exc)  # one line, not a traceback per refusal
            raise gr.Error(str(exc), title="Can't join", print_exception=False) from None
        return seat_token(player, self.classroom.seat_secret), self.round_of(player)

    def look(self, token: str | None) -> dict:
        """The round now, for the seat ``token``."""
        return self.round_of(self._player(token))

    def answer(self, token: str | None, chosen: str | None, request: gr.Request | None = None) -> dict:
        """Answer the round now with ``chosen``; the round as the student may see it after."""
        player = self._player(token)
        now = self.round_of(player)
        if now["phase"] != OPEN:
            message = {WAITING: "The round has not started: watch the screen.",
                       ANSWERED: "You have answered this round: wait for the answer."}.get(
                now["phase"], "This round is closed: its answer is on the screen.")
            raise gr.Error(message, title="Not now", print_exception=False)
        try:
            self.classroom.record(player, now["round"] - 1, str(chosen or ""), request)
        except ClassroomError as exc:
            raise gr.Error(str(exc), title="Answer not counted", print_exception=False) from None
        return self.round_of(player, showing=now["round"] - 1)

    def next_painting(self, token: str | None) -> dict:
        """Self-paced: the next painting the student has not answered."""
        return self.round_of(self._player(token))

    def _player(self, token) -> Player:
        try:
            player = self.seated(token)
        except ClassroomError as exc:
            raise gr.Error(str(exc), title="Join again", print_exception=False) from None
        if player is None:
            raise gr.Error("Join the class first: type a nickname and press Join.", title="Not joined",
                           print_exception=False)
        return player

    # --- the page ----------------------------------------------------------------------------------------------

    def page(self, token, shown, view: dict | None = None, message: str = ""):
        """Every output of the page for the seat ``token`` (``view``: the round, when already known); ``shown``: what
        the page shows now, so the names and the painting are only sent again when the round changes."""
        try:
            player = self.seated(token)
        except ClassroomError as exc:
            player, message = None, str(exc)
        if player is None:
            return (None, None, gr.update(visible=True), gr.update(visible=False), message, *[gr.skip()] * 8)
        view = view or self.round_of(player)
        key = (player.id, view["round"], view["phase"])
        same = shown is not None and tuple(shown) == key
        buttons = [gr.skip()] * 4 if same else self._buttons(view)
        painting = gr.skip() if same or self.paced else self._painting(player, view)
        moved = player.id != int(str(token).partition(".")[0])
        joined = (f"You play as **{shown_nickname(player.nickname)}**."
                  + (" The teacher started a new class: you are on its board now." if moved else ""))
        return (seat_token(player, self.classroom.seat_secret), list(key), gr.update(visible=False),
                gr.update(visible=True), joined, status_text(view, self.paced), *buttons, painting,
                gr.skip() if same else reveal_text(view, self.rows),
                gr.update(visible=not self.paced and view["phase"] == REVEALED and not view["over"]))

    def _buttons(self, view: dict) -> list:
        names = view.get("choices") or []
        return [gr.update(value=names[i], visible=True, interactive=view["phase"] == OPEN,
                          variant="primary" if names[i] == view.get("you_chose") else "secondary")
                if i < len(names) else gr.update(visible=False) for i in range(4)]

    def _painting(self, player: Player, view: dict):
        question, _ = self.classroom.question(player.class_id, view["round"] - 1)
        return self.classroom.painting_file(question)

    def join_page(self, nickname, request: gr.Request | None = None):
        token, view = self.join(nickname, request)
        return self.page(token, None, view)

    def answer_page(self, token, shown, chosen, request: gr.Request | None = None):
        return self.page(token, shown, self.answer(token, chosen, request))

    def look_page(self, token, shown):
        if not self.paced and shown and shown[2] == REVEALED:  # self-paced: the answer stays until "Next painting"
            try:
                player = self.seated(token)
            except ClassroomError:
                player = None
            if player is not None and player.id == shown[0]:
                return self.page(token, shown, self.round_of(player, showing=shown[1] - 1))
        return self.page(token, shown)

    def next_page(self, token, shown):
        return self.page(token, shown, self.next_painting(token))


def status_text(view: dict, paced: bool) -> str:
    """The line at the top of the student's page: where the game is and what to do."""
    where = f"Round {view['round']} of {view['of']}"
    if view["phase"] == WAITING:
        return f"### {where} starts soon\nWatch the screen at the front: the teacher starts each round."
    if view["phase"] == OPEN:
        if not paced:
            return f"### Painting {view['round']} of {view['of']}\nWho painted this? Tap a name."
        return f"### {where} · {view['seconds_left']} s left\nWho painted the painting on the screen? Tap a name."
    if view["phase"] == ANSWERED:
        return (f"### {where} · answer recorded\nYou said **{view['you_chose']}**. The answer comes when the round "
                f"closes ({view['seconds_left']} s at most, or when everyone has answered).")
    end = " That was the last painting." if view["over"] else (" Next round soon." if paced else "")
    return f"### {where} · the answer\nYour score: {view['your_score']} of {view['your_answers']}.{end}"


def reveal_text(view: dict, rows: pd.DataFrame) -> str:
    """The answer, once it may be shown: right or not, the painter with a short bio, the model, the class."""
    if view["phase"] != REVEALED:
        return ""
    you = ("**Right!**" if view["you_right"] else "**Not this time.**") if "you_chose" in view else \
        "**You did not answer this one.**"
    painter = artist_line(rows.loc[view["answer"]]) if view["answer"] in rows.index else f"**{view['answer']}**."
    model = "right" if view["model_right"] else "wrong"
    return (f"{you} It was painted by {painter}\n\nThe model said **{view['model_guess']}** "
            f"({view['model_probability']:.0%}), {model}. Your class: {view['class_right']} of "
            f"{view['class_answered']} right.")


def seat_state(board) -> gr.BrowserState:
    """Where the browser keeps the student's seat (its local storage). Made outside the tabs, so that the page reads it
    as it opens; its key and secret are fixed, so that a restarted app finds it."""
    return gr.BrowserState(None, storage_key=STORAGE_KEY, secret=board.seat_secret())


def class_play(play: ClassPlay, page_load, seat: gr.BrowserState) -> None:
    """The student's page inside the Quiz tab: join, status, four answer buttons, the answer; the seat kept in the
    browser (``seat``); a look at the board every ``POLL_EVERY`` seconds."""
    shown = gr.State(None)
    with gr.Group(elem_id="class-join") as join_box:
        nickname = gr.Textbox(label="Your nickname (1 to 20 characters)", elem_id="class-nickname")
        join_button = gr.Button("Join the class", variant="primary", elem_id="class-join-button")
    with gr.Column(visible=False, elem_id="class-play") as play_area:
        joined = gr.Markdown(elem_id="class-joined")
        status = gr.Markdown(elem_id="class-status")
        with gr.Row(equal_height=True):
            with gr.Column(min_width=160):
                choices = [gr.Button(visible=False, elem_id=f"class-choice-{i}", elem_classes="class-choice")
                           for i in range(2)]
            with gr.Column(min_width=160):
                choices += [gr.Button(visible=False, elem_id=f"class-choice-{i}", elem_classes="class-choice")
                            for i in range(2, 4)]
        painting = gr.Image(label="Who painted this?", interactive=False, height=420, visible=not play.paced,
                            elem_id="class-painting", buttons=[])
        reveal = gr.Markdown(elem_id="class-reveal")
        next_button = gr.Button("Next painting", visible=False, elem_id="class-next")
    outputs = [seat, shown, join_box, play_area, joined, status, *choices, painting, reveal, next_button]
    light = {"concurrency_limit": ANSWERS_AT_ONCE, "api_visibility": "private"}
    gr.on([join_button.click, nickname.submit], play.join_page, inputs=[nickname], outputs=outputs, **light)
    for button in choices:
        button.click(play.answer_page, inputs=[seat, shown, button], outputs=outputs, **light)
    next_button.click(play.next_page, inputs=[seat, shown], outputs=outputs, **light)
    page_load(play.look_page, inputs=[seat, shown], outputs=outputs, **light)
    gr.Timer(POLL_EVERY).tick(play.look_page, inputs=[seat, shown], outputs=outputs, show_progress="hidden", **light)
    # the same, for scripts and tests: the seat token is a plain argument
    gr.api(play.join, api_name="class_join", concurrency_limit=ANSWERS_AT_ONCE)
    gr.api(play.look, api_name="class_round", concurrency_limit=ANSWERS_AT_ONCE)
    gr.api(play.answer, api_name="class_answer", concurrency_limit=ANSWERS_AT_ONCE)
    gr.api(play.next_painting, api_name="class_next", concurrency_limit=ANSWERS_AT_ONCE)
