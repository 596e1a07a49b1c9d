"""Who is told what: notifications created from the events of the audit trail, and reminders.

Every workflow write records an audit event (``audit.services.audit_record``), which sends
``audit.signals.event_recorded``. ``on_event_recorded`` looks the action code up in
``_HANDLERS`` (unknown codes are ignored) and, once the transaction commits, creates one
``Notification`` per recipient, rendered in the recipient's language, and queues its e-mail.
Nothing is created for a change that is rolled back, and a failure here never undoes the change
it reports (the callback is ``robust``: logged, not raised).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from assessments.models import Assessment, Assignment, Campaign, Cloud
from audit.models import AuditEvent
from reports.models import Objection, Report

from .models import Notification
from .tasks import send_notification_email_task

logger = logging.getLogger(__name__)

# Reminders go out this many days before a deadline (and once more when it has passed).
REMINDER_LEAD_DAYS = 3
# The languages a message can be rendered in; anything else falls back to Chinese.
LANGUAGES = ("zh-hans", "en")


@dataclass(frozen=True)
class Event:
    """What the notifications need of an audit event, copied while its transaction is open."""

    action: str
    target_type: str
    target_id: str
    changes: dict[str, Any]
    actor_id: int | None


@dataclass
class Draft:
    """A notification to create: its kind, recipient, link and what its message says."""

    kind: str
    recipient: User
    url: str
    context: dict[str, Any] = field(default_factory=dict)
    assessment: Assessment | None = None
    report: Report | None = None
    objection: Objection | None = None
    deadline: datetime.date | None = None


# ----------------------------------------------------------------------------------------------
# The audit trail's events


def on_event_recorded(
    sender: type[AuditEvent], *, event: AuditEvent, target: Any = None, **kwargs: Any
) -> None:
    """Receiver of ``audit.signals.event_recorded``: schedules the notifications of ``event``
    for after the commit. Does nothing for an action no handler knows."""
    if event.action not in _HANDLERS:
        return
    snapshot = Event(
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        changes=dict(event.changes or {}),
        actor_id=event.actor_id,
    )
    transaction.on_commit(partial(notify_event, snapshot), robust=True)


def notify_event(event: Event) -> list[Notification]:
    """Creates the notifications of ``event`` and queues their e-mails; returns them.

    Reads the objects afresh (after the commit): a target that is gone, or an action no handler
    knows, gives no notification. The acting user is never told of their own action."""
    handler = _HANDLERS.get(event.action)
    if handler is None:
        return []
    drafts = [d for d in handler(event) if d.recipient.pk != event.actor_id]
    return notifications_create(drafts=drafts)


@transaction.atomic
def notifications_create(*, drafts: Iterable[Draft]) -> list[Notification]:
    """Renders each draft in its recipient's language, saves them in one query, and queues the
    e-mail of each recipient who has an address once the transaction commits. A reminder that
    exists already raises ``IntegrityError`` (the caller leaves it out)."""
    rows = [_render(draft) for draft in drafts]
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    for notification in created:
        if notification.recipient.email:
            transaction.on_commit(
                partial(send_notification_email_task.delay, notification.pk), robust=True
            )
    return created


def _language(user: User) -> str:
    return user.language if user.language in LANGUAGES else LANGUAGES[0]


def _render(draft: Draft) -> Notification:
    language = _language(draft.recipient)
    context = dict(draft.context)
    assessment = draft.assessment
    if assessment is not None:
        context.setdefault("cloud", _cloud_name(assessment.cloud, language))
        context.setdefault("campaign", assessment.campaign.name)
    context.setdefault("deadline", draft.deadline)
    context["recipient"] = draft.recipient
    with translation.override(language):
        text = render_to_string(f"notifications/messages/{draft.kind}.txt", context).strip()
    subject, _newline, body = text.partition("\n")
    return Notification(
        kind=draft.kind,
        recipient=draft.recipient,
        assessment=assessment,
        report=draft.report,
        objection=draft.objection,
        deadline=draft.deadline,
        subject=subject.strip()[:200],
        body=body.strip(),
        url=draft.url,
    )


def _cloud_name(cloud: Cloud, language: str) -> str:
    return cloud.name_en if language == "en" and cloud.name_en else cloud.name


# ----------------------------------------------------------------------------------------------
# Recipients: read by role and relation, with the roles taken from the access policy


def _active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True)


def _vendors(assessment: Assessment) -> list[User]:
    """The users of the cloud's vendors: those who fill in its self-assessment."""
    return list(
        _active_users().filter(
            role__in=policy.roles_for(Action.ASSESSMENT_SUBMIT),
            organisation__operated_clouds=assessment.cloud_id,
        )
    )


