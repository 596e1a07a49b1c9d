"""Every task the code defines is registered in a worker started as docker-compose.yml starts it.

A deployed worker once missed the report-render task, and reports stayed ``pending`` forever: it
registers only the tasks of the modules autodiscovery imports, while the suite ran tasks
in-process. So the tasks are found here by reading the source (``ast``), never by importing what
the worker imports, and compared with what a real worker answers.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from celery.schedules import crontab
from django.apps import apps
from django.conf import LazySettings

from govcloud_eval.celery import TASK_PACKAGES
from govcloud_eval.celery import app as celery_app
from tests.worker_support import WorkerProcess, compose_command

ROOT = Path(__file__).resolve().parent.parent
# Decorators that define a task: ``@shared_task``, ``@celery.shared_task``, ``@app.task`` (any
# ``<app>.task``), each bare or called.
TASK_DECORATORS = {"shared_task", "task"}


@dataclass(frozen=True)
class TaskDefinition:
    name: str
    module: str  # dotted, such as reports.certified.tasks
    where: str  # path:line, for the messages


def project_packages() -> list[str]:
    """The project's top-level packages: the ones pyproject.toml installs (into the image too)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted({pattern.rstrip("*").rstrip(".") for pattern in patterns})


def _python_files(package: str) -> list[Path]:
    return sorted(
        path
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _decorator_name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return ""


def task_definitions() -> list[TaskDefinition]:
    """Every function of the project's packages decorated as a Celery task, with the name the
    worker registers it under: its ``name=`` keyword, or Celery's default ``module.function``."""
    found = []
    for package in project_packages():
        for path in _python_files(package):
            tree = ast.parse(path.read_text(), filename=str(path))
            module = _module_of(path)
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for decorator in node.decorator_list:
                    if _decorator_name(decorator) not in TASK_DECORATORS:
                        continue
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    name = f"{module}.{node.name}"
                    keywords = decorator.keywords if isinstance(decorator, ast.Call) else []
                    for keyword in keywords:
                        if keyword.arg == "name":
                            assert isinstance(keyword.value, ast.Constant), (
                                f"{where}: give the task's name= as a string literal"
                            )
                            name = str(keyword.value.value)
                    found.append(TaskDefinition(name, module, where))
    return found


def test_the_source_scan_finds_the_tasks_we_know() -> None:
    definitions = task_definitions()
    names = [d.name for d in definitions]

    assert {
        "govcloud_eval.worker_probe",
        "reports.render_report",
        "reports.render_ranking_exports",
        "reports.score_assessment",
        "reports.score_assessments",
        "reports.sweep",
        "notifications.send_notification_email",
        "notifications.send_deadline_reminders",
        "notifications.requeue_unsent_emails",
    } <= set(names)
    assert len(names) == len(set(names)), "two tasks share a name"
    assert {"govcloud_eval", "accounts", "audit", "reports", "notifications", "demo"} <= set(
        project_packages()
    )


def test_autodiscovery_covers_every_module_that_defines_a_task() -> None:
    # The worker imports ``<package>.tasks`` of every installed app and of TASK_PACKAGES, and
    # nothing else: a task anywhere else is never registered.
    discovered = {config.name for config in apps.get_app_configs()} | set(TASK_PACKAGES)
    elsewhere = [
        d.where
        for d in task_definitions()
        if not d.module.endswith(".tasks") or d.module.removesuffix(".tasks") not in discovered
    ]
    tasks_modules = {
        _module_of(path).removesuffix(".tasks")
        for package in project_packages()
        for path in _python_files(package)
        if path.name == "tasks.py"
    }

    assert elsewhere == [], "tasks outside the modules autodiscovery imports"
    assert sorted(tasks_modules - discovered) == [], "add these packages to TASK_PACKAGES"
    assert sorted(set(TASK_PACKAGES) - tasks_modules) == [], "TASK_PACKAGES names no tasks.py"


@pytest.mark.worker
def test_a_worker_started_as_docker_compose_starts_it_registers_every_task_of_the_code(
    compose_worker: WorkerProcess,
) -> None:
    compose_worker.start()
    node = compose_worker.wait_ready()

    replies = celery_app.control.inspect([node], timeout=10).registered() or {}
    if node not in replies:
        compose_worker.fail(f"{node} did not say which tasks it has.")

    registered = set(replies[node])
    defined = {d.name for d in task_definitions()}
    assert sorted(defined - registered) == [], "defined in the code, unknown to the worker"
    assert sorted(registered - defined) == [], "registered by the worker, not found in the code"


# ----------------------------------------------------------------------------------------------
# Beat: sends the sweeper, a task the worker has


def test_beat_sends_the_sweeper_every_interval_and_only_tasks_the_code_defines(
    settings: LazySettings,
) -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    defined = {d.name for d in task_definitions()}

    assert {entry["task"] for entry in schedule.values()} <= defined
    assert schedule["reports-sweep"]["task"] == "reports.sweep"
    assert schedule["reports-sweep"]["schedule"] == settings.SWEEP_INTERVAL_SECONDS
    # Deadline reminders: once a day.
    reminders = schedule["notifications-deadline-reminders"]
    assert reminders["task"] == "notifications.send_deadline_reminders"
    assert reminders["schedule"] == crontab(hour=8, minute=0)
    # E-mails left unsent: queued again every hour.
    requeue = schedule["notifications-requeue-unsent-emails"]
    assert requeue["task"] == "notifications.requeue_unsent_emails"
    assert requeue["schedule"] == crontab(minute=20)


def _beat_schedule_with(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CELERY_BEAT_SCHEDULE['reports-sweep']['schedule'])"
    )
    clean = {k: v for k, v in os.environ.items() if k != "SWEEP_INTERVAL_SECONDS"}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "govcloud_eval.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_sweep_interval_comes_from_the_environment_a_minute_by_default() -> None:
    assert _beat_schedule_with().stdout.strip() == "60.0"
    assert _beat_schedule_with(SWEEP_INTERVAL_SECONDS="15").stdout.strip() == "15.0"
    refused = _beat_schedule_with(SWEEP_INTERVAL_SECONDS="0")
    assert refused.returncode != 0
    assert "SWEEP_INTERVAL_SECONDS must be a positive number" in refused.stderr


