"""The development database (SQLite, `make run`) takes concurrent writers: WAL mode, IMMEDIATE
transactions and a busy timeout, so that two autosaves at once both succeed instead of one
answering "database is locked".

The writers run in a fresh process on a real SQLite file with the portal's own settings (the
suite itself runs on PostgreSQL), in threads, each with its own connection, as runserver's
request threads do. Each writer reads before it writes inside a transaction: the pattern that
fails at once under SQLite's default (deferred) transactions, where a reader cannot wait to
become the writer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WRITERS = r"""
import threading, time
import django
django.setup()
from django.conf import settings
from django.db import connection, transaction

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE autosave (id INTEGER PRIMARY KEY, writer INTEGER, n INTEGER)")
    cursor.execute("PRAGMA journal_mode")
    print("journal", cursor.fetchone()[0])
connection.close()

errors = []
start = threading.Barrier(THREADS)

def writer(number):
    try:
        start.wait()
        for n in range(ROUNDS):
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT COUNT(*) FROM autosave WHERE writer = %s", [number])
                    seen = cursor.fetchone()[0]
                    time.sleep(0.002)  # the rest of the request, holding the transaction
                    cursor.execute(
                        "INSERT INTO autosave (writer, n) VALUES (%s, %s)", [number, seen]
                    )
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()

threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with connection.cursor() as cursor:
    cursor.execute("SELECT COUNT(*) FROM autosave")
    print("rows", cursor.fetchone()[0])
print("errors", len(errors))
for error in sorted(set(errors)):
    print("error", error)
"""


def _run(database: Path, threads: int, rounds: int) -> list[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DEBUG", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="govcloud_eval.settings",
        DATABASE_URL=f"sqlite:///{database}",
        REDIS_URL="",
    )
    code = WRITERS.replace("THREADS", str(threads)).replace("ROUNDS", str(rounds))
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_two_concurrent_writers_on_a_sqlite_file_both_succeed(tmp_path: Path) -> None:
    lines = _run(tmp_path / "dev.sqlite3", threads=2, rounds=25)

    assert "journal wal" in lines
    assert "errors 0" in lines, lines
    assert "rows 50" in lines


def test_many_concurrent_writers_never_meet_a_locked_database(tmp_path: Path) -> None:
    lines = _run(tmp_path / "dev.sqlite3", threads=8, rounds=10)

    assert "errors 0" in lines, lines
    assert "rows 80" in lines
