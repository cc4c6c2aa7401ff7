"""Classroom mode's board: nicknames, concurrent answers, flood limits and what survives a restart."""
import threading

import pytest

from painting_classifier.app.classroom import Board, ClassroomError, RateLimit, standing, valid_nickname


@pytest.mark.parametrize("typed, shown", [("Anna", "Anna"), ("  Jo   Li ", "Jo Li"), ("Zoë 🎨", "Zoë 🎨"),
                                          ("x" * 20, "x" * 20), ("O'Brien", "O'Brien"), ("Kim 🏳️‍🌈", "Kim 🏳️‍🌈"),
                                          ("👍🏽" * 20, "👍🏽" * 20), ("<b>hi</b>", "<b>hi</b>")])
def test_a_nickname_is_1_to_20_characters_as_people_write_them(typed, shown):
    assert valid_nickname(typed) == shown


@pytest.mark.parametrize("typed, complaint", [("", "Type a nickname"), ("   ", "Type a nickname"),
                                              ("x" * 21, "at most 20 characters; this one has 21"),
                                              ("x" * 500, "at most 20 characters; this one has 500"),
                                              ("tab\u0007bell", "no control characters")])
def test_a_bad_nickname_is_refused_with_what_is_wrong(typed, complaint):
    with pytest.raises(ClassroomError, match=complaint):
        valid_nickname(typed)


def test_markup_in_a_nickname_is_shown_as_typed_not_obeyed():
    from painting_classifier.app.classroom import shown_nickname

    assert shown_nickname("<b>hi</b> *Jo*") == "&lt;b&gt;hi&lt;/b&gt; \\*Jo\\*"


def test_duplicate_nicknames_in_a_class_get_a_suffix_and_stay_within_20_characters(tmp_path):
    board = Board(tmp_path / "class.sqlite3")
    assert [board.join("Anna").nickname for _ in range(3)] == ["Anna", "Anna 2", "Anna 3"]
    long = "L" * 20
    assert [board.join(long).nickname for _ in range(2)] == [long, "L" * 18 + " 2"]
    board.new_class()
    assert board.join("Anna").nickname == "Anna"  # a new class, a fresh set of names


def test_thirty_students_answering_at_once_are_all_on_the_board(tmp_path):
    board = Board(tmp_path / "class.sqlite3")
    players = [board.join(f"student {i}") for i in range(30)]
    start, errors = threading.Barrier(30), []

    def answer(player):
        try:
            start.wait()
            Board(tmp_path / "class.sqlite3").record(player, 0, "quiz_01.jpg", "Monet", player.id % 2 == 0)
        except Exception as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(p,)) for p in players]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    now = standing(board, board.current_class(), {"quiz_01.jpg": ("Claude Monet", "Claude Monet", True)})
    assert now.answers == 30 and now.class_right == 15 and now.model_right == 30
    assert now.per_painting == [{"round": 1, "painter": "Claude Monet", "right": 15, "answered": 30,
                                 "model_guess": "Claude Monet", "model_right": True}]


def test_a_round_counts_once_and_the_ranking_puts_the_best_first(tmp_path):
    board = Board(tmp_path / "class.sqlite3")
    ann, bo = board.join("Ann"), board.join("Bo")
    board.record(ann, 0, "a.jpg", "Monet", False)
    with pytest.raises(ClassroomError, match="Round 1 is already answered"):
        board.record(ann, 0, "a.jpg", "Manet", True)
    board.record(bo, 0, "a.jpg", "Manet", True)
    board.record(bo, 1, "b.jpg", "Goya", True)
    now = standing(board, board.current_class(), {"a.jpg": ("Manet", "Monet", False), "b.jpg": ("Goya", "Goya", True)})
    assert [(r["nickname"], r["right"], r["answered"]) for r in now.ranking] == [("Bo", 2, 2), ("Ann", 0, 1)]
    assert (now.class_right, now.model_right, now.answers) == (2, 1, 3)


def test_the_board_is_identical_after_a_restart_and_new_class_keeps_the_old_one(tmp_path):
    path = tmp_path / "class.sqlite3"
    board = Board(path)
    player = board.join("Ann")
    board.record(player, 0, "a.jpg", "Monet", True)
    before = board.dump()
    reopened = Board(path)
    assert reopened.dump() == before
    old = reopened.current_class()
    new = reopened.new_class()
    assert new != old and reopened.players(new) == [] and reopened.players(old) == ["Ann"]


