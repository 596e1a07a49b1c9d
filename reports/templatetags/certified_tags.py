"""``{% certified_reports_for assessment user as certified %}``: what the report partial shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django import template

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from assessments.models import Assessment
from reports.certified.content import verify_url_prefix
from reports.certified.models import Report
from reports.certified.selectors import reports_of

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

register = template.Library()


@dataclass
class CertifiedReports:
    visible: bool
    reports: list[Report] = field(default_factory=list)
    is_admin: bool = False
    can_issue: bool = False
    # Languages without a report in force, offered by the issue form.
    # (code, label); the labels are lazy, translated when the template shows them.
    languages: list[tuple[str, StrOrPromise]] = field(default_factory=list)
    # For admins: how the verification address of a report issued now begins (its QR code's).
    verify_url_prefix: str = ""


@register.simple_tag
def certified_reports_for(assessment: Assessment, user: User) -> CertifiedReports:
    """Nothing for those who may not read reports (assessors, auditors); the reports, newest
    first, for the cloud's vendor and owner and for admins; and for admins whether a report may
    be issued now."""
    if not getattr(user, "is_authenticated", False) or not policy.can(
        user, Action.REPORT_VIEW, assessment
    ):
        return CertifiedReports(visible=False)
    reports = list(reports_of(assessment=assessment))
    manages = policy.can(user, Action.REPORT_MANAGE)
    in_force = {r.language for r in reports if r.status == Report.Status.ISSUED}
    languages: list[tuple[str, StrOrPromise]] = [
        (code, label) for code, label in Report.Language.choices if code not in in_force
    ]
    return CertifiedReports(
        visible=True,
        reports=reports,
        is_admin=manages,
        can_issue=policy.can(user, Action.REPORT_ISSUE, assessment) and bool(languages),
        languages=languages,
        verify_url_prefix=verify_url_prefix() if manages else "",
    )
