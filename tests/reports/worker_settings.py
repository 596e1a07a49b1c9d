"""Settings of the worker that tests/reports/test_worker_crash.py kills.

The production settings with two changes that only make the test fast: Redis hands a dead
worker's unacknowledged task to another worker after 10 s instead of the time limit + 300 s, and
every scoring task sleeps a little, so that the SIGKILL lands in the middle of a campaign.
"""

from __future__ import annotations

import time

from celery.signals import task_prerun

from govcloud_eval.settings import *  # noqa: F403

CELERY_TASK_TIME_LIMIT = 8
CELERY_TASK_SOFT_TIME_LIMIT = 6
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 10,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


@task_prerun.connect(weak=False)
def _slow_down_scoring(sender: object = None, **kwargs: object) -> None:
    if getattr(sender, "name", "").startswith("reports.score_assessment"):
        time.sleep(0.05)
