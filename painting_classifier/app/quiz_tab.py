"""The app's Quiz tab: "Can you beat the model?" (game logic in ``quiz.py``).

The game lives in a ``gr.State``, so every browser session (and every API client) plays its own
game. Endpoints: ``/quiz_new_game``, ``/quiz_answer`` (the chosen name), ``/quiz_next``; each also
returns a "Quiz round" JSON with the round, the four names, the score and, once answered, the answer.
"""
from __future__ import annotations

import gradio as gr
import pandas as pd

from .cards import artist_line
from .class_play import ClassPlay, class_play
from .quiz import Quiz
from .served_files import ServedImages

ANSWERS_AT_ONCE = 8  # quiz answers computed at once
NOTHING_TO_ASK = ("**This model has no quiz paintings to ask.** The quiz only shows paintings from the loaded "
                  "model's test split (so it never trained on them), and none of the paintings in the quiz folder "
                  "is in this model's test split. Make a quiz for it with `python -m painting_classifier "
                  "quiz-images --model MODEL`.")


def score_line(quiz: Quiz, game: dict) -> str:
    over = quiz.is_over(game)
    where = "Game over" if over else f"Painting {game['round'] + 1} of {len(game['order'])}"
    line = f"### {where} · You {game['you']} – Model {game['model']}"
    if over:
        verdict = ("You beat the model!" if game["you"] > game["model"] else
                   "A draw." if game["you"] == game["model"] else "The model wins this time.")
        line += f"\n{verdict} Press **New game** to play again."
    return line


def reveal_text(quiz: Quiz, rows: pd.DataFrame, game: dict, you_right: bool, model_right: bool) -> str:
    question, _ = quiz.question(game)
    you = "**Right!**" if you_right else "**Not this time.**"
    model = "right" if model_right else "wrong"
    return (f"{you} It was painted by {artist_line(rows.loc[question.artist])}\n\n"
            f"The model said **{question.model_guess}** ({question.model_probability:.0%}) — {model}.")


class QuizEvents:
    """What the Quiz tab's buttons do, on one session's game state."""

    def __init__(self, quiz: Quiz, artists: pd.DataFrame, served: ServedImages):
        self.quiz, self.rows, self.served = quiz, artists.set_index("name", drop=False), served

    def info(self, state: dict, **more) -> dict:
        """The "Quiz round" output: where the game is, the four names, the score (and more once answered)."""
        _, choices = self.quiz.question(state)
        return {"round": state["round"] + 1, "of": len(state["order"]), "choices": choices, "you": state["you"],
                "model": state["model"], "answered": state["answered"], "over": self.quiz.is_over(state), **more}

    def show(self, state: dict):
        """Outputs for a round's question: state, painting, the four names, score, empty reveal, round info."""
        question, choices = self.quiz.question(state)
        return (state, self.served.copy(question.file.read_bytes(), question.file.suffix.lower()),
                gr.Radio(choices=choices, value=None), score_line(self.quiz, state), "", self.info(state))

    def new_game(self):
        return self.show(self.quiz.new_game())

    def answer(self, state: dict | None, chosen: str | None):
        if state is None:
            raise gr.Error("Press New game to start.", print_exception=False)
        if state["answered"]:
            raise gr.Error("You have answered this one: press Next painting.", title="Already answered",
                           print_exception=False)
        if not chosen:
            raise gr.Error("Pick one of the four names first.", title="No answer yet", print_exception=False)
        state, you_right, model_right = self.quiz.answer(state, chosen)
        question, _ = self.quiz.question(state)
        return (state, reveal_text(self.quiz, self.rows, state, you_right, model_right),
                score_line(self.quiz, state),
                self.info(state, answer=question.artist, you_right=you_right, model_guess=question.model_guess,
                          model_probability=round(question.model_probability, 4), model_right=model_right))

    def next_painting(self, state: dict | None):
        if state is None:
            return self.new_game()
        if not state["answered"]:
            raise gr.Error("Answer this one first.", title="No answer yet", print_exception=False)
        if self.quiz.is_over(state):
            raise gr.Error("That was the last painting: press New game.", title="Game over", print_exception=False)
        return self.show(self.quiz.next_round(state))


def quiz_tab(quiz: Quiz, artists: pd.DataFrame, served: ServedImages, page_load, classroom=None, seat=None) -> None:
    """The Quiz tab's components and events; a game starts when the page loads (``page_load``: ``demo.load``). In
    classroom mode (``classroom``: a ``classroom_tab.Classroom``) the tab is the student's page of the class
    instead (``class_play.py``), its seat kept in ``seat`` (``class_play.seat_state``)."""
    if not quiz.paintings:
        gr.Markdown(NOTHING_TO_ASK, elem_id="quiz-nothing")
        return
    intro = (f"## Can you beat the model?\nWho painted this? Pick one of the four names, then see what the network "
             f"said. {quiz.rounds} paintings a game, all from the model's test split: it never saw them while it "
             "learned.")
    if classroom is not None:
        paced = classroom.pacing is not None
        gr.Markdown(intro.replace("Pick one of the four names", "Tap one of the four names") + (
            " The whole class plays the same paintings, round by round: the painting is on the screen at the front, "
            "the names on your phone, and the answer comes to everyone when the round closes." if paced else
            " The whole class plays the same paintings, each at their own pace: every answer counts on the class "
            "board."))
        class_play(ClassPlay(classroom, artists), page_load, seat)
        return
    events = QuizEvents(quiz, artists, served)
    gr.Markdown(intro)
    game = gr.State(None)
    with gr.Row():
        with gr.Column(scale=3):
            painting = gr.Image(label="Who painted this?", interactive=False, height=520, elem_id="quiz-painting")
        with gr.Column(scale=2):
            score = gr.Markdown(label="Score", elem_id="quiz-score")
            choice = gr.Radio(choices=[], label="Your answer", elem_id="quiz-choices")
            answer_button = gr.Button("Check my answer", variant="primary", elem_id="quiz-answer")
            reveal = gr.Markdown(label="Answer", elem_id="quiz-reveal")
            with gr.Row():
                next_button = gr.Button("Next painting", elem_id="quiz-next")
                new_button = gr.Button("New game", elem_id="quiz-new-game")
            round_info = gr.JSON(label="Quiz round", visible=False)
    shown = [game, painting, choice, score, reveal, round_info]
    gr.on([page_load, new_button.click], events.new_game, outputs=shown, api_name="quiz_new_game")
    answer_button.click(events.answer, inputs=[game, choice], outputs=[game, reveal, score, round_info],
                        api_name="quiz_answer", concurrency_limit=ANSWERS_AT_ONCE)
    next_button.click(events.next_painting, inputs=[game], outputs=shown, api_name="quiz_next")
