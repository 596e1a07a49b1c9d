"""``manage.py restore FOLDER``: a backup made by ``manage.py backup`` into an empty database
and storage, verified afterwards (row counts and every file's SHA-256)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from govcloud_eval.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a backup into an empty database and storage, and verify it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", help="the backup's folder (it holds manifest.json)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            restored = backup_restore(Path(options["folder"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Restored and verified: {restored.rows} rows, {restored.files} files, "
            "each matching the backup's manifest; the audit trail's hash chain is intact "
            f"({restored.audit_records} sealed records)."
        )
