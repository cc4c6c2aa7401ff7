"""Classroom mode's board: a class of students against the model on the same quiz paintings, kept in SQLite.

Stored (and nothing else): classes (when each board was started), the students' nicknames with when they
joined (and whether the teacher removed them, or which seat they moved to when a new class started), each answer
with its round, the painting's file name, the name chosen, whether it was right and when, when each paced round
opened and closed, the key of the teacher's link and the secret that signs students' seats. The model's answers
come from the quiz itself. One SQLite connection per thread, WAL journal and a busy timeout, so answers from many
phones at once are all written; "New class" starts a fresh board and keeps the old ones.
"""
from __future__ import annotations

import html
import os
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

MAX_NICKNAME = 20
SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (id INTEGER PRIMARY KEY, started TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS players (
    id INTEGER PRIMARY KEY, class_id INTEGER NOT NULL REFERENCES classes(id), nickname TEXT NOT NULL,
    joined TEXT NOT NULL, UNIQUE (class_id, nickname));
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    player_id INTEGER NOT NULL REFERENCES players(id), round INTEGER NOT NULL, painting TEXT NOT NULL,
    chosen TEXT NOT NULL, right INTEGER NOT NULL, answered TEXT NOT NULL, PRIMARY KEY (player_id, round));
CREATE TABLE IF NOT EXISTS rounds (
    class_id INTEGER NOT NULL REFERENCES classes(id), round INTEGER NOT NULL, opened REAL NOT NULL,
    closes REAL NOT NULL, closed REAL, PRIMARY KEY (class_id, round));
CREATE TABLE IF NOT EXISTS moves (
    old_player INTEGER PRIMARY KEY REFERENCES players(id), new_player INTEGER NOT NULL REFERENCES players(id));
"""
# boards written before players could be removed get the column on first open
PLAYERS_REMOVED = "ALTER TABLE players ADD COLUMN removed INTEGER NOT NULL DEFAULT 0"


class ClassroomError(ValueError):
    """Something a student or teacher did that the board cannot take, in words for them."""


def default_database() -> Path:
    """Where the board lives by default: the user's data directory ($XDG_DATA_HOME or ~/.local/share)."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "painting_classifier" / "classroom.sqlite3"


# joiners inside an emoji: zero-width joiner, variation selectors, skin tones, flag tags (not characters of their own)
_JOINING = {0x200D, *range(0xFE00, 0xFE10), *range(0x1F3FB, 0x1F400), *range(0xE0020, 0xE0080)}


def visible_length(name: str) -> int:
    """Characters as a reader counts them: an accent, an emoji's skin tone or a flag's parts add none."""
    count, joined, half_flag = 0, False, False
    for char in name:
        code = ord(char)
        if code in _JOINING or unicodedata.category(char) in ("Mn", "Me"):
            joined = code == 0x200D
            continue
        regional = 0x1F1E6 <= code <= 0x1F1FF  # two regional indicators make one flag
        if not joined and not (regional and half_flag):
            count += 1
        half_flag = regional and not half_flag
        joined = False
    return count


def valid_nickname(text) -> str:
    """The nickname as it will be stored: 1-20 characters as a reader counts them (accents and emoji welcome),
    spaces collapsed, no control characters. Markup is kept as typed and shown as text (``shown_nickname``)."""
    name = " ".join(unicodedata.normalize("NFC", str(text or "")).split())
    if not name:
        raise ClassroomError("Type a nickname first (1 to 20 characters).")
    length = visible_length(name)
    if length > MAX_NICKNAME:
        raise ClassroomError(f"A nickname has at most {MAX_NICKNAME} characters; this one has {length}.")
    if any(unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn") or
           (unicodedata.category(c) == "Cf" and ord(c) not in _JOINING) for c in name):
        raise ClassroomError("A nickname may only have letters, digits, signs and emoji (no control characters).")
    return name


