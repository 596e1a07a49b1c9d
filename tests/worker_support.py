"""A real Celery worker for the tests that are about the worker.

The worker is a separate process, started with the same settings as the tests but pointed at the
test database, listening on a queue of its own (so no other worker on the same Redis can take the
test's tasks). Tests that need it take the ``celery_worker`` fixture and the ``worker`` marker.

``compose_worker`` is a worker started by the very command line docker-compose.yml gives its
``worker`` service (only the environment points it at the test database and queue), for the tests
that must see what a deployed worker sees.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from kombu import Queue
from pytest_django import DjangoDbBlocker

from govcloud_eval.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var"


def _database_url(settings_dict: dict[str, object]) -> str:
    user = quote(str(settings_dict.get("USER") or ""))
    password = quote(str(settings_dict.get("PASSWORD") or ""))
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def compose_command(service: str) -> list[str]:
    """The command docker-compose.yml runs for ``service``, as an argv, with its program (say
    ``celery``) taken from this virtualenv, as the image's PATH finds the installed one."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"][service]["command"]
    argv = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
    program = shutil.which(argv[0], path=str(Path(sys.executable).parent))
    if program is None:
        pytest.fail(f"{argv[0]!r} (the {service} command of docker-compose.yml) is not installed.")
    return [program, *argv[1:]]


def queue_purge(queue: str) -> int:
    """Deletes the messages waiting in ``queue`` (as a flushed broker would); returns how many."""
    with celery_app.connection_for_write() as connection:
        return int(Queue(queue, channel=connection.default_channel).purge() or 0)


class WorkerProcess:
    """One `celery worker` process; can be started, stopped, and killed like a crash.

    ``argv`` replaces the default command line (a solo worker on ``queue``); the worker then gets
    its queue from ``CELERY_QUEUE`` in its environment, as a deployed one does. ``env`` adds to
    the environment (say, where reports are stored and signed).
    """

    def __init__(
        self,
        queue: str,
        database_url: str,
        *,
        argv: list[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.queue = queue
        self.database_url = database_url
        self.argv = argv
        self.env: dict[str, str] = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = LOG_DIR / f"test-worker-{queue}.log"

    def command(self) -> list[str]:
        if self.argv is not None:
            return list(self.argv)
        return [
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
        ]

    def start(self) -> None:
        env = dict(os.environ, **self.env, DATABASE_URL=self.database_url, CELERY_QUEUE=self.queue)
        LOG_DIR.mkdir(exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            # Its own process group, so that stop() can take a prefork worker's children too.
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL, as a crash would: the worker gets no chance to acknowledge or clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Stuck in its warm shutdown: kill its whole process group (a prefork pool's
            # children too) while the group is surely still ours.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def fail(self, message: str) -> None:
        pytest.fail(f"{message}\n--- worker log ({self.log_path}) ---\n{self.log()[-8000:]}")

    def wait_ready(self, timeout: float = 90) -> str:
        """Waits until the worker answers the broker's broadcasts and returns its node name
        (``celery@host``); fails with its log if it exits or stays silent past ``timeout``."""
        assert self.process is not None, "start() the worker first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"The worker exited with status {self.process.returncode}.")
            replies = celery_app.control.inspect(timeout=1).stats() or {}
            for node, stats in replies.items():
                if stats.get("pid") == self.process.pid:
                    return node
        self.fail(f"The worker did not answer within {timeout} s.")
        raise AssertionError  # unreachable: fail() raises

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Polls ``condition`` until it holds; fails with the worker's log after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process is not None and self.process.poll() is not None:
                self.fail(f"The worker exited (status {self.process.returncode}) before {what}.")
            if time.monotonic() > deadline:
                self.fail(f"Timed out after {timeout} s waiting until {what}.")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[WorkerProcess]:
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


@pytest.fixture
def compose_worker(django_db_setup: None) -> Iterator[WorkerProcess]:
    """A worker started, when the test says so, exactly as docker-compose.yml starts its
    ``worker`` service, on a queue of its own that is the test's default queue from the start
    (so what the test queues before starting it waits for it). Stopped, and its queue purged,
    after the test."""
    from django.db import connection

    if celery_app.conf.broker_url.startswith("memory"):
        pytest.fail("REDIS_URL is not set: worker tests need Redis (`make test` sets it).")
    queue = f"gce-compose-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue, celery_app.conf.task_always_eager
    celery_app.conf.task_default_queue = queue
    celery_app.conf.task_always_eager = False
    worker = WorkerProcess(
        queue, _database_url(connection.settings_dict), argv=compose_command("worker")
    )
    yield worker
    worker.stop()
    queue_purge(queue)
    celery_app.conf.task_default_queue, celery_app.conf.task_always_eager = previous
