"""The Celery application. Configuration lives in Django settings under the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govcloud_eval.settings")

app = Celery("govcloud_eval")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Every module that defines tasks, found when the worker starts: the ``tasks`` module of each
# installed app, and of the parts of an app that has several (reports). A worker that misses one
# never runs its tasks: ``tests/test_worker_tasks.py`` compares this list with the code.
TASK_PACKAGES = [
    "govcloud_eval",
    "assessments.evidence",
    "reports.scoring",
    "reports.certified",
    "reports.rankings",
]
app.autodiscover_tasks()
app.autodiscover_tasks(TASK_PACKAGES)

# The worker refuses to start when PDF fonts would fall back to the slow fontTools path.
import govcloud_eval.worker_checks  # noqa: E402, F401
