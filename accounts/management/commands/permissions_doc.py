"""``manage.py permissions_doc [--check]``: write docs/permissions.md from the access policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.policy import permissions_markdown

DOC = Path(settings.BASE_DIR) / "docs" / "permissions.md"


class Command(BaseCommand):
    help = "Writes docs/permissions.md from accounts/policy.py (--check: fail if it is stale)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Change nothing; exit 1 if the file is stale."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = permissions_markdown()
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if options["check"]:
            if current != text:
                raise CommandError(
                    f"{DOC} is stale: run `python manage.py permissions_doc` and commit it."
                )
            self.stdout.write("docs/permissions.md is up to date.")
            return
        DOC.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {DOC}.")
