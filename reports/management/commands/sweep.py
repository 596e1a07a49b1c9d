"""``manage.py sweep``: queue again the work whose Celery message was lost, now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from reports import sweeper


class Command(BaseCommand):
    help = (
        "Queues again the rendering of stuck certified reports and the pending assessments of "
        "stalled campaign scoring runs, as celery beat does every SWEEP_INTERVAL_SECONDS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = sweeper.reports_sweep(acting_user=None)
        for number, state in outcome.reports:
            self.stdout.write(f"Report {number} ({state}): rendering queued again.")
        for run_id, count in outcome.runs.items():
            self.stdout.write(f"Campaign scoring run {run_id}: {count} assessments queued again.")
        if not outcome.requeued:
            self.stdout.write("Nothing to queue again.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Queued again: {len(outcome.reports)} reports, {outcome.assessments} "
                f"assessments of {len(outcome.runs)} scoring runs."
            )
        )
