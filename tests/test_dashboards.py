"""Every role's dashboard leads with what waits for them: counts, the first items linking to
where the work is done, and a number of queries that does not grow with the work.

The worlds are built straight in the database (states set directly): these tests are about what
the dashboard reads, not about the workflow that leads there (tested in tests/assessments)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation, User
from assessments.models import Assessment, Assignment, Campaign, Cloud, ReviewComment
from audit.services import audit_record
from govcloud_eval import worklists
from indicators.models import Framework
from reports.certified.models import Report
from reports.rankings.models import Objection, Ranking
from reports.scoring.models import ScoreResult
from tests.assessments.conftest import comprehensive, frameworks  # noqa: F401
from tests.conftest import client_for as _client_for

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def client_for(user: User) -> Client:
    client = _client_for(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def campaign(admin: User, comprehensive: Framework) -> Campaign:  # noqa: F811
    return Campaign.objects.create(
        name="2026年政务云综合水平评估",
        year=TODAY.year,
        framework=comprehensive,
        opens_on=TODAY - 30 * DAY,
        closes_on=TODAY + 10 * DAY,
        scoring_due_on=TODAY + 20 * DAY,
        state=Campaign.State.OPEN,
        created_by=admin,
    )


_serial = iter(range(10**6))


def make_assessments(
    campaign: Campaign,
    owner: Organisation,
    n: int,
    state: str,
    vendor: Organisation | None = None,
    prefix: str = "云",
) -> list[Assessment]:
    clouds = Cloud.objects.bulk_create(
        [
            Cloud(name=f"{prefix}{next(_serial)}", owner=owner, level=Cloud.Level.MUNICIPAL)
            for _ in range(n)
        ]
    )
    if vendor is not None:
        for cloud in clouds:
            cloud.vendors.add(vendor)
    return Assessment.objects.bulk_create(
        [Assessment(campaign=campaign, cloud=c, state=state) for c in clouds]
    )


def make_score(assessment: Assessment, level: str = "") -> ScoreResult:
    return ScoreResult.objects.create(
        assessment=assessment,
        version=1,
        inputs_sha256=f"{assessment.pk:064d}",
        framework=assessment.campaign.framework,
        method="weighted",
        total=80,
        level_code=level,
        breakdown={},
        current_since=timezone.now(),
    )


def make_report(
    assessment: Assessment, admin: User, state: str = Report.State.READY, file: str = "r.pdf"
) -> Report:
    n = next(_serial)
    return Report.objects.create(
        number=f"GCE-{TODAY.year}-{n:05d}",
        year=TODAY.year,
        sequence=n,
        verification_code=f"CODE{n:020d}",
        assessment=assessment,
        score_result=make_score(assessment),
        content={},
        state=state,
        file=file if state == Report.State.READY else "",
        sha256="a" * 64 if state == Report.State.READY else "",
        error="WeasyPrint: font missing" if state == Report.State.FAILED else "",
        issued_at=timezone.now(),
        issued_by=admin,
    )


def notice_ranking(campaign: Campaign, admin: User) -> Ranking:
    existing = Ranking.objects.filter(campaign=campaign, state=Ranking.State.NOTICE).first()
    if existing is not None:
        return existing
    return Ranking.objects.create(
        campaign=campaign,
        kind=Ranking.Kind.TOP_TEN,
        year=campaign.year,
        slug="top-ten",
        state=Ranking.State.NOTICE,
        version=1,
        snapshot={"entries": []},
        snapshot_sha256="b" * 64,
        published_at=timezone.now(),
        published_by=admin,
        notice_starts_on=TODAY - 2 * DAY,
        notice_ends_on=TODAY + 5 * DAY,
    )


def queue(user: User, key: str) -> worklists.WorkQueue:
    (found,) = [q for q in worklists.queues_for(user) if q.key == key]
    return found


# ----------------------------------------------------------------------------------------------
# Admin


def build_admin_work(
    n: int, campaign: Campaign, admin: User, owner: Organisation, assessor: User
) -> None:
    make_assessments(campaign, owner, n, Assessment.State.SUBMITTED)
    make_assessments(campaign, owner, n, Assessment.State.SCORED)
    for a in make_assessments(campaign, owner, n, Assessment.State.APPROVED):
        Assessment.objects.filter(pk=a.pk).update(approved_at=timezone.now())
    for a in make_assessments(campaign, owner, n, Assessment.State.APPROVED):
        make_report(a, admin, state=Report.State.FAILED)
    ranking = notice_ranking(campaign, admin)
    for a in make_assessments(campaign, owner, n, Assessment.State.APPROVED):
        make_report(a, admin)
        Objection.objects.create(
            ranking=ranking, assessment=a, reason="名次有误。", lodged_by=admin
        )
    for _ in range(n):
        Campaign.objects.create(
            name=f"逾期批次{next(_serial)}",
            year=TODAY.year,
            framework=campaign.framework,
            opens_on=TODAY - 60 * DAY,
            closes_on=TODAY - 5 * DAY,
            state=Campaign.State.OPEN,
        )


def test_the_admin_dashboard_leads_with_every_kind_of_waiting_work(
    admin: User, assessor: User, government_org: Organisation, campaign: Campaign
) -> None:
    build_admin_work(3, campaign, admin, government_org, assessor)
    counts = {q.key: q.count for q in worklists.queues_for(admin)}
    assert counts == {
        "assign": 3,
        "approve": 3,
        "report": 3,
        "failed_reports": 3,
        "objections": 3,
        "late_campaigns": 3,
    }
    response = client_for(admin).get(reverse("dashboard"))
    html = response.content.decode()
    assert "Submissions to assign assessors to" in html
    scored = Assessment.objects.filter(state=Assessment.State.SCORED).first()
    assert scored is not None
    assert reverse("assessments:assessment_review", args=[scored.pk]) in html
    submitted = Assessment.objects.filter(state=Assessment.State.SUBMITTED).first()
    assert submitted is not None
    assert reverse("assessments:assessment_assessors", args=[submitted.pk]) in html
    assert reverse("rankings:admin", args=[campaign.pk]) in html
    assert "WeasyPrint: font missing" in html


def test_a_submission_with_its_assessors_is_not_waiting_for_them(
    admin: User, assessor: User, government_org: Organisation, campaign: Campaign
) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(assessors_per_assessment=1)
    (staffed, unstaffed) = make_assessments(campaign, government_org, 2, Assessment.State.SUBMITTED)
    Assignment.objects.create(assessment=staffed, assessor=assessor)
    # A removed assessor no longer counts: the assessment waits for a new one.
    Assignment.objects.create(assessment=unstaffed, assessor=assessor, removed_at=timezone.now())
    assign = queue(admin, "assign")
    assert assign.count == 1
    assert [i.title for i in assign.items] == [unstaffed.cloud.name]


def test_excluded_assessments_are_nobodys_work(
    admin: User, government_org: Organisation, campaign: Campaign
) -> None:
    make_assessments(campaign, government_org, 2, Assessment.State.EXCLUDED)
    assert all(q.count == 0 for q in worklists.queues_for(admin))
    response = client_for(admin).get(reverse("dashboard"))
    assert "Nothing waits for you." in response.content.decode()


def test_an_approved_assessment_with_a_report_in_force_needs_no_report(
    admin: User, government_org: Organisation, campaign: Campaign
) -> None:
    (with_report, without) = make_assessments(
        campaign, government_org, 2, Assessment.State.APPROVED
    )
    make_report(with_report, admin)
    revoked = make_report(without, admin)
    Report.objects.filter(pk=revoked.pk).update(
        status=Report.Status.REVOKED, revocation_reason="数据有误。"
    )
    assert [i.title for i in queue(admin, "report").items] == [without.cloud.name]


def test_a_campaign_past_its_scoring_deadline_waits_only_while_scoring_is_unfinished(
    admin: User, government_org: Organisation, campaign: Campaign
) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(
        state=Campaign.State.REVIEWING, scoring_due_on=TODAY - DAY
    )
    assert queue(admin, "late_campaigns").count == 0
    make_assessments(campaign, government_org, 2, Assessment.State.IN_REVIEW)
    late = queue(admin, "late_campaigns")
    assert late.count == 1
    assert late.items[0].overdue and late.items[0].due_on == TODAY - DAY
    assert "2 assessments still being scored" in late.items[0].detail


# ----------------------------------------------------------------------------------------------
# Assessor


def build_assessor_work(n: int, campaign: Campaign, owner: Organisation, assessor: User) -> None:
    for a in make_assessments(campaign, owner, n, Assessment.State.SUBMITTED):
        Assignment.objects.create(assessment=a, assessor=assessor)


def test_the_assessor_sees_assignments_to_rate_overdue_first_and_sent_back_ones_marked(
    admin: User,
    assessor: User,
    government_org: Organisation,
    campaign: Campaign,
    comprehensive: Framework,  # noqa: F811
) -> None:
    late = Campaign.objects.create(
        name="2025年补评",
        year=TODAY.year - 1,
        framework=comprehensive,
        opens_on=TODAY - 90 * DAY,
        closes_on=TODAY - 60 * DAY,
        scoring_due_on=TODAY - 3 * DAY,
        state=Campaign.State.REVIEWING,
    )
    (on_time,) = make_assessments(campaign, government_org, 1, Assessment.State.IN_REVIEW)
    (overdue,) = make_assessments(late, government_org, 1, Assessment.State.SUBMITTED)
    (sent_back,) = make_assessments(campaign, government_org, 1, Assessment.State.IN_REVIEW)
    (removed,) = make_assessments(campaign, government_org, 1, Assessment.State.SUBMITTED)
    (excluded,) = make_assessments(campaign, government_org, 1, Assessment.State.EXCLUDED)
    (submitted_already,) = make_assessments(campaign, government_org, 1, Assessment.State.IN_REVIEW)
    for a in (on_time, overdue, excluded):
        Assignment.objects.create(assessment=a, assessor=assessor)
    Assignment.objects.create(assessment=sent_back, assessor=assessor, submitted_at=timezone.now())
    Assignment.objects.create(assessment=removed, assessor=assessor, removed_at=timezone.now())
    Assignment.objects.create(
        assessment=submitted_already,
        assessor=assessor,
        state=Assignment.State.SUBMITTED,
        submitted_at=timezone.now(),
    )

    rate = queue(assessor, "rate")
    assert rate.count == 3
    assert [i.title for i in rate.items] == [
        sent_back.cloud.name,
        overdue.cloud.name,
        on_time.cloud.name,
    ]
    assert rate.items[0].flag == "Back for re-scoring"
    assert rate.items[1].overdue and not rate.items[2].overdue
    assert rate.items[2].due_on == campaign.scoring_due_on
    assert rate.urgent
    assert queue(assessor, "sent_back").count == 1
    assert queue(assessor, "overdue").count == 1

    html = client_for(assessor).get(reverse("dashboard")).content.decode()
    assert reverse("assessments:score", args=[overdue.pk]) in html
    assert reverse("assessments:score", args=[removed.pk]) not in html
    assert reverse("assessments:score", args=[excluded.pk]) not in html


def test_an_assessment_resubmitted_after_a_return_comes_back_to_its_assessor_first(
    admin: User, assessor: User, government_org: Organisation, campaign: Campaign
) -> None:
    (first, resubmitted) = make_assessments(campaign, government_org, 2, Assessment.State.SUBMITTED)
    Assignment.objects.create(assessment=first, assessor=assessor)
    back = Assignment.objects.create(assessment=resubmitted, assessor=assessor)
    # A comment returned before the assessor was assigned does not bring anything back.
    ReviewComment.objects.create(
        assessment=first, author=admin, text="早先的意见", returned_at=timezone.now() - DAY
    )
    Assignment.objects.filter(assessment=first).update(assigned_at=timezone.now() - DAY / 2)
    ReviewComment.objects.create(
        assessment=resubmitted,
        author=admin,
        text="请补充容灾演练记录。",
        returned_at=back.assigned_at + datetime.timedelta(minutes=5),
    )
    rate = queue(assessor, "rate")
    assert [(i.title, i.flag) for i in rate.items] == [
        (resubmitted.cloud.name, "Back for re-scoring"),
        (first.cloud.name, ""),
    ]
    assert queue(assessor, "sent_back").count == 1


# ----------------------------------------------------------------------------------------------
# Vendor


def build_vendor_work(
    n: int, campaign: Campaign, owner: Organisation, vendor_org: Organisation, admin: User
) -> None:
    make_assessments(campaign, owner, n, Assessment.State.DRAFT, vendor=vendor_org)
    for a in make_assessments(campaign, owner, n, Assessment.State.RETURNED, vendor=vendor_org):
        ReviewComment.objects.create(
            assessment=a,
            author=admin,
            text="请补充等保测评报告。",
            returned_at=timezone.now(),
        )


def test_the_vendor_sees_returned_self_assessments_first_with_the_reason(
    admin: User,
    vendor: User,
    outsider_vendor: User,
    government_org: Organisation,
    vendor_org: Organisation,
    campaign: Campaign,
) -> None:
    (draft,) = make_assessments(campaign, government_org, 1, Assessment.State.DRAFT, vendor_org)
    (returned,) = make_assessments(
        campaign, government_org, 1, Assessment.State.RETURNED, vendor_org
    )
    Assessment.objects.filter(pk=returned.pk).update(self_assessment_due_on=TODAY + 40 * DAY)
    ReviewComment.objects.create(
        assessment=returned, author=admin, text="旧意见", returned_at=timezone.now() - DAY
    )
    ReviewComment.objects.create(
        assessment=returned, author=admin, text="请补充等保测评报告。", returned_at=timezone.now()
    )
    make_assessments(campaign, government_org, 1, Assessment.State.EXCLUDED, vendor_org)
    make_assessments(campaign, government_org, 1, Assessment.State.SUBMITTED, vendor_org)

    fill = queue(vendor, "fill")
    assert fill.count == 2
    assert [i.title for i in fill.items] == [returned.cloud.name, draft.cloud.name]
    assert fill.items[0].flag == "Returned"
    assert fill.items[0].reason == "请补充等保测评报告。"
    assert fill.items[0].due_on == TODAY + 40 * DAY
    assert fill.items[1].due_on == campaign.closes_on
    assert queue(vendor, "returned").count == 1

    html = client_for(vendor).get(reverse("dashboard")).content.decode()
    assert "请补充等保测评报告。" in html
    assert reverse("assessments:detail", args=[returned.pk]) in html
    # Another vendor's dashboard shows none of it.
    assert queue(outsider_vendor, "fill").count == 0


# ----------------------------------------------------------------------------------------------
# Owner and auditor


def build_owner_work(n: int, campaign: Campaign, admin: User, owner: Organisation) -> None:
    for a in make_assessments(campaign, owner, n, Assessment.State.APPROVED):
        make_report(a, admin)
    notice_ranking(campaign, admin)


def test_the_owner_sees_reports_issued_and_rankings_on_notice(
    admin: User, owner: User, government_org: Organisation, campaign: Campaign
) -> None:
    build_owner_work(2, campaign, admin, government_org)
    (failed,) = make_assessments(campaign, government_org, 1, Assessment.State.APPROVED)
    make_report(failed, admin, state=Report.State.FAILED)
    reports = queue(owner, "reports")
    assert reports.count == 2
    notices = queue(owner, "notices")
    assert notices.count == 1
    assert notices.items[0].url == reverse("rankings:objections", args=[campaign.year, "top-ten"])
    assert notices.items[0].title == campaign.name


def test_an_owner_without_a_cloud_in_the_ranking_sees_no_notice(
    admin: User, owner: User, campaign: Campaign
) -> None:
    other = Organisation.objects.create(
        kind=Organisation.Kind.GOVERNMENT, name="青岛市大数据局", division_code="370200"
    )
    build_owner_work(1, campaign, admin, other)
    assert queue(owner, "notices").count == 0
    assert queue(owner, "reports").count == 0


def test_the_auditor_sees_recent_events(auditor: User, admin: User) -> None:
    audit_record(action="accounts.user.created", acting_user=admin, target=admin, changes={})
    assert queue(auditor, "events").count == 1
    html = client_for(auditor).get(reverse("dashboard")).content.decode()
    assert "accounts.user.created" in html


# ----------------------------------------------------------------------------------------------
# Queries do not grow with the work


def _queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


Builder = Callable[[int], None]


@pytest.mark.parametrize("role", ["admin", "assessor", "vendor", "owner"])
def test_a_dashboard_runs_as_many_queries_for_30_items_as_for_3(
    role: str,
    admin: User,
    assessor: User,
    vendor: User,
    owner: User,
    government_org: Organisation,
    vendor_org: Organisation,
    campaign: Campaign,
) -> None:
    users = {"admin": admin, "assessor": assessor, "vendor": vendor, "owner": owner}
    builders: dict[str, Builder] = {
        "admin": lambda n: build_admin_work(n, campaign, admin, government_org, assessor),
        "assessor": lambda n: build_assessor_work(n, campaign, government_org, assessor),
        "vendor": lambda n: build_vendor_work(n, campaign, government_org, vendor_org, admin),
        "owner": lambda n: build_owner_work(n, campaign, admin, government_org),
    }
    client = client_for(users[role])
    builders[role](3)
    few = _queries(client)
    builders[role](27)
    many = _queries(client)
    assert many == few, (few, many)
    assert few < 40
    assert max(q.count for q in worklists.queues_for(users[role])) >= 30