def shown_nickname(name: str) -> str:
    """A nickname to put in Markdown: its markup shown as the characters typed, not obeyed."""
    escaped = html.escape(name, quote=True)
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|~" else c for c in escaped)


@dataclass(frozen=True)
class Player:
    id: int
    class_id: int
    nickname: str
    removed: bool = False


@dataclass(frozen=True)
class Round:
    """A paced round as stored: its number (0-based), when it opened, when its time is up, when it closed (None while
    open), all as Unix times so that a restart keeps the clock."""

    number: int
    opened: float
    closes: float
    closed: float | None


class RateLimit:
    """At most ``limit`` events per ``seconds`` for each key (a page, or a network address): a flood gets a readable
    error; ``advice`` says what to do about it."""

    def __init__(self, limit: int, seconds: float, what: str, source: str = "this page", advice: str = ""):
        self.limit, self.seconds, self.what, self.source, self.advice = limit, seconds, what, source, advice
        self._events: dict[str, deque] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] > self.seconds:
                events.popleft()
            if len(events) >= self.limit:
                raise ClassroomError(f"Too many {self.what} from {self.source}: wait {self.seconds:.0f} seconds and "
                                     f"try again.{' ' + self.advice if self.advice else ''}")
            events.append(now)


class Board:
    """The classroom board in one SQLite file (created on first use)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._db().executescript(SCHEMA)
        if "removed" not in {row[1] for row in self._db().execute("PRAGMA table_info(players)")}:
            self._db().execute(PLAYERS_REMOVED)
        with self._transaction() as db:
            if db.execute("SELECT COUNT(*) FROM classes").fetchone()[0] == 0:
                db.execute("INSERT INTO classes (started) VALUES (?)", (_now(),))

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections are not shared between threads), in autocommit mode."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db())

    def teacher_key(self, chosen: str | None = None) -> str:
        """The key of the teacher's link: ``chosen`` (``--teacher-key``), else the one kept with the board, else a
        new one, kept with the board so that the teacher's link outlives a restart."""
        return self._setting("teacher_key", chosen)

    def seat_secret(self) -> str:
        """The secret that signs students' seats (``seats.py``), made once and kept with the board, so that a seat
        outlives a restart."""
        return self._setting("seat_secret", None, length=32)

    def _setting(self, name: str, chosen: str | None, length: int = 12) -> str:
        with self._transaction() as db:
            if chosen:
                db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, chosen))
                return chosen
            kept = db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
            if kept:
                return kept[0]
            value = secrets.token_urlsafe(length)
            db.execute("INSERT INTO settings VALUES (?, ?)", (name, value))
            return value

    def current_class(self) -> int:
        return self._db().execute("SELECT MAX(id) FROM classes").fetchone()[0]

    def new_class(self) -> int:
        """Start a fresh board; earlier classes stay in the file."""
        with self._transaction() as db:
            return db.execute("INSERT INTO classes (started) VALUES (?)", (_now(),)).lastrowid

    def classes(self) -> list[tuple[int, str, int]]:
        """(id, started, players) of every class, newest first."""
        return self._db().execute("SELECT c.id, c.started, COUNT(p.id) FROM classes c LEFT JOIN players p "
                                  "ON p.class_id = c.id AND p.removed = 0 GROUP BY c.id ORDER BY c.id DESC").fetchall()

    def join(self, nickname) -> Player:
        """A new player in the current class; a nickname already taken gets " 2", " 3", ... appended."""
        name = valid_nickname(nickname)
        with self._transaction() as db:
            return self._join(db, db.execute("SELECT MAX(id) FROM classes").fetchone()[0], name)

    @staticmethod
    def _join(db: sqlite3.Connection, class_id: int, name: str) -> Player:
        taken = {row[0] for row in db.execute("SELECT nickname FROM players WHERE class_id = ?", (class_id,))}
        unique, n = name, 2
        while unique in taken:
            suffix = f" {n}"
            unique, n = name[: MAX_NICKNAME - len(suffix)] + suffix, n + 1
        player_id = db.execute("INSERT INTO players (class_id, nickname, joined) VALUES (?, ?, ?)",
                               (class_id, unique, _now())).lastrowid
        return Player(player_id, class_id, unique)

    def player(self, player_id: int) -> Player | None:
        row = self._db().execute("SELECT id, class_id, nickname, removed FROM players WHERE id = ?",
                                 (player_id,)).fetchone()
        return Player(row[0], row[1], row[2], bool(row[3])) if row else None

    def moved(self, player: Player) -> Player:
        """The player's seat in the current class: itself, or once a new class has started, a seat there with the
        same nickname, made on first asking and the same ever after."""
        with self._transaction() as db:
            current = db.execute("SELECT MAX(id) FROM classes").fetchone()[0]
            if player.class_id == current:
                return player
            kept = db.execute("SELECT new_player FROM moves WHERE old_player = ?", (player.id,)).fetchone()
            if kept:
                row = db.execute("SELECT id, class_id, nickname, removed FROM players WHERE id = ?", kept).fetchone()
                if row[1] == current:
                    return Player(row[0], row[1], row[2], bool(row[3]))
            seat = self._join(db, current, player.nickname)
            db.execute("INSERT OR REPLACE INTO moves VALUES (?, ?)", (player.id, seat.id))
            return seat

    def remove(self, class_id: int, nickname: str) -> bool:
        """Take a player off a class's board (the teacher's call): their answers no longer count."""
        with self._transaction() as db:
            return bool(db.execute("UPDATE players SET removed = 1 WHERE class_id = ? AND nickname = ? AND removed = 0",
                                   (class_id, nickname)).rowcount)

    def record(self, player: Player, round_number: int, painting: str, chosen: str, right: bool,
               paced: bool = False) -> None:
        """Keep one answer; a second answer to the same round is refused, and with ``paced`` an answer to a round
        that is not open (checked in the same transaction, so an answer and the round's close never cross)."""
        with self._transaction() as db:
            if db.execute("SELECT removed FROM players WHERE id = ?", (player.id,)).fetchone() != (0,):
                raise ClassroomError("The teacher has taken you off the board: join again with a nickname.")
            if paced:
                row = db.execute("SELECT closes, closed FROM rounds WHERE class_id = ? AND round = ?",
                                 (player.class_id, round_number)).fetchone()
                if row is None or row[1] is not None or time.time() >= row[0]:
                    raise ClassroomError(f"Round {round_number + 1} is closed: the answer is on the screen.")
            written = db.execute("INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?, ?, ?)",
                                 (player.id, round_number, painting, chosen, int(right), _now())).rowcount
        if not written:
            raise ClassroomError(f"Round {round_number + 1} is already answered.")

    def players(self, class_id: int) -> list[str]:
        return [r[0] for r in self._db().execute("SELECT nickname FROM players WHERE class_id = ? AND removed = 0 "
                                                 "ORDER BY id", (class_id,))]

    def answers(self, class_id: int, round_number: int | None = None) -> list[tuple]:
        """(nickname, round, painting, chosen, right, answered) of every answer in a class (of one round only, when
        given), removed players' left out."""
        return self._db().execute("SELECT p.nickname, a.round, a.painting, a.chosen, a.right, a.answered "
                                  "FROM answers a JOIN players p ON p.id = a.player_id WHERE p.class_id = ? "
                                  "AND p.removed = 0 AND (? IS NULL OR a.round = ?) ORDER BY a.answered, p.id",
                                  (class_id, round_number, round_number)).fetchall()

    def answered_rounds(self, player_id: int) -> dict[int, tuple[str, bool]]:
        """Round -> (the name chosen, right) of one player's answers."""
        return {r: (chosen, bool(right)) for r, chosen, right in self._db().execute(
            "SELECT round, chosen, right FROM answers WHERE player_id = ?", (player_id,))}

    # --- paced rounds (``rounds.py``) --------------------------------------------------------------------------

    def latest_round(self, class_id: int) -> Round | None:
        row = self._db().execute("SELECT round, opened, closes, closed FROM rounds WHERE class_id = ? "
                                 "ORDER BY round DESC LIMIT 1", (class_id,)).fetchone()
        return Round(*row) if row else None

    def open_round(self, class_id: int, round_number: int, seconds: float) -> None:
        """Open a round for ``seconds``; refused while another is open or when it was played already."""
        now = time.time()
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM rounds WHERE class_id = ? AND closed IS NULL", (class_id,)).fetchone():
                raise ClassroomError("A round is still open: close it first.")
            written = db.execute("INSERT OR IGNORE INTO rounds VALUES (?, ?, ?, ?, NULL)",
                                 (class_id, round_number, now, now + seconds)).rowcount
        if not written:
            raise ClassroomError(f"Round {round_number + 1} has been played.")

    def close_round(self, class_id: int, round_number: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE rounds SET closed = ? WHERE class_id = ? AND round = ? AND closed IS NULL",
                       (time.time(), class_id, round_number))

    def closed_rounds(self, class_id: int) -> set[int]:
        return {r[0] for r in self._db().execute("SELECT round FROM rounds WHERE class_id = ? AND closed IS NOT NULL",
                                                 (class_id,))}

    def dump(self) -> list[tuple]:
        """Every class, player and answer, for comparing boards (e.g. before and after a restart)."""
        with self._transaction() as db:  # one consistent snapshot
            return (db.execute("SELECT * FROM classes ORDER BY id").fetchall()
                    + db.execute("SELECT * FROM players ORDER BY id").fetchall()
                    + db.execute("SELECT * FROM answers ORDER BY player_id, round").fetchall())


