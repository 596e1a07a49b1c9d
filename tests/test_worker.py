from __future__ import annotations

import pytest
from django.db import connection

from govcloud_eval.tasks import worker_probe_task
from tests.worker_support import WorkerProcess


@pytest.mark.worker
@pytest.mark.django_db
def test_a_task_travels_through_redis_to_a_real_worker_and_back(
    celery_worker: WorkerProcess,
) -> None:
    result = worker_probe_task.delay()

    try:
        answer = result.get(timeout=90)
    except Exception:
        print(celery_worker.log())
        raise

    # The answer came from another process, which used the same test database on PostgreSQL.
    assert celery_worker.process is not None and celery_worker.process.poll() is None
    assert answer["database_vendor"] == "postgresql"
    assert answer["database_name"] == connection.settings_dict["NAME"]
    assert answer["database_ok"] is True
    assert answer["pdf_subsetting"] is True
    assert result.successful()
