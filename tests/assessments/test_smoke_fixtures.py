from __future__ import annotations

import pytest

from accounts.models import User
from assessments.models import Assessment, Assignment
from tests.assessments.conftest import answer_everything, rate_everything

pytestmark = pytest.mark.django_db


def test_a_whole_evaluation_runs_from_draft_to_approved(
    assessment: Assessment, assignments: list[Assignment], vendor: User, admin: User
) -> None:
    from assessments import services

    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    for assignment in assignments:
        rate_everything(assignment)
        services.assignment_submit(assignment=assignment, acting_user=assignment.assessor)
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED

    services.assessment_approve(assessment=assessment, acting_user=admin)

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.APPROVED