class _Transaction:
    """``with`` a connection: BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an error), so writers queue on the lock."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, *_) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Standing:
    """The board of one class as the teacher's screen shows it."""

    class_id: int
    players: list[str]
    answers: int
    class_right: int
    model_right: int  # the model's right answers on the same paintings, counted once per student answer
    per_painting: list[dict]  # round, painter, students right, students answered, model's guess, model right
    ranking: list[dict]  # nickname, right, answered; best first

    @property
    def class_accuracy(self) -> float | None:
        return self.class_right / self.answers if self.answers else None

    @property
    def model_accuracy(self) -> float | None:
        return self.model_right / self.answers if self.answers else None


def standing(board: Board, class_id: int, model_answers: dict[str, tuple[str, str, bool]],
             rounds: set[int] | None = None) -> Standing:
    """The class's results beside the model's; ``model_answers``: painting file name -> (painter, the model's
    guess, whether it was right); ``rounds``: only these rounds count (paced play: the revealed ones)."""
    rows = [row for row in board.answers(class_id) if rounds is None or row[1] in rounds]
    per_round: dict[int, dict] = {}
    scores: dict[str, list[int]] = {name: [0, 0] for name in board.players(class_id)}
    model_right = 0
    for nickname, round_number, painting, _, right, _ in rows:
        painter, guess, model_ok = model_answers.get(painting, ("?", "?", False))
        entry = per_round.setdefault(round_number, {"round": round_number + 1, "painter": painter, "right": 0,
                                                    "answered": 0, "model_guess": guess, "model_right": model_ok})
        entry["right"] += right
        entry["answered"] += 1
        scores.setdefault(nickname, [0, 0])
        scores[nickname][0] += right
        scores[nickname][1] += 1
        model_right += model_ok
    ranking = sorted(({"nickname": n, "right": r, "answered": a} for n, (r, a) in scores.items()),
                     key=lambda row: (-row["right"], row["answered"], row["nickname"].lower()))
    return Standing(class_id, list(scores), len(rows), sum(r[4] for r in rows), model_right,
                    [per_round[k] for k in sorted(per_round)], ranking)
