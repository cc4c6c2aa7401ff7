"""Rounds paced by the teacher, as Kahoot paces them: the teacher opens a round, the projector shows its painting and
the phones its four names; the round closes when every player has answered or its time is up, and only then is the
answer revealed, to everyone at once. The clock lives on the board (Unix times), so a restart keeps it; a round
closes when someone next looks (a phone's poll, the projector's refresh), not on a timer thread of its own.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from .classroom import Board, ClassroomError

ROUND_SECONDS = 20  # --round-seconds
LOBBY, OPEN, REVEALED, OVER = "lobby", "open", "revealed", "over"


@dataclass(frozen=True)
class RoundState:
    """Where a class's game is: the latest round opened (0-based; -1 before the first), its phase, the seconds left
    while it is open, and how many of the players have answered it."""

    number: int
    phase: str
    seconds_left: int
    answered: int
    players: int
    rounds: int

    @property
    def shown(self) -> bool:
        """Whether the round's answer may be shown."""
        return self.phase in (REVEALED, OVER)


class Pacing:
    """A class's rounds of ``rounds`` paintings, ``seconds`` each at most."""

    def __init__(self, board: Board, rounds: int, seconds: float = ROUND_SECONDS):
        self.board, self.rounds, self.seconds = board, rounds, seconds

    def state(self, class_id: int) -> RoundState:
        """The class's round now, closing an open round whose time is up or that every player has answered."""
        latest = self.board.latest_round(class_id)
        if latest is None:
            return RoundState(-1, LOBBY, 0, 0, len(self.board.players(class_id)), self.rounds)
        players = len(self.board.players(class_id))
        answered = len(self.board.answers(class_id, latest.number))
        if latest.closed is None:
            left = latest.closes - time.time()
            if left > 0 and not (players and answered >= players):
                return RoundState(latest.number, OPEN, math.ceil(left), answered, players, self.rounds)
            self.board.close_round(class_id, latest.number)
        phase = OVER if latest.number >= self.rounds - 1 else REVEALED
        return RoundState(latest.number, phase, 0, answered, players, self.rounds)

    def open_next(self, class_id: int) -> RoundState:
        """Open the class's next round (the teacher's "Next round")."""
        now = self.state(class_id)
        if now.phase == OPEN:
            raise ClassroomError(f"Round {now.number + 1} is still open: wait for it, or close it now.")
        if now.phase == OVER:
            raise ClassroomError("That was the last painting. Start a new class to play again.")
        self.board.open_round(class_id, now.number + 1, self.seconds)
        return self.state(class_id)

    def close_now(self, class_id: int) -> RoundState:
        """Close the open round before its time is up (the teacher's "Show the answer now")."""
        now = self.state(class_id)
        if now.phase == OPEN:
            self.board.close_round(class_id, now.number)
        return self.state(class_id)

    def revealed(self, class_id: int) -> set[int]:
        """The rounds whose answers have been shown."""
        self.state(class_id)  # closes a round that is due
        return self.board.closed_rounds(class_id)
