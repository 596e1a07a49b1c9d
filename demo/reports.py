"""Demo certified reports: issued and rendered through the real services."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from accounts.models import User
from assessments.models import Assessment, Campaign
from reports.certified.models import Report
from reports.certified.rendering import report_render
from reports.certified.services import report_issue


def demo_reports_issue(*, campaign: Campaign | None = None) -> list[Report]:
    """Issues and renders (in this process) the Chinese report of every approved assessment of
    the demo campaigns (or of ``campaign`` only) that has none in force, through the real
    services, as the demo admin. Idempotent. Creates the development signing certificate first when
    DEBUG is on and none is configured."""
    if settings.DEBUG:
        call_command("make_dev_certificate", verbosity=0)
    admin = User.objects.filter(is_demo=True, role=User.Role.ADMIN).order_by("pk").first()
    if admin is None:
        return []
    campaigns = Campaign.objects.filter(is_demo=True)
    if campaign is not None:
        campaigns = campaigns.filter(pk=campaign.pk)
    approved = Assessment.objects.filter(
        campaign__in=campaigns, state=Assessment.State.APPROVED
    ).exclude(
        certified_reports__status=Report.Status.ISSUED,
        certified_reports__language=Report.Language.CHINESE,
    )
    issued = []
    for assessment in approved.order_by("cloud__owner__division_code", "pk"):
        with transaction.atomic():
            report = report_issue(assessment=assessment, acting_user=admin)
        # Rendered here and now (a no-op if the eager on_commit task already did it).
        report_render(report_id=report.pk)
        report.refresh_from_db()
        issued.append(report)
    return issued
