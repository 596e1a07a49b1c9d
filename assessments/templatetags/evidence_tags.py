"""Template helpers of the evidence list (``templates/assessments/partials/_evidence.html``)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django import template

from assessments.evidence.selectors import EvidenceRow, evidence_rows
from assessments.evidence.sniffing import ALLOWED_EXTENSIONS
from assessments.evidence.uploads import max_bytes
from assessments.models import Evidence

register = template.Library()


@register.simple_tag
def evidence_list(
    evidence_files: Iterable[Evidence] | None, reference_date: datetime.date | None
) -> list[EvidenceRow]:
    """``{% evidence_list evidence_files reference_date as rows %}``"""
    return evidence_rows(evidence_files=evidence_files or [], reference_date=reference_date)


@register.simple_tag
def evidence_max_bytes() -> int:
    return max_bytes()


@register.simple_tag
def evidence_accept() -> str:
    """The file picker's ``accept`` attribute: the extensions the portal takes."""
    return ",".join(ALLOWED_EXTENSIONS)
