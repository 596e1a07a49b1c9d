"""``manage.py export_oscal_catalog CODE VERSION [-o FILE]``: a framework as an OSCAL catalog."""

from __future__ import annotations

from indicators.management.commands.export_catalog import FrameworkExportCommand
from indicators.models import Framework
from indicators.oscal import framework_oscal, oscal_dump


class Command(FrameworkExportCommand):
    help = (
        "Writes one framework version as an OSCAL catalog in JSON (to standard output by "
        "default); see docs/oscal.md."
    )

    def render(self, framework: Framework) -> str:
        return oscal_dump(framework_oscal(framework))
