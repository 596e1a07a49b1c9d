"""``manage.py export_catalog CODE VERSION [-o FILE]``: write a framework as a catalog file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from indicators.catalog import document_dump, framework_document
from indicators.models import Framework
from indicators.selectors import framework_with_tree


class FrameworkExportCommand(BaseCommand):
    """Finds CODE VERSION and writes ``render(framework)`` to standard output or ``-o FILE``."""

    def render(self, framework: Framework) -> str:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("version")
        parser.add_argument("-o", "--output", type=Path, help="Write to this file instead.")

    def handle(
        self, *args: Any, code: str, version: str, output: Path | None, **options: Any
    ) -> None:
        framework = Framework.objects.filter(code=code, version=version).first()
        if framework is None:
            raise CommandError(f"No framework {code} {version}.")
        text = self.render(framework_with_tree(pk=framework.pk))
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}.")


class Command(FrameworkExportCommand):
    help = "Writes one framework version in the catalog format (to standard output by default)."

    def render(self, framework: Framework) -> str:
        return document_dump(framework_document(framework))
