"""``manage.py import_catalog FILE [FILE...]``: validate, then store, catalog files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from indicators.catalog import CatalogInvalid
from indicators.services import framework_import


class Command(BaseCommand):
    help = (
        "Validates catalog files (YAML, see docs/catalog-format.md) and imports each as a draft. "
        "A file with any error writes nothing; importing the same content again is a no-op."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
        parser.add_argument(
            "--publish", action="store_true", help="Publish each imported draft (idempotent)."
        )

    def handle(self, *args: Any, files: list[Path], publish: bool, **options: Any) -> None:
        failures = 0
        for path in files:
            try:
                source = path.read_bytes()
            except OSError as exc:
                self.stderr.write(f"{path}: {exc.strerror}")
                failures += 1
                continue
            try:
                result = framework_import(
                    source=source, filename=path.name, acting_user=None, publish=publish
                )
            except CatalogInvalid as exc:
                for error in exc.errors:
                    self.stderr.write(str(error))
                failures += 1
            except ValidationError as exc:
                for message in exc.messages:
                    self.stderr.write(message)
                failures += 1
            else:
                self.stdout.write(f"{path.name}: {result.describe()}")
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) not imported.")
