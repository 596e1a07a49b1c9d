"""Benchmark: score whole campaigns through a real Celery worker on PostgreSQL.

    make bench                                   # or:
    .venv/bin/python bench/score_campaign.py [--sizes 100 400] [--concurrency 2]

For each campaign size it builds a campaign of scored assessments (20 indicators × 2 assessors
each, on the default comprehensive catalog), starts scoring it exactly as the admin's button does
(``reports.scoring.services.campaign_scoring_start``: one task per assessment, sent to Redis),
waits for the run to finish in the database, and prints the wall time and the SQL queries per
assessment. The query count must not grow with the campaign.

The run is a group of tasks, each scoring a batch of 20 assessments in one transaction
(``reports.scoring.services.BATCH_SIZE``): a batch is read in a fixed number of queries, plus
one audit record per new result.

How it measures:
- wall time: from the start of ``campaign_scoring_start`` to the run's ``finished`` state, read
  by polling the database (so it includes queueing, the worker and the poll interval of 20 ms);
- queries per assessment: all the queries of the run's tasks divided by the assessments,
  counted inside the worker, around each task, by a
  ``connection.execute_wrapper`` (this script, started with ``--worker``, is the worker: it
  installs the counter and then runs ``celery worker``); every statement the task sends counts,
  the audit record and the run's progress counters included;
- queries to start the run: counted in this process (they do not depend on the size either).

The data is NOT made through the workflow services (answer, submit, rate and submit for 16,000
ratings would take minutes and measure the workflow, not scoring): ``tests/reports/bulk.py``
writes, with ``bulk_create``, the rows those services leave behind when every assessor has
submitted. Each size gets a campaign of its own; a first small run warms the worker up.

Environment: DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/gce_bench_scoring,
created if missing) and REDIS_URL (default redis://127.0.0.1:6379/13).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres:postgres@127.0.0.1:5432/gce_bench_scoring"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"


def _environment() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govcloud_eval.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")


# ----------------------------------------------------------------------------------------------
# The worker side


def run_worker(concurrency: int) -> None:
    """Runs `celery worker`, appending each scoring task's query count to $BENCH_QUERY_LOG."""
    _environment()
    import django

    django.setup()
    from celery import Task
    from celery.signals import task_postrun, task_prerun
    from django.db import connection

    from govcloud_eval.celery import app

    log_path = Path(os.environ["BENCH_QUERY_LOG"])
    counters: dict[str, list[int]] = {}

    def counting(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        for counter in counters.values():
            counter[0] += 1
        return execute(sql, params, many, context)

    @task_prerun.connect(weak=False)
    def _start(task_id: str, task: Task, args: tuple[Any, ...] = (), **kwargs: Any) -> None:
        if task.name == "reports.score_assessments":
            counters[task_id] = [0, len(args[0])]
            connection.execute_wrappers.append(counting)

    @task_postrun.connect(weak=False)
    def _stop(task_id: str, task: Task, **kwargs: Any) -> None:
        if task_id in counters:
            connection.execute_wrappers.remove(counting)
            queries, assessments = counters.pop(task_id)
            with log_path.open("a") as log:
                log.write(json.dumps({"queries": queries, "assessments": assessments}) + "\n")

    app.worker_main(
        [
            "worker",
            "--loglevel=WARNING",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            f"--queues={os.environ['CELERY_QUEUE']}",
            f"--hostname=bench-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


# ----------------------------------------------------------------------------------------------
# The measuring side


def _create_database(url: str) -> None:
    from _support import create_database

    create_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 400])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per size; the median wall time is reported"
    )
    parser.add_argument("--json", help="also write the figures to this file (see bench/summary.py)")
    parser.add_argument("--concurrency", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    queue = os.environ.setdefault("CELERY_QUEUE", f"bench-scoring-{uuid.uuid4().hex[:8]}")
    if args.worker:
        run_worker(args.concurrency)
        return

    _environment()
    _create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from govcloud_eval.tasks import worker_probe_task
    from indicators.models import Framework
    from indicators.services import default_catalogs_load
    from reports.models import CampaignScoringRun, ScoreResult
    from reports.scoring import services
    from tests.reports.bulk import bulk_scored_campaign

    call_command("migrate", verbosity=0)
    default_catalogs_load(acting_user=None)
    framework = Framework.objects.get(
        kind=Framework.Kind.COMPREHENSIVE, state=Framework.State.PUBLISHED
    )
    admin, _ = User.objects.get_or_create(
        username="bench_admin", defaults={"role": User.Role.ADMIN}
    )
    assessors = [
        User.objects.get_or_create(username=f"bench_expert{n}", defaults={"role": "assessor"})[0]
        for n in (1, 2)
    ]
    n_indicators = framework.indicators.count()

    log_path = ROOT / "var" / f"bench-queries-{queue}.jsonl"
    log_path.parent.mkdir(exist_ok=True)
    log_path.unlink(missing_ok=True)
    worker_log = (ROOT / "var" / "bench-worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, __file__, "--worker", f"--concurrency={args.concurrency}"],
        env=dict(os.environ, BENCH_QUERY_LOG=str(log_path)),
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        worker_probe_task.apply_async().get(timeout=120)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        print(
            f"PostgreSQL {connection.settings_dict['NAME']}, Redis {os.environ['REDIS_URL']}, "
            f"1 worker (prefork, concurrency {args.concurrency}), "
            f"{n_indicators} indicators × 2 assessors per assessment"
        )
        print(
            f"{'assessments':>11} {'wall s':>7} {'per s':>7} {'tasks':>6} {'queries':>8} "
            f"{'queries/assessment':>19} {'start queries':>14}"
        )
        walls: dict[int, list[float]] = {}
        per_assessment: dict[int, float] = {}
        runs = [(8, True)] + [(size, False) for size in args.sizes for _ in range(args.repeat)]
        for n, (size, warm_up) in enumerate(runs):
            campaign = bulk_scored_campaign(
                framework=framework,
                size=size,
                assessors=assessors,
                admin=admin,
                name=f"基准测试批次 {stamp} #{n} ({size})",
            )
            log_path.write_text("")
            with CaptureQueriesContext(connection) as start_queries:
                started = time.perf_counter()
                run = services.campaign_scoring_start(campaign=campaign, acting_user=admin)
            while True:
                state, done, failed = (
                    CampaignScoringRun.objects.filter(pk=run.pk)
                    .values_list("state", "done", "failed")
                    .get()
                )
                if state == CampaignScoringRun.State.FINISHED:
                    break
                if worker.poll() is not None:
                    raise SystemExit("The worker died; see var/bench-worker.log.")
                time.sleep(0.02)
            wall = time.perf_counter() - started
            time.sleep(0.2)  # the last task's postrun line
            tasks = [json.loads(line) for line in log_path.read_text().splitlines()]
            queries = sum(t["queries"] for t in tasks)
            scored = sum(t["assessments"] for t in tasks)
            current = ScoreResult.objects.filter(
                assessment__campaign=campaign, is_current=True
            ).count()
            assert (done, failed, current, scored) == (size, 0, size, size), (done, failed, current)
            if warm_up:
                continue
            walls.setdefault(size, []).append(wall)
            per_assessment[size] = queries / size
            print(
                f"{size:>11} {wall:>7.2f} {size / wall:>7.0f} {len(tasks):>6} {queries:>8} "
                f"{queries / size:>19.2f} {len(start_queries.captured_queries):>14}"
            )
        print()
        for size, measured in walls.items():
            print(
                f"{size:>11} assessments: median {statistics.median(measured):.2f} s "
                f"of {len(measured)} runs ({', '.join(f'{w:.2f}' for w in measured)})"
            )
        if args.json:
            from _support import row, write_rows

            small, large = min(walls), max(walls)
            median = {size: statistics.median(measured) for size, measured in walls.items()}
            write_rows(
                args.json,
                [
                    row(
                        f"campaign scoring, real worker ×{args.concurrency}: median s",
                        median[small],
                        median[large],
                        "≤ 5 at 400",
                        median[large] <= 5 if large >= 400 else None,
                    ),
                    row(
                        "campaign scoring: queries per assessment",
                        per_assessment[small],
                        per_assessment[large],
                        "no more at 400",
                        per_assessment[large] <= per_assessment[small],
                    ),
                ],
            )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        worker_log.close()
        log_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
