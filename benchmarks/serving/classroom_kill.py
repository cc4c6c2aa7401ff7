"""No acknowledged answer is lost: the app is killed (SIGKILL) in the middle of a 30-student round, then restarted.

    python -m benchmarks.serving.classroom_kill [--students 30] [--runs 5]

Starts ``python app.py --classroom`` (the shipped model and quiz, a fresh board file, rounds paced by the teacher);
30 ``gradio_client`` students join, the teacher opens round 1, and all answer at once. Once a third of the answers
have been acknowledged, the app is killed with SIGKILL, with answers still in flight. The app is started again on the
same board file, and every student asks for the round with the seat their browser kept: each acknowledged answer must
be there, as given. The students whose answers were cut off answer again from their seats, the last answer closes the
round, and the board must hold every student's answer once. Writes benchmarks/results/classroom_kill.json.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common.app_client import all_at_once, start_app, wait_until_serving
from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance
from benchmarks.serving.classroom_round import CLASSROOM, TEACHER_KEY


def killed_round(database: str, students: int) -> dict:
    """One round killed part-way and finished after a restart; what was acknowledged, kept and lost."""
    from gradio_client import Client

    server, url = start_app(*CLASSROOM, database)
    wait_until_serving(url, server)
    clients = [Client(url, verbose=False) for _ in range(students)]
    seats = [c.predict(f"student {i + 1}", api_name="/class_join")[0] for i, c in enumerate(clients)]
    Client(url, verbose=False).predict(TEACHER_KEY, api_name="/class_open_round")
    choices = clients[0].predict(seats[0], api_name="/class_round")["choices"]
    acknowledged: dict[int, str] = {}
    lock, enough = threading.Lock(), threading.Event()

    def answer(i: int) -> None:
        try:
            clients[i].predict(seats[i], choices[i % 4], api_name="/class_answer")
        except Exception:  # noqa: BLE001 (cut off by the kill: not acknowledged)
            return
        with lock:
            acknowledged[i] = choices[i % 4]
            if len(acknowledged) >= students // 3:
                enough.set()

    threads, _, _ = all_at_once(answer, students)
    enough.wait(timeout=60)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    for thread in threads:
        thread.join(timeout=120)
    with lock:
        told = dict(acknowledged)
    server, url = start_app(*CLASSROOM, database)
    try:
        wait_until_serving(url, server)
        students_now = [Client(url, verbose=False) for _ in range(students)]
        seen = [c.predict(seats[i], api_name="/class_round") for i, c in enumerate(students_now)]
        lost = [i for i, choice in told.items() if seen[i].get("you_chose") != choice]
        again = [i for i in range(students) if "you_chose" not in seen[i]]
        for i in again:  # the cut-off students carry on in their seats
            students_now[i].predict(seats[i], choices[i % 4], api_name="/class_answer")
        board = Client(url, verbose=False).predict(TEACHER_KEY, api_name="/class_board")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"acknowledged_before_kill": len(told), "in_flight_or_unsent": students - len(told),
            "acknowledged_lost": len(lost), "answered_again_from_their_seats": len(again),
            "players_after_restart": len(board["players"]), "answers_on_board": board["answers"]}


def main() -> None:
    from painting_classifier import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=RESULTS / "classroom_kill.json")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            result = killed_round(str(Path(folder) / "board.sqlite3"), args.students)
        result["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(result), flush=True)
        runs.append(result)
    summary = {**provenance(load_bundle(SHIPPED_MODEL).checksum, args.runs), "students": args.students,
               "acknowledged_answers": sum(r["acknowledged_before_kill"] for r in runs),
               "acknowledged_lost": sum(r["acknowledged_lost"] for r in runs),
               "every_student_on_the_board_once": all(r["players_after_restart"] == args.students
                                                      and r["answers_on_board"] == args.students for r in runs),
               "runs_detail": runs}
    args.json.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs_detail"}, indent=1))


if __name__ == "__main__":
    main()
