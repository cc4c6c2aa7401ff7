"""Classroom mode under a class: 30 students join and answer the same painting within one second.

    python -m benchmarks.serving.classroom_round [--students 30] [--runs 3]

Starts ``python app.py --classroom`` (the shipped model and quiz, a fresh board file, rounds paced by the teacher);
30 HTTP clients (``gradio_client``, one session each, as 30 phones) join with nicknames, the teacher opens round 1,
and all answer it at once (released together by a barrier). The last answer closes the round, so the teacher's
board shows the round's answers then. Measures how long each answer takes and when all of them are on the board
(``/class_board``, polled), then restarts the app on the same board file and checks that the board is identical.
Writes benchmarks/results/classroom_round.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common.app_client import all_at_once, start_app, wait_until_serving
from benchmarks.common.paths import RESULTS, SHIPPED_MODEL
from benchmarks.common.provenance import provenance

TEACHER_KEY = "benchmark-teacher"  # the board is the teacher's: it takes the key
# the whole class joins from this machine's one address
CLASSROOM = ("--classroom", "--teacher-key", TEACHER_KEY, "--joins-per-minute", "60", "--round-seconds", "300",
             "--classroom-db")


def one_round(url: str, students: int) -> dict:
    """Join ``students`` clients, release their answers together; seconds per answer and until all are on the board."""
    from gradio_client import Client

    clients, seats = [], []
    for i in range(students):
        client = Client(url, verbose=False)
        seats.append(client.predict(f"student {i + 1}", api_name="/class_join")[0])
        clients.append(client)
    teacher = Client(url, verbose=False)
    teacher.predict(TEACHER_KEY, api_name="/class_open_round")
    choices = clients[0].predict(seats[0], api_name="/class_round")["choices"]
    errors = []

    def answer(i: int) -> None:
        try:
            clients[i].predict(seats[i], choices[i % 4], api_name="/class_answer")
        except Exception as exc:  # noqa: BLE001 (reported in the results)
            errors.append(str(exc))

    threads, released, took = all_at_once(answer, students)
    on_board = None
    while time.perf_counter() - released < 30:
        if teacher.predict(TEACHER_KEY, api_name="/class_board")["answers"] >= students:
            on_board = time.perf_counter() - released
            break
    for thread in threads:
        thread.join()
    board = teacher.predict(TEACHER_KEY, api_name="/class_board")
    return {"answers_on_board": board["answers"], "players": len(board["players"]), "errors": errors,
            "all_on_board_s": round(on_board, 3) if on_board is not None else None,
            "answer_s_median": round(statistics.median(took), 3), "answer_s_max": round(max(took), 3), "board": board}


def main() -> None:
    from gradio_client import Client

    from painting_classifier import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS / "classroom_round.json")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            database = str(Path(folder) / "board.sqlite3")
            server, url = start_app(*CLASSROOM, database)
            try:
                wait_until_serving(url, server)
                result = one_round(url, args.students)
            finally:
                server.terminate()
                server.wait(timeout=30)
            server, url = start_app(*CLASSROOM, database)
            try:
                wait_until_serving(url, server)
                result["identical_after_restart"] = Client(url, verbose=False).predict(
                    TEACHER_KEY, api_name="/class_board") == result.pop("board")
            finally:
                server.terminate()
                server.wait(timeout=30)
        print(json.dumps(result), flush=True)
        runs.append(result)
    summary = {**provenance(load_bundle(SHIPPED_MODEL).checksum, args.runs), "students": args.students,
               "all_answers_on_board_within_3s": all(r["all_on_board_s"] is not None and r["all_on_board_s"] <= 3
                                                     and r["answers_on_board"] == args.students for r in runs),
               "all_on_board_s_max": max((r["all_on_board_s"] or float("inf")) for r in runs),
               "identical_after_restart": all(r["identical_after_restart"] for r in runs), "runs_detail": runs}
    args.json.write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "runs_detail"}, indent=1))


if __name__ == "__main__":
    main()
