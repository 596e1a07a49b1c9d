from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from audit import chain


class Command(BaseCommand):
    help = (
        "Checks the audit trail's whole hash chain and names the first broken record; exits 1 "
        "when the chain is broken. --seal first seals records still awaiting their seal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seal",
            action="store_true",
            help="Seal the records awaiting their seal before checking.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override("en"):
            if options["seal"]:
                sealed = chain.seal_pending()
                self.stdout.write(f"Sealed {sealed} record(s) awaiting their seal.")
            result = chain.verify_and_record(requested_by="manage.py verify_audit_log")
            if result.unsealed:
                self.stdout.write(
                    f"{result.unsealed} record(s) not sealed yet (not checked; --seal seals them)."
                )
            if not result.intact:
                raise CommandError(
                    f"The audit chain is broken after {result.checked} intact record(s). "
                    f"First broken: position #{result.broken_seq}"
                    + (
                        f", record id {result.broken_event_id}"
                        if result.broken_event_id is not None
                        else ""
                    )
                    + f". {result.problem}"
                )
            self.stdout.write(
                self.style.SUCCESS(f"The audit chain is intact: {result.checked} record(s).")
            )
