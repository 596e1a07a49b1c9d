"""``manage.py render_ranking_exports``: the stored files (PDF, CSV, XLSX) of every published
ranking version that has none yet, or whose rendering failed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reports.rankings import rendering, services


class Command(BaseCommand):
    help = (
        "Creates the missing export files of published ranking versions (versions published "
        "before files were stored at publication, and failed renderings) and queues their "
        "rendering on the workers; with --now, renders them in this process. Idempotent: files "
        "already stored are never rendered again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            action="store_true",
            help="Render in this process instead of queueing (no worker needed).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queued = services.ranking_exports_requeue(acting_user=None, enqueue=not options["now"])
        if not queued:
            self.stdout.write("Every published version has its files.")
            return
        for ranking in queued:
            if options["now"]:
                counts = rendering.ranking_exports_render(ranking_id=ranking.pk)
                self.stdout.write(f"{ranking}: {counts or 'nothing left to render'}")
            else:
                self.stdout.write(f"{ranking}: rendering queued.")
        self.stdout.write(self.style.SUCCESS(f"{len(queued)} published versions handled."))
