"""``manage.py score_campaign <campaign id> [--wait] [--resume]``: score a whole campaign."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessments.models import Campaign
from reports.scoring import selectors, services


class Command(BaseCommand):
    help = (
        "Scores every scored or approved assessment of a campaign, one Celery task each, and "
        "records the progress in the database (as the campaign page's button does)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign_id", type=int)
        parser.add_argument(
            "--wait", action="store_true", help="Follow the progress until the run finishes."
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="Queue again the assessments a running run has not counted yet (lost tasks).",
        )
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to --wait.")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.filter(pk=options["campaign_id"]).first()
        if campaign is None:
            raise CommandError(f"No campaign with id {options['campaign_id']}.")
        running = selectors.scoring_run_running(campaign=campaign)
        if options["resume"] and running is not None:
            queued = services.campaign_scoring_resume(run=running, acting_user=None)
            self.stdout.write(f"Run {running.pk}: queued {queued} assessments again.")
            run = running
        else:
            run = services.campaign_scoring_start(campaign=campaign, acting_user=None)
            verb = "already running" if running is not None else "started"
            self.stdout.write(f"Run {run.pk} {verb}: {run.total} assessments of {campaign}.")
        if not options["wait"]:
            return
        deadline = time.monotonic() + options["timeout"]
        while True:
            run.refresh_from_db()
            self.stdout.write(f"  {run.done + run.failed}/{run.total} ({run.failed} failed)")
            if run.state != run.State.RUNNING:
                break
            if time.monotonic() > deadline:
                raise CommandError("Timed out waiting; the run goes on in the workers.")
            time.sleep(1)
        if run.failed:
            raise CommandError(f"{run.failed} assessments failed; see the worker's log.")
        self.stdout.write(self.style.SUCCESS(f"Scored {run.done} assessments."))
