from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from accounts import policy
from accounts.models import User

from .describe import ADMIN_KIND
from .models import AuditEvent

# What an object's history holds besides the events about the object itself: the events about
# its children, as (child model label, lookup from the child to the parent's pk). The audit app
# sits below the apps it records, so the models are named, not imported. Events that mention an
# object only inside ``changes`` (a ranking adjustment naming an assessment) are not included.
CHILDREN: dict[str, tuple[tuple[str, str], ...]] = {
    # Assignments, ratings, settlements, returns, score sheets, vetoes and scores are recorded
    # against the assessment itself; these are the rows with events of their own.
    "assessments.assessment": (
        ("assessments.evidence", "assessment"),
        ("assessments.assignment", "assessment"),
        ("assessments.answer", "assessment"),
        ("assessments.settlement", "assessment"),
        ("assessments.reviewcomment", "assessment"),
        ("assessments.rating", "assignment__assessment"),
        ("reports.scoreresult", "assessment"),
        ("reports.vetofinding", "assessment"),
        ("reports.report", "assessment"),
        ("reports.objection", "assessment"),
    ),
    # A campaign's history: its own events (state changes, scoring runs) and those of its
    # assessments (added, submitted, returned, approved...), its rankings and scoring runs; not
    # the evidence or ratings of each assessment (open an assessment's history for those).
    "assessments.campaign": (
        ("assessments.assessment", "campaign"),
        ("reports.ranking", "campaign"),
        ("reports.campaignscoringrun", "campaign"),
    ),
    "reports.ranking": (
        ("reports.rankingadjustment", "ranking"),
        ("reports.objection", "ranking"),
    ),
}


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""  # the actor's name as recorded (``actor_label``)
    action: str = ""  # a code, a kind ending in "." (every action of it), or ``ADMIN_KIND``
    date_from: datetime.date | None = None  # local dates, inclusive
    date_to: datetime.date | None = None
    object_type: str = ""  # a model label, ``assessments.assessment``
    object_id: str = ""
    related: bool = False  # with the object's children (``CHILDREN``)
    search: str = ""


def _model(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def object_q(*, object_type: str, object_id: str, related: bool = True, own: bool = True) -> Q:
    """Events about one object (``own``) and, with ``related``, about its children."""
    q = Q(target_type=object_type, target_id=object_id) if own else Q(pk__in=[])
    if not related:
        return q
    for child_label, lookup in CHILDREN.get(object_type, ()):
        child = _model(child_label)
        if child is None:
            continue
        try:
            rows = child._default_manager.filter(**{lookup: object_id})
        except (ValueError, TypeError, ValidationError):
            return q  # not a valid id of the parent: it has no children
        ids = rows.annotate(audit_target_id=Cast("pk", models.CharField())).values(
            "audit_target_id"
        )
        q |= Q(target_type=child_label, target_id__in=ids)
    return q


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_event_list(
    *, user: User, filters: AuditFilters | None = None, action_prefix: str = ""
) -> QuerySet[AuditEvent]:
    """The audit events a user may read, newest first: all of them for admins and auditors,
    none otherwise (``accounts.policy.audit_scope``), narrowed by ``filters``. Reads no related
    row: a page of events is two queries (count and rows) whatever its size."""
    scope = policy.audit_scope(user)
    if scope.is_empty:
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(scope.q)
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    f = filters or AuditFilters()
    if f.actor:
        events = events.filter(actor_label=f.actor)
    if f.action == ADMIN_KIND:
        events = events.filter(action__contains=".admin_")
    elif f.action.endswith("."):
        events = events.filter(action__startswith=f.action).exclude(action__contains=".admin_")
    elif f.action:
        events = events.filter(action=f.action)
    if f.date_from:
        events = events.filter(at__gte=_start_of(f.date_from))
    if f.date_to:
        events = events.filter(at__lt=_start_of(f.date_to + datetime.timedelta(days=1)))
    if f.object_type and f.object_id:
        events = events.filter(
            object_q(object_type=f.object_type, object_id=f.object_id, related=f.related)
        )
    elif f.object_type:
        events = events.filter(target_type=f.object_type)
    if f.search:
        # The changes as the database prints them (JSON text): a reason, a file name, a number.
        events = events.alias(changes_text=Cast("changes", models.TextField())).filter(
            Q(target_label__icontains=f.search)
            | Q(actor_label__icontains=f.search)
            | Q(action__icontains=f.search)
            | Q(changes_text__icontains=f.search)
        )
    return events


def audit_actor_names(*, user: User) -> list[str]:
    """The names of everyone who appears in the trail, for the "who" filter (one query)."""
    if policy.audit_scope(user).is_empty:
        return []
    return list(
        AuditEvent.objects.exclude(actor_label="")
        .order_by("actor_label")
        .values_list("actor_label", flat=True)
        .distinct()
    )


def audit_object_types(*, user: User) -> list[str]:
    """The object types that appear in the trail (one query)."""
    if policy.audit_scope(user).is_empty:
        return []
    return list(
        AuditEvent.objects.exclude(target_type="")
        .order_by("target_type")
        .values_list("target_type", flat=True)
        .distinct()
    )


def audit_history(
    *, user: User, obj: models.Model, related: str = "", limit: int = 10
) -> list[AuditEvent]:
    """The latest ``limit`` events about ``obj`` and its children (``CHILDREN``), or, with
    ``related`` (a child model label), only about its children of that kind. Empty unless the
    user may read histories on object pages (``history.view``, the admin who runs the
    evaluation; the trail itself is the auditor's). One query."""
    scope = policy.history_scope(user)
    if scope.is_empty:
        return []
    label, pk = obj._meta.label_lower, str(obj.pk)
    if related:
        lookups = dict(CHILDREN.get(label, ()))
        child = _model(related)
        if child is None or related not in lookups:
            return []
        ids = (
            child._default_manager.filter(**{lookups[related]: pk})
            .annotate(audit_target_id=Cast("pk", models.CharField()))
            .values("audit_target_id")
        )
        q = Q(target_type=related, target_id__in=ids)
    else:
        q = object_q(object_type=label, object_id=pk)
    return list(AuditEvent.objects.filter(scope.q).filter(q)[:limit])
