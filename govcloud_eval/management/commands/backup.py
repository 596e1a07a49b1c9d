"""``manage.py backup [FOLDER]``: the database and every stored file, with a manifest of hashes
(``govcloud_eval.backup``). ``make backup`` runs it into var/backups/<time>."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from govcloud_eval.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database and every stored file, with a SHA-256 manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "folder",
            nargs="?",
            help="a new folder for the backup (default: var/backups/<UTC time>)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = Path(options["folder"] or Path(settings.VAR_DIR) / "backups" / stamp)
        try:
            manifest = backup_create(folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        size = sum(f.size for f in manifest.files)
        self.stdout.write(
            f"Backup written to {folder}: {sum(manifest.rows.values())} rows in "
            f"{len(manifest.rows)} tables, {len(manifest.files)} files ({size} bytes); "
            f"database SHA-256 {manifest.database_sha256}."
        )