def test_docker_compose_runs_beat_on_the_workers_image_and_configuration() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    beat, worker = services["beat"], services["worker"]

    for key in ("image", "build", "environment", "depends_on"):
        assert beat[key] == worker[key], key
    assert beat["command"][:4] == ["celery", "-A", "govcloud_eval", "beat"]
    # The image's /app is not writable by its user: the schedule file lives in /tmp.
    assert [arg for arg in beat["command"] if arg.startswith("--schedule=/tmp/")]


@pytest.mark.worker
def test_beat_started_as_docker_compose_starts_it_sends_the_sweeper(
    compose_worker: WorkerProcess, tmp_path: Path
) -> None:
    # The compose command line, with the schedule file in the test's own folder (the one in
    # /tmp would be shared with anything else on this machine) and a sweep every second.
    argv = [
        f"--schedule={tmp_path / 'celerybeat-schedule'}" if arg.startswith("--schedule=") else arg
        for arg in compose_command("beat")
    ]
    beat = WorkerProcess(
        compose_worker.queue,
        compose_worker.database_url,
        argv=argv,
        env={"SWEEP_INTERVAL_SECONDS": "1"},
    )
    beat.start()
    try:
        with (
            celery_app.connection_for_read() as connection,
            connection.SimpleQueue(compose_worker.queue, no_ack=True) as queue,
        ):
            try:
                message = queue.get(timeout=60)
            except queue.Empty:
                beat.fail("beat sent nothing within 60 s.")
        assert message.headers["task"] == "reports.sweep"
        assert beat.process is not None and beat.process.poll() is None
    finally:
        beat.stop()
