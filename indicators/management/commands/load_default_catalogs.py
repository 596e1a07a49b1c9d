"""``manage.py load_default_catalogs``: import and publish the catalogs shipped with the app.

Idempotent: `make run` calls it every time; unchanged catalogs are left alone.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from indicators.services import default_catalogs_load


class Command(BaseCommand):
    help = "Imports and publishes indicators/catalogs/*.yaml; safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            results = default_catalogs_load(acting_user=None)
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from None
        for result in results:
            self.stdout.write(f"{result.framework.source_filename}: {result.describe()}")
