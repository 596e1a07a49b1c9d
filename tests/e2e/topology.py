"""The deployed topology, on this machine: gunicorn (two workers, ``DEBUG=false``), two Celery
workers and Celery beat started by the command lines of docker-compose.yml, PostgreSQL, Redis and
S3 object storage (SeaweedFS, started by ``make test``), all configured only through the
environment, as a deployment is.

The processes share the test database of the pytest process (a transactional test: the rows are
committed, then flushed after the test), a Redis queue of their own, a fresh bucket, a fresh
signing certificate, an empty ``MEDIA_ROOT`` (which must stay empty: files go to the bucket) and
``PUBLIC_BASE_URL`` pointing at the gunicorn address (plain http, allowed explicitly).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from reports.certified.signing import dev_certificate_create
from tests.storage_support import S3Bucket
from tests.worker_support import LOG_DIR, ROOT, _database_url, compose_command

# Seconds: Celery's hard time limit for these processes, and Redis's visibility timeout (a
# killed worker's unacknowledged messages come back after it). A rendering older than the time
# limit is abandoned, and the sweeper (every few seconds here) queues it again.
TASK_TIME_LIMIT = 60
VISIBILITY_TIMEOUT = 75
SWEEP_INTERVAL = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes its children too
        )

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group, as a host or container dying would."""
        if self.popen is not None and self.running:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen is None or not self.running:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Topology:
    port: int
    base_url: str
    env: dict[str, str]
    queue: str
    bucket: str
    media_root: Path
    processes: dict[str, Process] = field(default_factory=dict)

    def add(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        process = Process(
            name, argv, {**self.env, **(env or {})}, LOG_DIR / f"e2e-{self.queue}-{name}.log"
        )
        self.processes[name] = process
        return process

    def logs(self) -> str:
        return "\n".join(
            f"--- {name} ({p.log_path}) ---\n{p.log()[-6000:]}"
            for name, p in self.processes.items()
        )

    def fail(self, message: str) -> None:
        pytest.fail(f"{message}\n{self.logs()}")

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            dead = [n for n, p in self.processes.items() if p.popen is not None and not p.running]
            crashed = [n for n in dead if n != "worker-1"]  # the test kills worker-1 itself
            if crashed:
                self.fail(f"{', '.join(crashed)} exited before {what}.")
            if time.monotonic() > deadline:
                self.fail(f"Timed out after {timeout} s waiting until {what}.")
            time.sleep(0.3)

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


def topology_env(
    *,
    database_url: str,
    redis_url: str,
    port: int,
    queue: str,
    s3: dict[str, str],
    bucket: str,
    signing_key: Path,
    signing_cert: Path,
    static_root: Path,
    media_root: Path,
) -> dict[str, str]:
    """The environment of every process: production settings, nothing from the pytest one
    but PATH, HOME and the locale."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "govcloud_eval.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "60",
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "CELERY_TASK_TIME_LIMIT": str(TASK_TIME_LIMIT),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "SWEEP_INTERVAL_SECONDS": str(SWEEP_INTERVAL),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        # A test topology on plain http (a real deployment is https).
        "PUBLIC_BASE_URL_ALLOW_HTTP": "true",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(static_root),
        "MEDIA_ROOT": str(media_root),
        **s3,
        "S3_BUCKET": bucket,
        "REPORT_SIGNING_KEY": str(signing_key),
        "REPORT_SIGNING_CERT": str(signing_cert),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


def topology_for(
    tmp_path: Path,
    s3_bucket: S3Bucket,
    *,
    queue_prefix: str,
    common_name: str,
    extra_env: dict[str, str] | None = None,
) -> Topology:
    """A topology on the test database, not started yet: a fresh signing certificate (its
    subject ``common_name``), a free port, a queue of its own (``<queue_prefix>-<random>``), an
    empty ``MEDIA_ROOT`` and ``s3_bucket``; ``extra_env`` overrides the environment."""
    key, cert = tmp_path / "signing-key.pem", tmp_path / "signing-cert.pem"
    dev_certificate_create(key_path=key, cert_path=cert, common_name=common_name)
    port = free_port()
    queue = f"{queue_prefix}-{uuid.uuid4().hex[:8]}"
    media_root = tmp_path / "media"
    media_root.mkdir()
    env = topology_env(
        database_url=_database_url(connection.settings_dict),
        redis_url=settings.REDIS_URL,
        port=port,
        queue=queue,
        s3=s3_bucket.environment(),
        bucket=s3_bucket.name,
        signing_key=key,
        signing_cert=cert,
        static_root=tmp_path / "static",
        media_root=media_root,
    )
    return Topology(
        port=port,
        base_url=f"http://127.0.0.1:{port}",
        env=env | (extra_env or {}),
        queue=queue,
        bucket=s3_bucket.name,
        media_root=media_root,
    )


def start(topology: Topology) -> None:
    """collectstatic, then gunicorn, two workers and beat; waits until the site answers."""
    static = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        env=topology.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if static.returncode != 0:
        pytest.fail(f"collectstatic failed:\n{static.stdout}\n{static.stderr}")
    web = compose_web_command(topology.port)
    topology.add("web", web).start()
    worker = compose_command("worker")
    for n in (1, 2):
        topology.add(f"worker-{n}", [*worker, f"--hostname=e2e-{n}-{uuid.uuid4().hex[:6]}@%h"])
        topology.processes[f"worker-{n}"].start()
    beat_schedule = LOG_DIR / f"e2e-{topology.queue}-beat-schedule"
    beat = [a for a in compose_command("beat") if not a.startswith("--schedule")]
    topology.add("beat", [*beat, f"--schedule={beat_schedule}"]).start()

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{topology.base_url}/login/", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    topology.wait_for(answers, 60, "gunicorn answers")


def compose_web_command(port: int) -> list[str]:
    """docker-compose's web command (``gunicorn govcloud_eval.wsgi …``) on ``port``, with two
    workers as the 2-core target asks."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return [
        gunicorn,
        "govcloud_eval.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--timeout",
        "120",
    ]