def _owners(assessment: Assessment) -> list[User]:
    """The users of the cloud's owner (the government body)."""
    return list(
        _active_users().filter(
            role__in=policy.roles_for(Action.OBJECTION_LODGE),
            organisation_id=assessment.cloud.owner_id,
        )
    )


def _admins() -> list[User]:
    """The evaluation office: who approves results."""
    return list(_active_users().filter(role__in=policy.roles_for(Action.ASSESSMENT_APPROVE)))


def _assessment(event: Event) -> Assessment | None:
    """The assessment ``event`` is about: its target, or the target's assessment."""
    if event.target_type == "assessments.assignment":
        found = Assignment.objects.filter(pk=event.target_id).values_list("assessment_id")
        assessment_id = found.first()
        if assessment_id is None:
            return None
        pk: Any = assessment_id[0]
    elif event.target_type == "assessments.assessment":
        pk = event.target_id
    else:
        return None
    return Assessment.objects.select_related("campaign", "cloud").filter(pk=pk).first()


def _detail_url(assessment: Assessment) -> str:
    return reverse("assessments:detail", args=[assessment.pk])


def _score_url(assessment: Assessment) -> str:
    return reverse("assessments:score", args=[assessment.pk])


def _review_url(assessment: Assessment) -> str:
    return reverse("assessments:assessment_review", args=[assessment.pk])


# ----------------------------------------------------------------------------------------------
# One handler per action code


def _assigned_drafts(assignments: Iterable[Assignment]) -> list[Draft]:
    return [
        Draft(
            Notification.Kind.ASSIGNED,
            a.assessor,
            _score_url(a.assessment),
            {"scoring_due_on": a.assessment.campaign.scoring_due_on},
            assessment=a.assessment,
        )
        for a in assignments
        if a.assessor.is_active
    ]


def _current_assignments() -> QuerySet[Assignment]:
    return Assignment.objects.filter(removed_at__isnull=True).select_related(
        "assessor", "assessment__campaign", "assessment__cloud"
    )


def _on_assignment_created(event: Event) -> list[Draft]:
    """The assessor, once they can open the assessment: assignments made while the campaign is
    a draft are told when it opens (``_on_campaign_opened``)."""
    assessment = _assessment(event)
    if assessment is None or assessment.campaign.state == Campaign.State.DRAFT:
        return []
    username = event.changes.get("assessor")
    found = _current_assignments().filter(assessment=assessment, assessor__username=username)
    return _assigned_drafts(found)


def _on_assignment_replaced(event: Event) -> list[Draft]:
    """The new assessor (``changes["replacement"]``, their username), told as "assigned"."""
    assessment = _assessment(event)
    if assessment is None or assessment.campaign.state == Campaign.State.DRAFT:
        return []
    current = _current_assignments().filter(assessment=assessment)
    replacement = event.changes.get("replacement")
    if replacement:
        current = current.filter(assessor__username=replacement)
    else:  # the newest assignment that replaces another
        current = current.filter(replaces__isnull=False).order_by("-assigned_at", "-id")[:1]
    return _assigned_drafts(current)


def _on_campaign_opened(event: Event) -> list[Draft]:
    """Every assessor assigned while the campaign was a draft."""
    if event.target_type != "assessments.campaign":
        return []
    return _assigned_drafts(_current_assignments().filter(assessment__campaign_id=event.target_id))


def _on_returned(event: Event) -> list[Draft]:
    """The cloud's vendors, with the reason and the new deadline, if one was given."""
    assessment = _assessment(event)
    if assessment is None:
        return []
    reason = str(event.changes.get("comment") or event.changes.get("reason") or "")
    kind = Notification.Kind.RETURNED
    context = {
        "reason": reason,
        "due_on": assessment.due_on,
        "reopened": event.action.endswith(".reopened"),
    }
    return [
        Draft(kind, user, _detail_url(assessment), context, assessment=assessment)
        for user in _vendors(assessment)
    ]


def _on_submitted(event: Event) -> list[Draft]:
    """The assessors assigned, who score it next; the office when nobody is assigned yet."""
    assessment = _assessment(event)
    if assessment is None:
        return []
    assessors = [a.assessor for a in _current_assignments().filter(assessment=assessment)]
    context = {"scoring_due_on": assessment.campaign.scoring_due_on, "unassigned": not assessors}
    if assessors:
        return [
            Draft(
                Notification.Kind.SUBMITTED,
                user,
                _score_url(assessment),
                context,
                assessment=assessment,
            )
            for user in assessors
            if user.is_active
        ]
    url = reverse("assessments:assessment_assessors", args=[assessment.pk])
    return [
        Draft(Notification.Kind.SUBMITTED, user, url, context, assessment=assessment)
        for user in _admins()
    ]


