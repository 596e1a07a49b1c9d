"""Benchmark: issue a whole campaign's certified reports and render them through a real worker.

    make bench                                   # or:
    .venv/bin/python bench/reports_batch.py [--sizes 10 400] [--concurrency 2] [--json PATH]

For each size it builds a campaign of approved assessments (the default comprehensive catalog:
20 indicators, 2 assessors with a rationale each per indicator, 2 evidence files per answer,
scored), then issues every assessment's report exactly as the admin's button does
(``reports.certified.services.report_issue``, one call per assessment: it freezes the snapshot
and queues ``reports.render_report`` to Redis when its transaction commits), and waits, polling
the database, until every report is ``ready`` (or ``failed``). The worker (this script started
with ``--worker``) is ``celery worker`` with the prefork pool and 2 processes; it renders, signs
(PAdES B-LT with a throw-away self-signed certificate, the development seal in the visible
signature) and stores each PDF in a temporary MEDIA_ROOT, as in production without S3.

Prints, per size: the wall time from the first issue to the last report ready (issuing, queueing,
rendering, signing, storing; the poll interval is 50 ms), reports per second, the CPU seconds
each render task took in its worker process (measured around each task), the issuing time, and
the machine's load average before the run (the machine is shared: other work inflates the
figures). Goal (issue 14): 400 reports in ≤ 180 s on 2 worker processes.

The data is made with ``tests/reports/bulk.py`` (``bulk_scored_campaign`` then
``bulk_approved_campaign_finish``), not through the workflow services: that would take minutes
and measure the workflow. A first small campaign warms the worker up (fonts, stylesheet, key).

Environment: DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/gce_bench_reports,
created if missing) and REDIS_URL (default redis://127.0.0.1:6379/13).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres:postgres@127.0.0.1:5432/gce_bench_reports"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
SEAL = ROOT / "static" / "certified" / "report-seal-development.png"
GOAL_SECONDS = 180  # for 400 reports
GOAL_SIZE = 400
RATIONALE = (
    "依据自评说明、平台监测数据与现场核查记录，该项达到相应评分档次要求；"
    "佐证材料齐全，数据口径与评估方法一致。"
)


def _environment() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govcloud_eval.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("REPORT_SEAL_IMAGE", str(SEAL))
    # Reports go to MEDIA_ROOT (set by the measuring side), not to an object store.
    os.environ.pop("S3_BUCKET", None)


# ----------------------------------------------------------------------------------------------
# The worker side


def run_worker(concurrency: int) -> None:
    """Runs `celery worker`, appending each render task's CPU time to $BENCH_CPU_LOG."""
    _environment()
    import django

    django.setup()
    from celery import Task
    from celery.signals import task_postrun, task_prerun

    from govcloud_eval.celery import app

    log_path = Path(os.environ["BENCH_CPU_LOG"])
    started: dict[str, tuple[float, float]] = {}

    @task_prerun.connect(weak=False)
    def _start(task_id: str, task: Task, **kwargs: Any) -> None:
        if task.name == "reports.render_report":
            started[task_id] = (time.process_time(), time.perf_counter())

    @task_postrun.connect(weak=False)
    def _stop(task_id: str, task: Task, retval: Any = None, **kwargs: Any) -> None:
        if task_id in started:
            cpu, wall = started.pop(task_id)
            line = {
                "cpu": time.process_time() - cpu,
                "wall": time.perf_counter() - wall,
                "status": retval,
            }
            with log_path.open("a") as log:
                log.write(json.dumps(line) + "\n")

    app.worker_main(
        [
            "worker",
            "--loglevel=WARNING",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            f"--queues={os.environ['CELERY_QUEUE']}",
            f"--hostname=bench-reports-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


# ----------------------------------------------------------------------------------------------
# The measuring side


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 400])
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--json", help="also write the figures to this file (see bench/summary.py)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("CELERY_QUEUE", f"bench-reports-{uuid.uuid4().hex[:8]}")
    if args.worker:
        run_worker(args.concurrency)
        return

    work = Path(tempfile.mkdtemp(prefix="gce-bench-reports-"))
    os.environ["MEDIA_ROOT"] = str(work / "media")
    os.environ["REPORT_SIGNING_KEY"] = str(work / "key.pem")
    os.environ["REPORT_SIGNING_CERT"] = str(work / "cert.pem")
    _environment()
    from _support import create_database

    create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from govcloud_eval.tasks import worker_probe_task
    from indicators.models import Framework
    from indicators.services import default_catalogs_load
    from reports.certified.services import report_issue
    from reports.certified.signing import dev_certificate_create
    from reports.models import Report
    from tests.reports.bulk import bulk_approved_campaign_finish, bulk_scored_campaign

    dev_certificate_create(
        key_path=work / "key.pem", cert_path=work / "cert.pem", common_name="bench"
    )
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

    log_path = work / "cpu.jsonl"
    worker_log_path = ROOT / "var" / "bench-reports-worker.log"
    worker_log_path.parent.mkdir(exist_ok=True)
    worker_log = worker_log_path.open("w")
    worker = subprocess.Popen(
        [sys.executable, __file__, "--worker", f"--concurrency={args.concurrency}"],
        env=dict(os.environ, BENCH_CPU_LOG=str(log_path)),
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    results: dict[int, dict[str, float]] = {}
    try:
        worker_probe_task.apply_async().get(timeout=120)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        print(
            f"PostgreSQL {connection.settings_dict['NAME']}, Redis {os.environ['REDIS_URL']}, "
            f"1 worker (prefork, concurrency {args.concurrency}), files in MEDIA_ROOT; "
            f"{os.cpu_count()} CPUs"
        )
        print(
            f"{'reports':>7} {'wall s':>7} {'per s':>6} {'CPU s/report':>13} "
            f"{'task wall s':>12} {'issue s':>8} {'KB/report':>10}  load average before"
        )
        for n, (size, warm_up) in enumerate([(4, True)] + [(s, False) for s in args.sizes]):
            campaign = bulk_scored_campaign(
                framework=framework,
                size=size,
                assessors=assessors,
                admin=admin,
                name=f"报告基准测试 {stamp} #{n} ({size})",
            )
            bulk_approved_campaign_finish(
                campaign=campaign, admin=admin, rationale=RATIONALE, evidence_per_indicator=2
            )
            assessments = list(campaign.assessments.order_by("pk"))
            log_path.write_text("")
            load = load_average()
            started = time.perf_counter()
            for assessment in assessments:
                report_issue(assessment=assessment, acting_user=admin)
            issued = time.perf_counter() - started
            ours = Report.objects.filter(assessment__campaign=campaign)
            while True:
                finished = ours.filter(state__in=[Report.State.READY, Report.State.FAILED]).count()
                if finished == size:
                    break
                if worker.poll() is not None:
                    raise SystemExit(f"The worker died; see {worker_log_path}.")
                time.sleep(0.05)
            wall = time.perf_counter() - started
            time.sleep(0.3)  # the last task's postrun line
            failed = list(ours.filter(state=Report.State.FAILED).values_list("error", flat=True))
            if failed:
                raise SystemExit(f"{len(failed)} reports failed, e.g.: {failed[0]}")
            tasks = [json.loads(line) for line in log_path.read_text().splitlines()]
            cpu = sum(t["cpu"] for t in tasks) / size
            task_wall = statistics.median(t["wall"] for t in tasks)
            kilobytes = sum(b or 0 for b in ours.values_list("size", flat=True)) / size / 1000
            if warm_up:
                continue
            results[size] = {"wall": wall, "cpu": cpu, "kb": kilobytes}
            print(
                f"{size:>7} {wall:>7.1f} {size / wall:>6.2f} {cpu:>13.3f} {task_wall:>12.3f} "
                f"{issued:>8.1f} {kilobytes:>10.0f}  {load}"
            )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        worker_log.close()
        shutil.rmtree(work, ignore_errors=True)

    large = results.get(GOAL_SIZE)
    if large is not None:
        met = large["wall"] <= GOAL_SECONDS
        print(
            f"goal: {GOAL_SIZE} reports in ≤ {GOAL_SECONDS} s on {args.concurrency} worker "
            f"processes: {large['wall']:.0f} s ({'met' if met else 'MISSED'})"
        )
    if args.json:
        from _support import row, write_rows

        small_size, large_size = min(results), max(results)
        small, big = results[small_size], results[large_size]
        at_goal = large_size == GOAL_SIZE
        write_rows(
            args.json,
            [
                row(
                    f"reports: wall time, issue to all ready (s), N={small_size} / {large_size}",
                    round(small["wall"], 1),
                    round(big["wall"], 1),
                    f"≤ {GOAL_SECONDS} at {GOAL_SIZE}",
                    big["wall"] <= GOAL_SECONDS if at_goal else None,
                ),
                row(
                    "reports: per second",
                    round(small_size / small["wall"], 2),
                    round(large_size / big["wall"], 2),
                    f"≥ {GOAL_SIZE / GOAL_SECONDS:.2f} at {GOAL_SIZE}",
                    large_size / big["wall"] >= GOAL_SIZE / GOAL_SECONDS if at_goal else None,
                ),
                row(
                    "reports: worker CPU per report (s)",
                    round(small["cpu"], 3),
                    round(big["cpu"], 3),
                    "",
                    None,
                ),
                row(
                    "reports: file size (KB)",
                    round(small["kb"]),
                    round(big["kb"]),
                    "≤ 400",
                    big["kb"] <= 400,
                ),
            ],
        )


if __name__ == "__main__":
    main()