def test_a_flood_from_one_address_gets_a_readable_error_and_other_addresses_keep_going():
    limit = RateLimit(3, 60, "joins", "this network address", "Ask for --joins-per-minute.")
    for _ in range(3):
        limit.check("10.0.0.7")
    with pytest.raises(ClassroomError, match="Too many joins from this network address.*--joins-per-minute"):
        limit.check("10.0.0.7")
    limit.check("10.0.0.8")


def test_the_teachers_key_is_made_once_kept_with_the_board_and_can_be_chosen(tmp_path):
    made = Board(tmp_path / "board.sqlite3").teacher_key()
    assert len(made) >= 16 and Board(tmp_path / "board.sqlite3").teacher_key() == made  # a restart keeps it
    assert Board(tmp_path / "other.sqlite3").teacher_key() != made  # every board its own
    assert Board(tmp_path / "board.sqlite3").teacher_key("chosen-key") == "chosen-key"
    assert Board(tmp_path / "board.sqlite3").teacher_key() == "chosen-key"


def test_a_paced_round_closes_when_everyone_has_answered_and_refuses_answers_after(tmp_path):
    from painting_classifier.app.classroom import Player
    from painting_classifier.app.rounds import LOBBY, OPEN, OVER, REVEALED, Pacing

    board = Board(tmp_path / "b.sqlite3")
    ann, bo = board.join("Ann"), board.join("Bo")
    pacing = Pacing(board, rounds=2, seconds=600)
    class_id = board.current_class()
    assert pacing.state(class_id).phase == LOBBY
    with pytest.raises(ClassroomError, match="not open|closed"):
        board.record(ann, 0, "a.jpg", "Titian", True, paced=True)  # before the round opens
    assert pacing.open_next(class_id).phase == OPEN
    with pytest.raises(ClassroomError, match="still open"):
        pacing.open_next(class_id)
    board.record(ann, 0, "a.jpg", "Titian", True, paced=True)
    assert pacing.state(class_id).phase == OPEN and pacing.revealed(class_id) == set()
    board.record(bo, 0, "a.jpg", "Raphael", False, paced=True)
    assert pacing.state(class_id).phase == REVEALED and pacing.revealed(class_id) == {0}
    with pytest.raises(ClassroomError, match="closed"):
        board.record(Player(bo.id, class_id, "Bo"), 0, "a.jpg", "Titian", True, paced=True)
    pacing.open_next(class_id)
    assert pacing.close_now(class_id).phase == OVER  # the teacher closed the last round early
    with pytest.raises(ClassroomError, match="last painting"):
        pacing.open_next(class_id)


def test_a_round_whose_time_is_up_closes_on_the_next_look(tmp_path):
    from painting_classifier.app.rounds import REVEALED, Pacing

    board = Board(tmp_path / "b.sqlite3")
    board.join("Ann")
    pacing = Pacing(board, rounds=3, seconds=0.0)  # no time at all: closed as soon as anyone looks
    class_id = board.current_class()
    assert pacing.open_next(class_id).phase == REVEALED


def test_a_seat_moves_to_a_new_class_once_and_a_removed_player_loses_it(tmp_path):
    from painting_classifier.app.seats import seat_token, seated_player

    board = Board(tmp_path / "b.sqlite3")
    secret = board.seat_secret()
    ann, bo = board.join("Ann"), board.join("Bo")
    token = seat_token(ann, secret)
    assert seated_player(board, token, secret) == ann
    with pytest.raises(ClassroomError, match="join again"):
        seated_player(board, token[:-1] + ("a" if token[-1] != "a" else "b"), secret)  # forged
    board.new_class()
    moved = seated_player(board, token, secret)
    assert moved.class_id == board.current_class() and moved.nickname == "Ann" and moved.id != ann.id
    assert seated_player(board, token, secret) == moved  # the same new seat every time
    assert board.players(board.current_class()) == ["Ann"]
    assert [players for _, _, players in board.classes()] == [1, 2]  # newest first, earlier boards kept
    assert board.remove(ann.class_id, "Bo") and board.players(ann.class_id) == ["Ann"]
    with pytest.raises(ClassroomError, match="taken you off"):
        seated_player(board, seat_token(bo, secret), secret)
    assert Board(tmp_path / "b.sqlite3").seat_secret() == secret  # kept with the board: seats outlive a restart