def _on_scored(event: Event) -> list[Draft]:
    """The office: every assessor has submitted, the result waits for settlement and
    approval."""
    assessment = _assessment(event)
    if assessment is None:
        return []
    return [
        Draft(Notification.Kind.SCORED, user, _review_url(assessment), assessment=assessment)
        for user in _admins()
    ]


def _on_approved(event: Event) -> list[Draft]:
    """The cloud's owner and vendors: the result is final and visible to them."""
    assessment = _assessment(event)
    if assessment is None:
        return []
    return [
        Draft(Notification.Kind.APPROVED, user, _detail_url(assessment), assessment=assessment)
        for user in _owners(assessment) + _vendors(assessment)
    ]


def _on_report_rendered(event: Event) -> list[Draft]:
    """The cloud's owner and vendors, once the report's signed PDF can be downloaded (the
    rendering follows the issue within seconds; a failed rendering tells nobody yet)."""
    if event.target_type != "reports.report":
        return []
    report = (
        Report.objects.select_related("assessment__campaign", "assessment__cloud")
        .filter(pk=event.target_id, status=Report.Status.ISSUED)
        .first()
    )
    if report is None:
        return []
    assessment = report.assessment
    url = reverse("certified:assessment_reports", args=[assessment.pk])
    context = {"number": report.number, "supersedes": report.supersedes_id is not None}
    return [
        Draft(
            Notification.Kind.REPORT_ISSUED,
            user,
            url,
            context,
            assessment=assessment,
            report=report,
        )
        for user in _owners(assessment) + _vendors(assessment)
    ]


def _on_objection_answered(event: Event) -> list[Draft]:
    """The objection's author, with the outcome and the answer."""
    if event.target_type != "reports.objection":
        return []
    objection = (
        Objection.objects.select_related(
            "ranking", "lodged_by", "assessment__campaign", "assessment__cloud"
        )
        .filter(pk=event.target_id)
        .first()
    )
    if objection is None or not objection.lodged_by.is_active:
        return []
    ranking = objection.ranking
    url = reverse("rankings:objections", args=[ranking.year, ranking.slug])
    context = {"outcome": objection.state, "answer": objection.answer}
    return [
        Draft(
            Notification.Kind.OBJECTION_ANSWERED,
            objection.lodged_by,
            url,
            context,
            assessment=objection.assessment,
            objection=objection,
        )
    ]


# Action codes of the audit trail → who is told. Codes not listed are ignored.
_HANDLERS: dict[str, Callable[[Event], list[Draft]]] = {
    "assessments.assignment.created": _on_assignment_created,
    "assessments.assignment.replaced": _on_assignment_replaced,
    "assessments.campaign.open": _on_campaign_opened,
    "assessments.assessment.returned": _on_returned,
    "assessments.assessment.reopened": _on_returned,
    "assessments.assessment.submitted": _on_submitted,
    "assessments.assessment.scored": _on_scored,
    "assessments.assessment.approved": _on_approved,
    "reports.report.rendered": _on_report_rendered,
    "reports.objection.answered": _on_objection_answered,
}


# ----------------------------------------------------------------------------------------------
# Deadline reminders


def _reminder_kind(due: datetime.date, today: datetime.date, *, soon: str, late: str) -> str:
    return late if due < today else soon


def reminder_drafts(*, today: datetime.date) -> list[Draft]:
    """The reminders due on ``today``, whether sent already or not, in four queries.

    Vendors: each self-assessment still a draft or returned in an open or reviewing campaign,
    ``REMINDER_LEAD_DAYS`` days before ``Assessment.due_on`` and once it has passed. Assessors:
    each current assignment still scoring an assessment open for scoring, before and after the
    campaign's ``scoring_due_on``."""
    horizon = today + datetime.timedelta(days=REMINDER_LEAD_DAYS)
    drafts: list[Draft] = []
    assessments = list(
        Assessment.objects.filter(
            state__in=[Assessment.State.DRAFT, Assessment.State.RETURNED],
            campaign__state__in=[Campaign.State.OPEN, Campaign.State.REVIEWING],
        )
        .annotate(deadline=Coalesce("self_assessment_due_on", "campaign__closes_on"))
        .filter(deadline__lte=horizon)
        .select_related("campaign", "cloud")
    )
    if assessments:
        links = Cloud.vendors.through.objects.filter(
            cloud_id__in={a.cloud_id for a in assessments}
        ).values_list("organisation_id", "cloud_id")
        clouds_of: dict[int, list[int]] = {}
        for organisation_id, cloud_id in links:
            clouds_of.setdefault(organisation_id, []).append(cloud_id)
        vendors_by_cloud: dict[int, list[User]] = {}
        for user in _active_users().filter(
            role__in=policy.roles_for(Action.ASSESSMENT_SUBMIT), organisation_id__in=clouds_of
        ):
            for cloud_id in clouds_of.get(user.organisation_id or 0, []):
                vendors_by_cloud.setdefault(cloud_id, []).append(user)
        for assessment in assessments:
            due = assessment.due_on
            kind = _reminder_kind(
                due,
                today,
                soon=Notification.Kind.SELF_ASSESSMENT_DUE,
                late=Notification.Kind.SELF_ASSESSMENT_OVERDUE,
            )
            drafts += [
                Draft(
                    kind,
                    user,
                    _detail_url(assessment),
                    {"days": (due - today).days},
                    assessment=assessment,
                    deadline=due,
                )
                for user in vendors_by_cloud.get(assessment.cloud_id, [])
            ]
    for assignment in _current_assignments().filter(
        state=Assignment.State.SCORING,
        assessor__is_active=True,
        assessment__state__in=[Assessment.State.SUBMITTED, Assessment.State.IN_REVIEW],
        assessment__campaign__scoring_due_on__lte=horizon,
    ):
        scored = assignment.assessment
        scoring_due = scored.campaign.scoring_due_on
        assert scoring_due is not None  # filtered above
        kind = _reminder_kind(
            scoring_due,
            today,
            soon=Notification.Kind.SCORING_DUE,
            late=Notification.Kind.SCORING_OVERDUE,
        )
        drafts.append(
            Draft(
                kind,
                assignment.assessor,
                _score_url(scored),
                {"days": (scoring_due - today).days},
                assessment=scored,
                deadline=scoring_due,
            )
        )
    return drafts


