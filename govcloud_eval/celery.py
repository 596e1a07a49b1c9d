"""The Celery application. Configuration lives in Django settings under the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govcloud_eval.settings")

app = Celery("govcloud_eval")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["govcloud_eval"])

# The worker refuses to start when PDF fonts would fall back to the slow fontTools path.
import reports.worker_checks  # noqa: E402, F401
