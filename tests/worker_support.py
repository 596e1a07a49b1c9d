"""A real Celery worker for the tests that are about the worker.

The worker is a separate process, started with the same settings as the tests but pointed at the
test database, listening on a queue of its own (so no other worker on the same Redis can take the
test's tasks). Tests that need it take the ``celery_worker`` fixture and the ``worker`` marker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from govcloud_eval.celery import app as celery_app

LOG_DIR = Path(__file__).resolve().parent.parent / "var"


def _database_url(settings_dict: dict[str, object]) -> str:
    user = quote(str(settings_dict.get("USER") or ""))
    password = quote(str(settings_dict.get("PASSWORD") or ""))
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class WorkerProcess:
    """One `celery worker` process; can be started, stopped, and killed like a crash."""

    def __init__(self, queue: str, database_url: str) -> None:
        self.queue = queue
        self.database_url = database_url
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = LOG_DIR / f"test-worker-{queue}.log"

    def start(self) -> None:
        env = dict(os.environ, DATABASE_URL=self.database_url, CELERY_QUEUE=self.queue)
        LOG_DIR.mkdir(exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "govcloud_eval",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                f"--queues={self.queue}",
                f"--hostname={self.queue}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )

    def kill(self) -> None:
        """SIGKILL, as a crash would: the worker gets no chance to acknowledge or clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker: object) -> Iterator[WorkerProcess]:
    from django.db import connection

    if celery_app.conf.broker_url.startswith("memory"):
        pytest.fail("REDIS_URL is not set: worker tests need Redis (`make test` sets it).")
    queue = f"gce-test-{uuid.uuid4().hex[:8]}"
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    celery_app.conf.task_always_eager = False
    worker = WorkerProcess(queue, _database_url(connection.settings_dict))
    worker.start()
    yield worker
    worker.stop()
    celery_app.conf.task_default_queue = previous_queue