def reminders_send(*, today: datetime.date | None = None) -> list[Notification]:
    """Creates the reminders due ``today`` (default: the local date) that were not sent yet,
    and queues their e-mails; returns the new ones. Safe to run twice, even at once: each
    reminder exists once per recipient, assessment, kind and deadline (a database constraint),
    so a new deadline gives new reminders and nothing else is ever sent twice. A constant number
    of queries, whatever the number of assessments."""
    today = today or timezone.localdate()
    drafts = reminder_drafts(today=today)
    for _attempt in range(3):
        if not drafts:
            return []
        sent = set(
            Notification.objects.filter(
                kind__in=Notification.REMINDER_KINDS,
                deadline__isnull=False,
                assessment_id__in={d.assessment.pk for d in drafts if d.assessment is not None},
            ).values_list("kind", "recipient_id", "assessment_id", "deadline")
        )
        drafts = [
            d
            for d in drafts
            if (d.kind, d.recipient.pk, d.assessment.pk if d.assessment else None, d.deadline)
            not in sent
        ]
        try:
            return notifications_create(drafts=drafts)
        except IntegrityError:
            # Another run created some of them meanwhile: read again what exists, send the rest.
            logger.info("reminders: a concurrent run sent some; retrying with the rest")
    return []


# ----------------------------------------------------------------------------------------------
# The portal's own actions on notifications


def notification_mark_read(*, notification: Notification, acting_user: User) -> Notification:
    """Marks one of ``acting_user``'s notifications read (again: no change). Raises ``Denied``
    for someone else's."""
    policy.require(acting_user, Action.NOTIFICATION_VIEW, notification)
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notifications_mark_all_read(*, acting_user: User) -> int:
    """Marks every unread notification of ``acting_user`` read; returns how many."""
    policy.require(acting_user, Action.NOTIFICATION_VIEW)
    return Notification.objects.filter(recipient=acting_user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def user_language_set(*, user: User, language: str) -> None:
    """Remembers the language ``user`` chose in the portal: their e-mails are written in it.
    Ignores a language the portal does not offer."""
    if language in LANGUAGES and user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


# ----------------------------------------------------------------------------------------------
# E-mails left behind

# An e-mail not sent this long after its notification was created is queued again: its task's
# own retries (up to about eight hours of back-off) are over, or its message never reached the
# broker (the broker was down at the commit). Older ones are given up: news a week old is no
# longer worth an e-mail, and the notification stays in the portal.
EMAIL_RESEND_AFTER = datetime.timedelta(hours=12)
EMAIL_GIVE_UP_AFTER = datetime.timedelta(days=7)


def unsent_emails_requeue(*, now: datetime.datetime | None = None) -> int:
    """Queues again the e-mail of each notification still unsent ``EMAIL_RESEND_AFTER`` after
    it was created (and not older than ``EMAIL_GIVE_UP_AFTER``) whose recipient has an address;
    returns how many. Safe to run twice: the send task skips a notification already e-mailed."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(
            emailed_at__isnull=True,
            created_at__lte=now - EMAIL_RESEND_AFTER,
            created_at__gt=now - EMAIL_GIVE_UP_AFTER,
            recipient__is_active=True,
        )
        .exclude(recipient__email="")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        send_notification_email_task.delay(pk)
    if ids:
        logger.warning("Queued again %s notification e-mail(s) left unsent.", len(ids))
    return len(ids)
