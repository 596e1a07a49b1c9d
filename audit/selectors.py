from __future__ import annotations

from django.db.models import QuerySet

from accounts import policy
from accounts.models import User

from .models import AuditEvent


def audit_event_list(*, user: User, action_prefix: str = "") -> QuerySet[AuditEvent]:
    """The audit events a user may read: all of them for admins and auditors, none otherwise
    (``accounts.policy.audit_scope``)."""
    scope = policy.audit_scope(user)
    if scope.is_empty:
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(scope.q).select_related("actor")
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    return events
