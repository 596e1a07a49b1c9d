"""The audit trail page for people: sentences, before → after, filters, pages and exports."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from assessments import services
from assessments.models import Assessment, Assignment, Campaign
from audit.models import AuditEvent
from audit.services import audit_record
from tests.conftest import client_for

URL = reverse("audit:event_list")


def _get(client: Client, **params: str) -> str:
    response = client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def _events(client: Client, **params: str) -> list[AuditEvent]:
    response = client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return [item.event for item in response.context["events"]]


@pytest.mark.django_db
def test_it_is_for_auditors_only(
    admin: User, auditor: User, vendor: User, owner: User, assessor: User, security_admin: User
) -> None:
    assert client_for(auditor).get(URL).status_code == 200
    # Three-role separation: the admin and the security administrator are audited, not auditors.
    for outsider in (admin, security_admin, vendor, owner, assessor):
        assert client_for(outsider).get(URL).status_code == 404
        assert client_for(outsider).get(reverse("audit:export", args=["csv"])).status_code == 404
    assert client_for(None).get(URL).status_code == 302


def test_it_tells_what_happened_in_words_with_before_and_after(
    admin: User, auditor: User, assessment: Assessment
) -> None:
    audit_record(
        action="assessments.assessment.returned",
        acting_user=admin,
        target=assessment,
        changes={"from": "submitted", "to": "returned", "comment": "请补充等保测评报告。"},
    )
    page = _get(client_for(auditor))
    assert "office_admin returned the self-assessment of 济南政务云计算中心" in page
    assert "Submitted" in page and "Returned" in page
    assert "请补充等保测评报告。" in page
    assert "{&quot;from&quot;" not in page and '{"from"' not in page  # never raw JSON


def test_it_filters_by_who_what_and_object(
    admin: User, auditor: User, assessor: User, assessment: Assessment, campaign: Campaign
) -> None:
    client = client_for(auditor)
    services.assignment_create(assessment=assessment, assessor=assessor, acting_user=admin)
    audit_record(action="accounts.user.logged_in", acting_user=assessor, target=assessor)

    by_assessor = _events(client, actor="expert")
    assert [e.action for e in by_assessor] == ["accounts.user.logged_in"]

    assigned = _events(client, action="assessments.assignment.created")
    assert [e.target_id for e in assigned] == [str(assessment.pk)]

    kinds = {e.action for e in _events(client, action="assessments.campaign.")}
    assert kinds == {"assessments.campaign.created", "assessments.campaign.open"}

    about = _events(client, object_type="assessments.campaign", object_id=str(campaign.pk))
    assert {e.action for e in about} == {
        "assessments.campaign.created",
        "assessments.campaign.open",
    }


def test_an_objects_history_includes_its_children_when_asked(
    admin: User, auditor: User, assessor: User, assessment: Assessment, campaign: Campaign
) -> None:
    assignment = services.assignment_create(
        assessment=assessment, assessor=assessor, acting_user=admin
    )
    audit_record(
        action="assessments.assignment.admin_changed",
        acting_user=admin,
        target=assignment,
        changes={"via": "django-admin", "state": ["scoring", "submitted"]},
    )
    client = client_for(auditor)
    own = _events(client, object_type="assessments.assessment", object_id=str(assessment.pk))
    assert "assessments.assignment.admin_changed" not in {e.action for e in own}
    with_children = _events(
        client, object_type="assessments.assessment", object_id=str(assessment.pk), related="1"
    )
    assert "assessments.assignment.admin_changed" in {e.action for e in with_children}
    # The campaign's history holds its assessments' events, not those of their assignments.
    campaign_history = {
        e.action
        for e in _events(
            client, object_type="assessments.campaign", object_id=str(campaign.pk), related="1"
        )
    }
    assert {"assessments.assessment.created", "assessments.assignment.created"} <= campaign_history
    assert "assessments.assignment.admin_changed" not in campaign_history


def test_it_filters_by_dates_in_local_time_and_by_search(
    admin: User, auditor: User, assessment: Assessment, unguarded_trail: None
) -> None:
    old = audit_record(
        action="reports.veto.recorded",
        acting_user=admin,
        target=assessment,
        changes={"veto": "V1", "note": "2025年发生重大网络安全事件"},
    )
    # 2026-03-01 07:30 in Beijing is still 2026-02-28 in UTC.
    at = timezone.make_aware(datetime.datetime(2026, 3, 1, 7, 30))
    AuditEvent.objects.filter(pk=old.pk).update(at=at)
    client = client_for(auditor)
    assert [e.pk for e in _events(client, date_from="2026-03-01", date_to="2026-03-01")] == [old.pk]
    assert old.pk not in [e.pk for e in _events(client, date_to="2026-02-28")]
    assert [e.pk for e in _events(client, q="重大网络安全")] == [old.pk]
    assert [e.pk for e in _events(client, q="济南政务云")] != []


def test_bad_filters_are_named_and_left_out(auditor: User, assessment: Assessment) -> None:
    client = client_for(auditor)
    response = client.get(
        URL, {"date_from": "2026-13-45", "date_to": "2026-01-01"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    page = response.content.decode()
    assert "Some filters were not applied" in page
    assert "Enter a valid date." in page
    response = client.get(
        URL, {"date_from": "2026-02-01", "date_to": "2026-01-01"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "The end date is before the start date." in response.content.decode()


def _fill(count: int, admin: User, assessment: Assessment) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action="assessments.assessment.returned" if n % 2 else "accounts.user.admin_changed",
            actor=admin,
            actor_label=admin.username,
            target_type="assessments.assessment",
            target_id=str(assessment.pk),
            target_label=str(assessment),
            changes={"from": "submitted", "to": "returned", "comment": "说明" * n},
        )
        for n in range(count)
    )


def _queries_for_a_page(client: Client, **params: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(queries)


def test_a_page_costs_the_same_queries_whatever_its_size(
    admin: User, auditor: User, assessment: Assessment, unguarded_trail: None
) -> None:
    client = client_for(auditor)
    AuditEvent.objects.all().delete()
    _fill(10, admin, assessment)
    small = _queries_for_a_page(client, per_page="200")
    _fill(190, admin, assessment)
    large = _queries_for_a_page(client, per_page="200")
    assert len(client.get(URL, {"per_page": "200"}).context["events"]) == 200
    assert small == large
    # And a filtered page by object with children, too.
    params = {"object_type": "assessments.assessment", "object_id": str(assessment.pk)}
    assert _queries_for_a_page(client, related="1", **params) == large


def test_pages_are_cut_on_the_server(
    admin: User, auditor: User, assessment: Assessment, unguarded_trail: None
) -> None:
    AuditEvent.objects.all().delete()
    _fill(60, admin, assessment)
    client = client_for(auditor)
    first = client.get(URL, {"per_page": "25"})
    assert len(first.context["events"]) == 25
    assert first.context["page"].paginator.num_pages == 3
    third = client.get(URL, {"per_page": "25", "page": "3"})
    assert len(third.context["events"]) == 10


def _export(client: Client, fmt: str, **params: str) -> bytes:
    response = client.get(reverse("audit:export", args=[fmt]), params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return response.content


def _dangerous(admin: User, assessment: Assessment) -> AuditEvent:
    event = audit_record(
        action="assessments.assessment.returned",
        acting_user=admin,
        target=assessment,
        changes={"from": "submitted", "to": "returned", "comment": "说明"},
    )
    # A name a person typed: must not run as a formula in a spreadsheet.
    AuditEvent.objects.filter(pk=event.pk).update(target_label='=HYPERLINK("http://x","云")')
    event.refresh_from_db()
    return event


def test_the_csv_export_holds_the_filtered_events_and_runs_no_formula(
    admin: User, auditor: User, assessment: Assessment, unguarded_trail: None
) -> None:
    event = _dangerous(admin, assessment)
    data = _export(client_for(auditor), "csv", action="assessments.assessment.returned")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Time (UTC)", "Actor", "Action code", "Action"]
    assert len(rows) == 2  # the header and the one returned event: the filter applies
    row = rows[1]
    assert row[0] == event.at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert row[1:4] == ["office_admin", "assessments.assessment.returned", "Assessment: Returned"]
    assert row[7] == '\'=HYPERLINK("http://x","云")'
    assert "State: Submitted → Returned" in row[8]


def test_the_xlsx_export_writes_formula_like_text_as_text(
    admin: User, auditor: User, assessment: Assessment, unguarded_trail: None
) -> None:
    from openpyxl import load_workbook

    _dangerous(admin, assessment)
    data = _export(client_for(auditor), "xlsx", action="assessments.assessment.returned")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=False))
    assert [c.value for c in rows[0]][:3] == ["Time (UTC)", "Actor", "Action code"]
    assert len(rows) == 2
    cell = rows[1][7]
    assert cell.value == '=HYPERLINK("http://x","云")'
    assert cell.data_type == "s"
    assert cell.quotePrefix


def test_an_unknown_export_format_is_not_found(auditor: User) -> None:
    response = client_for(auditor).get(reverse("audit:export", args=["pdf"]))
    assert response.status_code == 404


def test_it_still_reads_an_event_whose_assignment_is_gone(
    admin: User, auditor: User, assessor: User, assessment: Assessment
) -> None:
    assignment = services.assignment_create(
        assessment=assessment, assessor=assessor, acting_user=admin
    )
    audit_record(
        action="assessments.assignment.admin_deleted", acting_user=admin, target=assignment
    )
    Assignment.objects.filter(pk=assignment.pk).delete()
    page = _get(client_for(auditor), action="admin")
    assert "in the admin site" in page


def test_an_object_id_that_is_not_a_number_finds_nothing_and_fails_nothing(
    auditor: User, assessment: Assessment
) -> None:
    params = {"object_type": "assessments.assessment", "object_id": "abc", "related": "1"}
    assert _events(client_for(auditor), **params) == []
    assert _events(client_for(auditor), object_type="no.such_model", object_id="1") == []
