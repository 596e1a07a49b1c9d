"""Reads of evidence files: the current versions, the rows of the evidence list, the files that
stop being valid too early.

A file's current version is the one no later version replaces (``Evidence.replaces`` points from
a new version to the one it supersedes). ``evidence_current`` asks the database;
``evidence_current_among`` applies the same rule to files already loaded.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from ..models import Assessment, Evidence
from .sniffing import PREVIEWABLE_TYPES


def evidence_current(*, assessment: Assessment) -> QuerySet[Evidence]:
    """The assessment's evidence files that no later version replaces, unordered, in one query."""
    return Evidence.objects.filter(assessment=assessment).exclude(
        Exists(Evidence.objects.filter(replaces=OuterRef("pk")))
    )


def evidence_current_among(evidence_files: Iterable[Evidence]) -> list[Evidence]:
    """The files of ``evidence_files`` that no file among them replaces, in the order given.

    For lists already loaded; only the versions in the list count, so pass every version of
    the files concerned (as ``selectors.evidence_by_indicator`` returns them)."""
    files = list(evidence_files)
    replaced = {e.replaces_id for e in files if e.replaces_id is not None}
    return [e for e in files if e.pk not in replaced]


@dataclass
class EvidenceRow:
    """One evidence file as the list shows it."""

    evidence: Evidence
    superseded: bool
    expires_early: bool
    previewable: bool


def evidence_rows(
    *, evidence_files: Iterable[Evidence], reference_date: datetime.date | None
) -> list[EvidenceRow]:
    """The files of one indicator with what the list shows about each: whether a later version
    supersedes it, whether it stops being valid before the campaign's reference date, whether
    it can be previewed."""
    files = list(evidence_files)
    current = {e.pk for e in evidence_current_among(files)}
    return [
        EvidenceRow(
            evidence=e,
            superseded=e.pk not in current,
            expires_early=reference_date is not None and e.expires_before(reference_date),
            previewable=is_previewable(e),
        )
        for e in files
    ]


def is_previewable(evidence: Evidence) -> bool:
    """Whether the portal shows the file inline (PDFs and images) rather than only offering it
    as a download."""
    return evidence.content_type.split(";")[0].strip() in PREVIEWABLE_TYPES


def evidence_expiring(*, assessment: Assessment) -> list[Evidence]:
    """The current (not superseded) files of an assessment that stop being valid before the
    campaign's evidence reference date, in catalog order."""
    reference = assessment.campaign.evidence_reference_date
    files = evidence_current(assessment=assessment).select_related("indicator__dimension")
    return sorted(
        (e for e in files if e.expires_before(reference)),
        key=lambda e: (e.indicator.dimension.order, e.indicator.order, e.original_name),
    )
