"""``{% if report|render_retryable %}``: whether the report partial offers "render again"."""

from __future__ import annotations

from django import template

from reports.certified.models import Report
from reports.certified.services import report_render_retryable

register = template.Library()


@register.filter
def render_retryable(report: Report) -> bool:
    """True when ``report_render_retry`` accepts the report now: its rendering failed, or it is
    stuck (pending or rendering for too long)."""
    return report_render_retryable(report)
