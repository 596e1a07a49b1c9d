from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User

from .models import AuditEvent


def audit_event_list(*, user: User, action_prefix: str = "") -> QuerySet[AuditEvent]:
    """The audit events a user may read: all of them for admins and auditors, none otherwise."""
    if user.role not in (User.Role.ADMIN, User.Role.AUDITOR):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.select_related("actor")
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    return events
