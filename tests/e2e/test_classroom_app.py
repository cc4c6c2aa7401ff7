"""Classroom mode end to end: `python app.py --classroom` with gradio_client students, a restart, and the app
without --classroom writing nothing."""
import pytest
from gradio_client import Client

from tests.e2e.servers import printed, running_app

pytestmark = pytest.mark.slow


def play_first_round(url: str, nickname: str, pick: int) -> dict:
    """A student joins and answers the first painting with choice ``pick``; the round info after answering."""
    student = Client(url, verbose=False)
    joined = student.predict(nickname, api_name="/class_join")
    choices = joined[-1]["choices"]
    return student.predict(choices[pick], api_name="/quiz_answer")[-1]


KEY = "a-teacher-key"


def test_students_join_answer_and_the_board_survives_a_restart(tiny_bundle, tiny_quiz, tmp_path):
    database = tmp_path / "board.sqlite3"
    with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db", str(database),
                     "--teacher-key", KEY) as (url, _):
        rounds = [play_first_round(url, name, pick) for name, pick in (("Ann", 0), ("Bo", 1), ("Ann", 2))]
        board = Client(url, verbose=False).predict(KEY, api_name="/class_board")
    assert board["players"] == ["Ann", "Bo", "Ann 2"] and board["answers"] == 3
    assert board["class_right"] == sum(r["you_right"] for r in rounds)
    assert board["model_right"] == 3 * rounds[0]["model_right"]  # everyone got the same first painting
    assert {r["answer"] for r in rounds} == {board["per_painting"][0]["painter"]}
    with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db", str(database)) as (url, _):
        assert Client(url, verbose=False).predict(KEY, api_name="/class_board") == board  # the key is kept


def test_a_student_cannot_answer_before_joining_nor_flood_joins(tiny_bundle, tiny_quiz, tmp_path):
    """Fresh sessions from one address (a script opening 40 "browsers") cannot add 40 players: the limit is per
    address, and its message says what a class behind one address can do."""
    from gradio_client.exceptions import AppError

    with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db",
                     str(tmp_path / "b.sqlite3"), "--teacher-key", KEY, "--joins-per-minute", "6") as (url, log):
        student = Client(url, verbose=False)
        with pytest.raises(AppError, match="Join the class first"):
            student.predict(api_name="/quiz_next")
        with pytest.raises(AppError, match="no control characters"):
            student.predict("bell\u0007", api_name="/class_join")  # a refused name counts as a join too
        tries, refused = 1, None  # the refused nickname was one
        for n in range(40):
            try:
                Client(url, verbose=False).predict(f"fake {n}", api_name="/class_join")
                tries += 1
            except AppError as exc:
                refused = str(exc)
                break
        assert tries == 6 and "Too many joins from this network address" in refused
        assert "--joins-per-minute" in refused
        assert len(Client(url, verbose=False).predict(KEY, api_name="/class_board")["players"]) == 5
        said = log.read_text()
        assert said.count("a join was refused") == 2 and "Traceback" not in said  # one line per refusal


def test_only_the_teachers_key_opens_the_board_and_starts_a_new_class(tiny_bundle, tiny_quiz, tmp_path):
    """The app prints the students' link and the teacher's (with a key made once and kept with the board); without
    the key the board and "New class" refuse, saying why, and the class goes on."""
    from gradio_client.exceptions import AppError

    database = tmp_path / "board.sqlite3"
    keys = []
    for start in range(2):
        with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db", str(database)) as (url, log):
            assert printed(log, r"Students join at: +http\S+/\?view=quiz")
            keys.append(printed(log, r"Teacher's page.*http\S+/\?view=class&key=(\S+)").group(1))
            if start == 0:
                play_first_round(url, "Ann", 0)
                scout = Client(url, verbose=False)
                for call in (lambda: scout.predict("", api_name="/class_board"),
                             lambda: scout.predict("guess", True, api_name="/class_new")):
                    with pytest.raises(AppError, match="Only the teacher's page"):
                        call()
                assert Client(url, verbose=False).predict(keys[0], api_name="/class_board")["players"] == ["Ann"]
    assert keys[0] == keys[1] and len(keys[0]) >= 16  # a restart keeps the teacher's link


def test_without_classroom_there_is_no_nickname_and_nothing_is_stored(tiny_bundle, tiny_quiz, tmp_path):
    with running_app(tiny_bundle, tiny_quiz, tmp_path) as (url, _):
        client = Client(url, verbose=False)
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert "/quiz_new_game" in endpoints and "/class_join" not in endpoints and "/class_board" not in endpoints
        assert client.predict(api_name="/quiz_new_game")[-1]["round"] == 1
    assert not (tmp_path / "data-home").exists()
