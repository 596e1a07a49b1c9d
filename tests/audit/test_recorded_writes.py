"""Writes the outside test found unaudited: vendors' answers, assessors' ratings, review
comments and downloads of evidence. Each change is recorded with what it was before and after;
a save that changes nothing (an autosave of the same text) records nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pytest_django import Settings

from accounts.models import User
from assessments import selectors, services
from assessments.evidence.services import evidence_upload
from assessments.models import Assessment, Assignment
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_an_answer_change_is_recorded_field_by_field(assessment: Assessment, vendor: User) -> None:
    indicator = next(
        i for i in selectors.indicators_of(assessment=assessment) if not i.is_mandatory
    )
    for rating in (2, 2, 3):
        services.answer_save(
            assessment=assessment,
            indicator=indicator,
            self_rating=rating,
            explanation="已部署。",
            acting_user=vendor,
        )
    first, second = _events("assessments.answer.saved")
    assert first.actor_label == vendor.username and first.target_id == str(assessment.pk)
    assert first.changes["indicator"] == indicator.code
    assert first.changes["after"] == {"self_rating": 2, "explanation": "已部署。"}
    assert second.changes["before"] == {"self_rating": 2}
    assert second.changes["after"] == {"self_rating": 3}


def test_a_rating_change_and_its_rationale_are_recorded(
    assignments: list[Assignment], assessment: Assessment, vendor: User
) -> None:
    from tests.assessments.conftest import answer_everything

    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    assignment = assignments[0]
    indicator = next(
        i for i in selectors.indicators_of(assessment=assessment) if not i.is_mandatory
    )
    for rating, rationale in ((1, "证据不足。"), (1, "证据不足。"), (2, "补充材料后核实。")):
        services.rating_save(
            assignment=assignment,
            indicator=indicator,
            rating=rating,
            rationale=rationale,
            acting_user=assignment.assessor,
        )
    first, second = _events("assessments.rating.saved")
    assert first.actor_label == assignment.assessor.username
    assert first.changes["after"] == {"rating": 1, "rationale": "证据不足。"}
    assert second.changes["before"] == {"rating": 1, "rationale": "证据不足。"}
    assert second.changes["after"] == {"rating": 2, "rationale": "补充材料后核实。"}


def test_review_comments_are_recorded_and_refused_once_approved(
    assignments: list[Assignment], assessment: Assessment, admin: User
) -> None:
    assessor = assignments[0].assessor
    services.review_comment_add(
        assessment=assessment, indicator=None, text="请补充等保测评报告。", acting_user=assessor
    )
    (event,) = _events("assessments.comment.added")
    assert event.changes == {"indicator": "", "comment": "请补充等保测评报告。"}
    Assessment.objects.filter(pk=assessment.pk).update(state=Assessment.State.APPROVED)
    assessment.refresh_from_db()
    for person in (assessor, admin):
        with translation.override("en"), pytest.raises(ValidationError, match="read-only"):
            services.review_comment_add(
                assessment=assessment, indicator=None, text="太晚了。", acting_user=person
            )
    assert len(_events("assessments.comment.added")) == 1


def test_downloads_and_previews_of_evidence_are_recorded_with_the_address(
    assessment: Assessment,
    vendor: User,
    admin: User,
    outsider_vendor: User,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    indicator = selectors.indicators_of(assessment=assessment)[0]
    item = evidence_upload(
        assessment=assessment,
        indicator=indicator,
        upload=SimpleUploadedFile("证明.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
        acting_user=vendor,
    )
    client = Client(REMOTE_ADDR="192.0.2.44")
    client.force_login(admin)
    response = client.get(reverse("assessments:evidence_download", args=[item.pk]))
    assert response.status_code == 200
    assert response.getvalue().startswith(b"%PDF")
    client.get(reverse("assessments:evidence_preview", args=[item.pk]))
    (download,) = _events("assessments.evidence.downloaded")
    (preview,) = _events("assessments.evidence.previewed")
    for event in (download, preview):
        assert event.actor_label == admin.username
        assert event.client_address == "192.0.2.44"
        assert event.target_id == str(item.pk) and event.changes["sha256"] == item.sha256
    # Refused requests are not downloads.
    outsider = Client()
    outsider.force_login(outsider_vendor)
    assert outsider.get(reverse("assessments:evidence_download", args=[item.pk])).status_code == 404
    assert len(_events("assessments.evidence.downloaded")) == 1


def test_answer_values_are_recorded_as_text(assessment: Assessment, vendor: User) -> None:
    indicator = next(i for i in selectors.indicators_of(assessment=assessment) if i.is_quantitative)
    services.answer_save(
        assessment=assessment,
        indicator=indicator,
        value=Decimal("99.5"),
        explanation="可用性99.5%。",
        acting_user=vendor,
    )
    (event,) = _events("assessments.answer.saved")
    assert event.changes["after"]["value"] == "99.5"
