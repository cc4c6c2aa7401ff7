"""A student's seat on the class board, kept in the browser: a token that names the player and is signed with the
board's secret, so a reload or an app restart finds the same seat and no one can forge another's."""
from __future__ import annotations

import hashlib
import hmac

from .classroom import Board, ClassroomError, Player

STORAGE_KEY = "painting-classifier-seat"  # the browser's localStorage entry (fixed: a restart must find it)
LOST = "This page's seat is not on the class board any more: join again with your nickname."


def seat_token(player: Player, secret: str) -> str:
    """``<player id>.<signature>``: what the browser keeps."""
    return f"{player.id}.{_signature(player.id, secret)}"


def _signature(player_id: int, secret: str) -> str:
    return hmac.new(secret.encode(), f"seat:{player_id}".encode(), hashlib.sha256).hexdigest()[:32]


def seated_player(board: Board, token, secret: str) -> Player | None:
    """The player a token names, moved to the current class when a new one has started; None for no token.
    A token that is forged, or names a player the teacher removed, raises ``ClassroomError``."""
    if not token:
        return None
    player_id, _, signature = str(token).partition(".")
    if not player_id.isdigit() or not hmac.compare_digest(signature, _signature(int(player_id), secret)):
        raise ClassroomError(LOST)
    player = board.player(int(player_id))
    if player is None:
        raise ClassroomError(LOST)
    if player.removed:
        raise ClassroomError("The teacher has taken you off the board: join again with a nickname.")
    # the move is a write: only when the teacher has started a new class, not on every look from a phone
    return player if player.class_id == board.current_class() else board.moved(player)
