"""Classroom mode end to end: `python app.py --classroom` with gradio_client students and a teacher, paced rounds, a
restart, and the app without --classroom writing nothing."""
import time

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.e2e.servers import printed, running_app

pytestmark = pytest.mark.slow

KEY = "a-teacher-key"


def joined(url: str, nickname: str) -> tuple[Client, str, dict]:
    """A student's own session: (client, seat token, the round they see)."""
    student = Client(url, verbose=False)
    seat, view = student.predict(nickname, api_name="/class_join")
    return student, seat, view


def until(check, timeout: float = 30):
    """The first true value of ``check()``, asked again until it comes (the round closes on the server's clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)  # polling the server's state, not waiting a fixed time
    raise AssertionError("the condition never came true")


def test_a_paced_round_reveals_nothing_before_it_closes_then_everything_to_everyone(tiny_bundle, tiny_quiz,
                                                                                    tmp_path):
    """Kahoot's pacing: the teacher opens a round, the names go to the phones, and no session (not the scout's
    second one either), nor a keyless call, learns the painter before every player has answered."""
    with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db", str(tmp_path / "b.sqlite3"),
                     "--teacher-key", KEY, "--round-seconds", "120") as (url, _):
        teacher = Client(url, verbose=False)
        students = [joined(url, name) for name in ("Ann", "Bo", "Scout")]
        assert all(view["phase"] == "waiting" and "choices" not in view for _, _, view in students)
        with pytest.raises(AppError, match="Only the teacher's page"):
            students[0][0].predict("", api_name="/class_open_round")
        opened = teacher.predict(KEY, api_name="/class_open_round")
        assert opened["phase"] == "open" and opened["players"] == 3
        views = [client.predict(seat, api_name="/class_round") for client, seat, _ in students]
        assert len({tuple(v["choices"]) for v in views}) == 1 and len(views[0]["choices"]) == 4
        scout_client, scout_seat, _ = students[2]
        after = scout_client.predict(scout_seat, views[2]["choices"][0], api_name="/class_answer")
        assert after["phase"] == "answered" and "answer" not in after  # answering first teaches nothing
        for client, seat, _ in students[:2]:
            view = client.predict(seat, api_name="/class_round")
            assert view["phase"] == "open" and "answer" not in view and "you_right" not in view
        board = teacher.predict(KEY, api_name="/class_board")
        assert board["per_painting"] == [] and board["answers"] == 0  # the teacher's board waits for the reveal too
        with pytest.raises(AppError, match="answered this round"):
            scout_client.predict(scout_seat, views[2]["choices"][1], api_name="/class_answer")
        students[0][0].predict(students[0][1], views[0]["choices"][1], api_name="/class_answer")
        last = students[1][0].predict(students[1][1], views[1]["choices"][2], api_name="/class_answer")
        assert last["phase"] == "revealed"  # the last answer closes the round at once
        revealed = [client.predict(seat, api_name="/class_round") for client, seat, _ in students]
        assert {v["answer"] for v in revealed} == {revealed[0]["answer"]}
        assert [v["you_chose"] for v in revealed] == [views[0]["choices"][1], views[1]["choices"][2],
                                                      views[2]["choices"][0]]
        board = teacher.predict(KEY, api_name="/class_board")
        assert board["answers"] == 3 and board["per_painting"][0]["painter"] == revealed[0]["answer"]
        assert board["class_right"] == sum(v["you_right"] for v in revealed)
        with pytest.raises(AppError, match="closed"):
            students[0][0].predict(students[0][1], views[0]["choices"][0], api_name="/class_answer")


def test_a_round_closes_when_its_time_is_up_and_a_late_answer_is_refused(tiny_bundle, tiny_quiz, tmp_path):
    with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db", str(tmp_path / "b.sqlite3"),
                     "--teacher-key", KEY, "--round-seconds", "2") as (url, _):
        teacher = Client(url, verbose=False)
        student, seat, _ = joined(url, "Ann")
        joined(url, "Bo")  # never answers
        teacher.predict(KEY, api_name="/class_open_round")
        choices = student.predict(seat, api_name="/class_round")["choices"]
        student.predict(seat, choices[0], api_name="/class_answer")
        view = until(lambda: (v := student.predict(seat, api_name="/class_round"))["phase"] == "revealed" and v)
        assert view["class_answered"] == 1 and view["your_answers"] == 1
        teacher.predict(KEY, api_name="/class_open_round")
        choices = student.predict(seat, api_name="/class_round")["choices"]
        until(lambda: student.predict(seat, api_name="/class_round")["phase"] == "revealed")
        with pytest.raises(AppError, match="closed"):
            student.predict(seat, choices[0], api_name="/class_answer")
        assert teacher.predict(KEY, api_name="/class_board")["answers"] == 1


def test_seats_outlive_a_restart_a_new_class_moves_them_and_the_teacher_can_remove_one(tiny_bundle, tiny_quiz,
                                                                                      tmp_path):
    database = tmp_path / "board.sqlite3"
    options = ("--classroom", "--classroom-db", str(database), "--teacher-key", KEY)
    with running_app(tiny_bundle, tiny_quiz, tmp_path, *options) as (url, _):
        _, ann, _ = joined(url, "Ann")
        _, bo, _ = joined(url, "Bo")
        teacher = Client(url, verbose=False)
        teacher.predict(KEY, api_name="/class_open_round")
        client = Client(url, verbose=False)
        choice = client.predict(ann, api_name="/class_round")["choices"][0]
        client.predict(ann, choice, api_name="/class_answer")
        board = teacher.predict(KEY, api_name="/class_board")
    with running_app(tiny_bundle, tiny_quiz, tmp_path, *options) as (url, _):
        client, teacher = Client(url, verbose=False), Client(url, verbose=False)
        assert teacher.predict(KEY, api_name="/class_board") == board
        view = client.predict(ann, api_name="/class_round")  # a fresh session, the same seat: no "Ann 2"
        assert view["phase"] == "answered" and view["you_chose"] == choice and view["nickname"] == "Ann"
        with pytest.raises(AppError, match="not on the class board"):
            client.predict(ann[:-1] + ("0" if ann[-1] != "0" else "1"), api_name="/class_round")  # a forged seat
        assert teacher.predict(KEY, "Bo", api_name="/class_remove") == ["Ann"]
        with pytest.raises(AppError, match="taken you off the board"):
            client.predict(bo, api_name="/class_round")
        assert teacher.predict(KEY, api_name="/class_board")["players"] == ["Ann"]
        assert board["players"] == ["Ann", "Bo"]
        teacher.predict(KEY, True, api_name="/class_new")
        moved = client.predict(ann, api_name="/class_round")
        assert moved["phase"] == "waiting" and moved["nickname"] == "Ann"
        assert teacher.predict(KEY, api_name="/class_board")["players"] == ["Ann"]  # moved, once
        client.predict(ann, api_name="/class_round")
        assert teacher.predict(KEY, api_name="/class_board")["players"] == ["Ann"]


def test_self_paced_play_shows_a_rounds_answer_only_after_answering_it(tiny_bundle, tiny_quiz, tmp_path):
    with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db", str(tmp_path / "b.sqlite3"),
                     "--teacher-key", KEY, "--self-paced") as (url, _):
        student, seat, view = joined(url, "Ann")
        assert view["phase"] == "open" and "answer" not in view
        answered = student.predict(seat, view["choices"][0], api_name="/class_answer")
        assert answered["phase"] == "revealed" and answered["answer"] in view["choices"]
        following = student.predict(seat, api_name="/class_next")
        assert following["round"] == 2 and following["phase"] == "open" and "answer" not in following
        with pytest.raises(AppError, match="no rounds to start"):
            Client(url, verbose=False).predict(KEY, api_name="/class_open_round")


def test_a_student_cannot_answer_before_joining_nor_flood_joins(tiny_bundle, tiny_quiz, tmp_path):
    """Fresh sessions from one address (a script opening 40 "browsers") cannot add 40 players: the limit is per
    address, and its message says what a class behind one address can do."""
    with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db",
                     str(tmp_path / "b.sqlite3"), "--teacher-key", KEY, "--joins-per-minute", "6") as (url, log):
        student = Client(url, verbose=False)
        with pytest.raises(AppError, match="Join the class first"):
            student.predict(None, "Titian", api_name="/class_answer")
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
    database = tmp_path / "board.sqlite3"
    keys = []
    for start in range(2):
        with running_app(tiny_bundle, tiny_quiz, tmp_path, "--classroom", "--classroom-db", str(database)) as (url, log):
            assert printed(log, r"Students join at: +http\S+/\?view=quiz")
            keys.append(printed(log, r"Teacher's page.*http\S+/\?view=class&key=(\S+)").group(1))
            if start == 0:
                joined(url, "Ann")
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
