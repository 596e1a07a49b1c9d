"""What waits for each role: the work queues the dashboard leads with.

Each queue is a count and its first few items, read in one query (the count rides on each row
as a window function), each item linking to the page where the work is done; so a dashboard
costs the same number of queries whether 3 or 3,000 things wait. Excluded assessments and
removed assignments are never work. The queues read the access policy's scopes: nobody is shown
work they could not open.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts import policy
from accounts import selectors as account_selectors
from accounts.models import User
from accounts.policy import Action
from assessments.models import Assessment, Assignment, Campaign, ReviewComment
from assessments.selectors import current_assessors
from govcloud_eval.listing import annotated
from reports.certified.models import Report
from reports.rankings.models import Objection, Ranking

# How many items of each queue the dashboard lists; the count says how many there are in all.
SHOWN = 5

AWAITING_ASSESSORS = (Assessment.State.SUBMITTED, Assessment.State.IN_REVIEW)
VENDOR_WORK = (Assessment.State.DRAFT, Assessment.State.RETURNED)


@dataclass
class WorkItem:
    """One thing to do: what, where to do it, and when it is due."""

    title: str
    url: str
    detail: str = ""
    due_on: datetime.date | None = None
    overdue: bool = False
    flag: str | Promise = ""  # a short mark: "Returned", "Back for re-scoring"
    reason: str = ""  # why it came back, in the words of who sent it


@dataclass
class WorkQueue:
    """One kind of work: its count, its first items, and the page listing all of them."""

    key: str
    title: str | Promise
    count: int
    items: list[WorkItem] = field(default_factory=list)
    more_url: str = ""
    empty: str | Promise = ""
    urgent: bool = False  # shown in red when not empty: past a deadline, or failed

    @property
    def more(self) -> int:
        return max(self.count - len(self.items), 0)


def _first(queryset: QuerySet[Any]) -> tuple[int, list[Any]]:
    """The number of rows of ``queryset`` and its first ``SHOWN`` rows, in one query: each row
    carries the total (``COUNT(*) OVER ()``, counted before the LIMIT), so a queue costs one
    query, not a count and a page."""
    rows = list(queryset.annotate(queue_total=Window(Count("*")))[:SHOWN])
    return (annotated(rows[0], "queue_total") if rows else 0), rows


def _url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def _assessments_url(**params: str) -> str:
    from urllib.parse import urlencode

    base = reverse("assessments:list")
    return f"{base}?{urlencode(params)}" if params else base


# ----------------------------------------------------------------------------------------------
# Admin


def _admin_assessments(user: User) -> QuerySet[Assessment]:
    scope = policy.assessment_scope(user)
    base = Assessment.objects.select_related("campaign", "cloud")
    return base.none() if scope.is_empty else base.filter(scope.q)


def _needs_assessors(user: User) -> QuerySet[Assessment]:
    """Submitted assessments with fewer current assessors than their campaign asks for."""
    return (
        _admin_assessments(user)
        .filter(state__in=AWAITING_ASSESSORS)
        .exclude(campaign__state=Campaign.State.CLOSED)
        .annotate(n_assessors=current_assessors())
        .filter(n_assessors__lt=F("campaign__assessors_per_assessment"))
        .order_by("submitted_at", "pk")
    )


def _approved_without_report(user: User) -> QuerySet[Assessment]:
    in_force = Report.objects.filter(assessment=OuterRef("pk"), status=Report.Status.ISSUED)
    return (
        _admin_assessments(user)
        .filter(state=Assessment.State.APPROVED)
        .filter(~Exists(in_force))
        .order_by("approved_at", "pk")
    )


def _campaigns_past_deadline(user: User, today: datetime.date) -> QuerySet[Campaign]:
    """Open campaigns past their submission deadline, and campaigns not closed past their
    scoring deadline with assessments still being scored."""
    scope = policy.campaign_scope(user)
    if scope.is_empty:
        return Campaign.objects.none()
    unscored = (
        Assessment.objects.filter(campaign=OuterRef("pk"), state__in=AWAITING_ASSESSORS)
        .order_by()
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Campaign.objects.filter(scope.q)
        .annotate(n_unscored=Coalesce(Subquery(unscored, output_field=IntegerField()), 0))
        .filter(
            Q(state=Campaign.State.OPEN, closes_on__lt=today)
            | Q(
                state__in=(Campaign.State.OPEN, Campaign.State.REVIEWING),
                scoring_due_on__lt=today,
                n_unscored__gt=0,
            )
        )
        .order_by("closes_on", "pk")
    )


def admin_queues(user: User, today: datetime.date | None = None) -> list[WorkQueue]:
    today = today or timezone.localdate()
    queues: list[WorkQueue] = []

    count, needs = _first(_needs_assessors(user))
    queues.append(
        WorkQueue(
            key="assign",
            title=_("Submissions to assign assessors to"),
            count=count,
            items=[
                WorkItem(
                    title=str(a.cloud),
                    url=_url("assessments:assessment_assessors", a.pk),
                    detail=_("%(campaign)s · %(n)d of %(required)d assessors")
                    % {
                        "campaign": a.campaign.name,
                        "n": annotated(a, "n_assessors"),
                        "required": a.campaign.assessors_per_assessment,
                    },
                )
                for a in needs
            ],
            empty=_("Every submitted self-assessment has its assessors."),
        )
    )

    count, scored = _first(
        _admin_assessments(user).filter(state=Assessment.State.SCORED).order_by("updated_at", "pk")
    )
    queues.append(
        WorkQueue(
            key="approve",
            title=_("Scored, waiting for your approval"),
            count=count,
            items=[
                WorkItem(
                    title=str(a.cloud),
                    url=_url("assessments:assessment_review", a.pk),
                    detail=a.campaign.name,
                )
                for a in scored
            ],
            more_url=_assessments_url(state=Assessment.State.SCORED),
            empty=_("No scored assessment waits for approval."),
        )
    )

    count, unreported = _first(_approved_without_report(user))
    queues.append(
        WorkQueue(
            key="report",
            title=_("Approved, no report issued yet"),
            count=count,
            items=[
                WorkItem(
                    title=str(a.cloud),
                    url=_url("certified:assessment_reports", a.pk),
                    detail=a.campaign.name,
                )
                for a in unreported
            ],
            more_url=_assessments_url(state=Assessment.State.APPROVED),
            empty=_("Every approved assessment has a report."),
        )
    )

    count, failed = _first(
        Report.objects.filter(state=Report.State.FAILED, status=Report.Status.ISSUED)
        .select_related("assessment__cloud")
        .order_by("issued_at", "pk")
    )
    queues.append(
        WorkQueue(
            key="failed_reports",
            title=_("Reports whose rendering failed"),
            count=count,
            items=[
                WorkItem(
                    title=f"{r.number} · {r.assessment.cloud}",
                    url=_url("certified:assessment_reports", r.assessment_id),
                    detail=(r.error or "")[:120],
                )
                for r in failed
            ],
            more_url=f"{reverse('certified:report_list')}?state={Report.State.FAILED}",
            empty=_("No report failed to render."),
            urgent=True,
        )
    )

    count, open_objections = _first(
        Objection.objects.filter(state=Objection.State.OPEN)
        .select_related("assessment__cloud", "ranking")
        .order_by("lodged_at", "pk")
    )
    queues.append(
        WorkQueue(
            key="objections",
            title=_("Objections to answer"),
            count=count,
            items=[
                WorkItem(
                    title=str(o.assessment.cloud),
                    url=_url("rankings:admin", o.ranking.campaign_id),
                    detail=o.reason[:120],
                    due_on=o.ranking.notice_ends_on,
                )
                for o in open_objections
            ],
            empty=_("No objection waits for an answer."),
        )
    )

    count, late = _first(_campaigns_past_deadline(user, today))
    queues.append(
        WorkQueue(
            key="late_campaigns",
            title=_("Campaigns past a deadline"),
            count=count,
            items=[_late_campaign_item(c, today) for c in late],
            more_url=reverse("assessments:campaign_list"),
            empty=_("No campaign is past a deadline."),
            urgent=True,
        )
    )
    return queues


def _late_campaign_item(campaign: Campaign, today: datetime.date) -> WorkItem:
    due: datetime.date | None
    if campaign.state == Campaign.State.OPEN and campaign.closes_on < today:
        detail = str(_("Submissions closed; the review has not started"))
        due = campaign.closes_on
    else:
        detail = _("%(n)d assessments still being scored") % {
            "n": annotated(campaign, "n_unscored")
        }
        due = campaign.scoring_due_on
    return WorkItem(
        title=campaign.name,
        url=_url("assessments:campaign_detail", campaign.pk),
        detail=str(detail),
        due_on=due,
        overdue=True,
    )


# ----------------------------------------------------------------------------------------------
# Assessor


def _back_for_rescoring() -> Q:
    """Assignments whose assessment went back to the vendor after the assessor was assigned
    (and came back to be rated again), or whose submitted scores were reopened."""
    returned_since = ReviewComment.objects.filter(
        assessment=OuterRef("assessment"), returned_at__gt=OuterRef("assigned_at")
    )
    return Q(submitted_at__isnull=False) | Q(Exists(returned_since))


def assessor_assignments(user: User) -> QuerySet[Assignment]:
    """The assessor's current assignments still to rate, those back for re-scoring first, then
    by scoring deadline (overdue first; campaigns without a deadline last).

    An assignment is back (``sent_back``) when its assessment went back to the vendor after the
    assessor was assigned and was submitted again (the assessor rates the changed answers), or
    when the assessor had submitted scores and scoring was reopened for them."""
    if not policy.has_role_for(user, Action.RATING_SAVE):
        return Assignment.objects.none()
    return (
        Assignment.objects.filter(
            assessor=user,
            removed_at__isnull=True,
            state=Assignment.State.SCORING,
            assessment__state__in=AWAITING_ASSESSORS,
        )
        .exclude(assessment__campaign__state=Campaign.State.DRAFT)
        .select_related("assessment__cloud", "assessment__campaign")
        .annotate(sent_back=_back_for_rescoring())
        .order_by(
            F("sent_back").desc(),
            F("assessment__campaign__scoring_due_on").asc(nulls_last=True),
            "assessment__cloud__name",
            "pk",
        )
    )


def assessor_queues(user: User, today: datetime.date | None = None) -> list[WorkQueue]:
    today = today or timezone.localdate()
    assignments = assessor_assignments(user)
    counts = assignments.aggregate(
        total=Count("pk"),
        sent_back=Count("pk", filter=_back_for_rescoring()),
        overdue=Count("pk", filter=Q(assessment__campaign__scoring_due_on__lt=today)),
    )
    items = []
    for assignment in assignments[:SHOWN]:
        assessment = assignment.assessment
        due = assessment.campaign.scoring_due_on
        items.append(
            WorkItem(
                title=str(assessment.cloud),
                url=_url("assessments:score", assessment.pk),
                detail=assessment.campaign.name,
                due_on=due,
                overdue=due is not None and due < today,
                flag=_("Back for re-scoring") if annotated(assignment, "sent_back") else "",
            )
        )
    return [
        WorkQueue(
            key="rate",
            title=_("Assignments to rate"),
            count=counts["total"],
            items=items,
            more_url=reverse("assessments:list"),
            empty=_(
                "When the evaluation office assigns you a submitted self-assessment, it "
                "appears here with its scoring deadline."
            ),
            urgent=bool(counts["overdue"]),
        ),
        WorkQueue(
            key="sent_back",
            title=_("Back for re-scoring"),
            count=counts["sent_back"],
            empty=_("Nothing is back for re-scoring."),
        ),
        WorkQueue(
            key="overdue",
            title=_("Past the scoring deadline"),
            count=counts["overdue"],
            empty=_("Nothing is past its deadline."),
            urgent=True,
        ),
    ]


# ----------------------------------------------------------------------------------------------
# Vendor


def vendor_self_assessments(user: User) -> QuerySet[Assessment]:
    """Self-assessments the vendor has to fill in or fix: returned ones first (with the
    office's reason), then by deadline."""
    scope = policy.assessment_scope(user)
    if scope.is_empty or not policy.has_role_for(user, Action.ASSESSMENT_ANSWER):
        return Assessment.objects.none()
    reason = (
        ReviewComment.objects.filter(
            assessment=OuterRef("pk"), indicator__isnull=True, returned_at__isnull=False
        )
        .order_by("-returned_at", "-pk")
        .values("text")[:1]
    )
    return (
        Assessment.objects.filter(scope.q, state__in=VENDOR_WORK)
        .exclude(campaign__state=Campaign.State.CLOSED)
        .select_related("campaign", "cloud")
        .annotate(
            due=Coalesce("self_assessment_due_on", "campaign__closes_on", output_field=DateField()),
            is_returned=Q(state=Assessment.State.RETURNED),
            return_reason=Subquery(reason),
        )
        .order_by(F("is_returned").desc(), "due", "cloud__name", "pk")
    )


def vendor_queues(user: User, today: datetime.date | None = None) -> list[WorkQueue]:
    today = today or timezone.localdate()
    assessments = vendor_self_assessments(user)
    counts = assessments.aggregate(
        total=Count("pk"),
        returned=Count("pk", filter=Q(state=Assessment.State.RETURNED)),
        overdue=Count("pk", filter=Q(due__lt=today)),
    )
    items = [
        WorkItem(
            title=str(a.cloud),
            url=_url("assessments:detail", a.pk),
            detail=a.campaign.name,
            due_on=annotated(a, "due"),
            overdue=annotated(a, "due") < today,
            flag=_("Returned") if a.state == Assessment.State.RETURNED else "",
            reason=annotated(a, "return_reason") or "",
        )
        for a in assessments[:SHOWN]
    ]
    return [
        WorkQueue(
            key="fill",
            title=_("Self-assessments to fill in or fix"),
            count=counts["total"],
            items=items,
            more_url=reverse("assessments:list"),
            empty=_(
                "When a campaign opens for your clouds, or the office returns a "
                "self-assessment to you, it appears here with its deadline."
            ),
            urgent=bool(counts["overdue"]),
        ),
        WorkQueue(
            key="returned",
            title=_("Returned to you for changes"),
            count=counts["returned"],
            empty=_("Nothing was returned to you."),
            urgent=bool(counts["returned"]),
        ),
    ]


# ----------------------------------------------------------------------------------------------
# Owner


def owner_queues(user: User, today: datetime.date | None = None) -> list[WorkQueue]:
    today = today or timezone.localdate()
    queues: list[WorkQueue] = []
    report_scope = policy.assessment_scope(user)
    if policy.has_role_for(user, Action.REPORT_VIEW) and not report_scope.is_empty:
        own = Assessment.objects.filter(report_scope.q)
        reports = (
            Report.objects.filter(
                assessment__in=own, status=Report.Status.ISSUED, state=Report.State.READY
            )
            .select_related("assessment__cloud", "assessment__campaign")
            .order_by("-issued_at", "-pk")
        )
        queues.append(
            WorkQueue(
                key="reports",
                title=_("Reports issued"),
                count=reports.count(),
                items=[
                    WorkItem(
                        title=f"{r.assessment.cloud}",
                        url=_url("certified:assessment_reports", r.assessment_id),
                        detail=f"{r.number} · {r.assessment.campaign.name}",
                    )
                    for r in reports[:SHOWN]
                ],
                empty=_("No report has been issued for your clouds yet."),
            )
        )
    objection_scope = policy.objection_assessment_scope(user)
    if not objection_scope.is_empty:
        theirs = Assessment.objects.filter(objection_scope.q, campaign=OuterRef("campaign"))
        notices = (
            Ranking.objects.filter(
                state=Ranking.State.NOTICE,
                notice_starts_on__lte=today,
                notice_ends_on__gte=today,
            )
            .filter(Exists(theirs))
            .order_by("notice_ends_on", "pk")
        )
        queues.append(
            WorkQueue(
                key="notices",
                title=_("Rankings on public notice"),
                count=notices.count(),
                items=[
                    WorkItem(
                        title=r.campaign_title,
                        url=_url("rankings:objections", r.year, r.slug),
                        detail=str(_("You may lodge an objection until the notice ends.")),
                        due_on=r.notice_ends_on,
                    )
                    for r in notices.annotate(campaign_title=F("campaign__name"))[:SHOWN]
                ],
                empty=_("No ranking of your clouds is on public notice."),
            )
        )
    return queues


# ----------------------------------------------------------------------------------------------
# Auditor


def auditor_queues(user: User, today: datetime.date | None = None) -> list[WorkQueue]:
    from audit.selectors import audit_event_list

    today = today or timezone.localdate()
    since = timezone.make_aware(
        datetime.datetime.combine(today - datetime.timedelta(days=6), datetime.time.min)
    )
    events = audit_event_list(user=user)
    return [
        WorkQueue(
            key="events",
            title=_("Events in the last 7 days"),
            count=events.filter(at__gte=since).count(),
            more_url=reverse("audit:event_list"),
            empty=_("Nothing was recorded in the last 7 days."),
        )
    ]


def security_queues(user: User) -> list[WorkQueue]:
    """The security administrator's: accounts and addresses locked out of signing in."""
    accounts, addresses = account_selectors.lockout_counts()
    locked = reverse("admin:accounts_failedsignin_changelist")
    return [
        WorkQueue(
            key="locked_accounts",
            title=_("Accounts locked after failed sign-ins"),
            count=accounts,
            more_url=locked,
            empty=_("No account is locked."),
            urgent=True,
        ),
        WorkQueue(
            key="locked_addresses",
            title=_("Addresses locked after failed sign-ins"),
            count=addresses,
            more_url=locked,
            empty=_("No address is locked."),
            urgent=True,
        ),
    ]


def queues_for(user: User) -> list[WorkQueue]:
    """The work queues of the user's role, as the access policy decides them."""
    today = timezone.localdate()
    if policy.can(user, Action.CAMPAIGN_VIEW):
        return admin_queues(user, today)
    if policy.has_role_for(user, Action.RATING_SAVE):
        return assessor_queues(user, today)
    if policy.has_role_for(user, Action.ASSESSMENT_ANSWER):
        return vendor_queues(user, today)
    if policy.has_role_for(user, Action.OBJECTION_LODGE):
        return owner_queues(user, today)
    if policy.can(user, Action.AUDIT_VIEW):
        return auditor_queues(user, today)
    if policy.can(user, Action.USER_UNLOCK):
        return security_queues(user)
    return []
