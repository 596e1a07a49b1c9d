"""Importing an uploaded Excel score sheet (评分表): the write that saves its ratings.

The workbook itself (its layout, building it, reading it back into checked rows) is in
``workbook``; each rating is saved through ``assessments.services.rating_save``, the same rules
as the scoring page.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from audit.services import audit_record

from .. import selectors, services
from ..models import Assignment, Rating
from .workbook import score_sheet_parse


@transaction.atomic
def score_sheet_import(*, assignment: Assignment, data: bytes, acting_user: User) -> int:
    """Saves the ratings of an uploaded score sheet; returns how many rows were saved.

    Every cell is checked first; if anything is wrong, raises ValidationError listing every
    problem (sheet, row and column) and saves nothing. Otherwise each indicator row goes through
    ``services.rating_save`` (same rules as the scoring page: only the assigned assessor, only
    while scoring is open) inside this one transaction, so a refusal half-way also saves nothing.

    What a row means: its rating and rationale replace the saved draft, blanks included (a
    cleared cell clears the draft). A row left blank for an indicator without a saved rating is
    skipped (no empty record). An indicator missing from the sheet keeps its saved rating: a
    deleted row is more likely a trimmed printout than a wish to erase a judgement, and the
    identity block already guarantees the sheet belongs to this assignment and catalog.
    Writes one audit record ``assessments.score_sheet.imported`` naming the changed indicators.
    Re-importing the same sheet saves the same values again and changes nothing.
    """
    services.assignment_check_may_score(assignment=assignment, acting_user=acting_user)
    assessment = assignment.assessment
    framework = assessment.campaign.framework
    rows = score_sheet_parse(
        data,
        assignment_id=assignment.pk,
        framework=framework,
        indicators=selectors.indicators_of(assessment=assessment),
    )
    saved = {r.indicator_id: r for r in Rating.objects.filter(assignment=assignment)}
    count = 0
    changed: list[dict[str, object]] = []
    for row in rows:
        before = saved.get(row.indicator.pk)
        if before is None and row.is_blank:
            continue
        services.rating_save(
            assignment=assignment,
            indicator=row.indicator,
            rating=row.rating,
            met=row.met,
            rationale=row.rationale,
            acting_user=acting_user,
        )
        count += 1
        old = (before.rating, before.met, before.rationale) if before else (None, None, "")
        if old != (row.rating, row.met, row.rationale):
            changed.append(
                {
                    "indicator": row.indicator.code,
                    "from": old[1] if row.indicator.is_mandatory else old[0],
                    "to": row.met if row.indicator.is_mandatory else row.rating,
                }
            )
    audit_record(
        action="assessments.score_sheet.imported",
        acting_user=acting_user,
        target=assessment,
        changes={"assignment": assignment.pk, "saved": count, "changed": changed},
    )
    return count
