from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import User
from govcloud_eval.clientip import current_client_address

from .chain import schedule_seal
from .models import AuditEvent
from .signals import event_recorded


def audit_record(
    *,
    action: str,
    acting_user: User | None,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Adds one audit event. Call it inside the transaction of the change it records.

    ``action`` is a dotted code, ``<app>.<thing>.<past-tense verb>`` such as
    ``assessments.assessment.submitted``. ``changes`` must be JSON-serialisable. Sends
    ``audit.signals.event_recorded`` once the event is saved (still inside the transaction).
    Within a request, the event carries the client's address (``govcloud_eval.clientip``).
    Once the transaction commits, the event is sealed into the hash chain (``audit.chain``).
    """
    event = _event(action=action, acting_user=acting_user, target=target, changes=changes)
    event.full_clean()
    event.save()
    schedule_seal()
    event_recorded.send(sender=AuditEvent, event=event, target=target)
    return event


def audit_record_many(
    *,
    action: str,
    acting_user: User | None,
    records: list[tuple[models.Model, dict[str, Any]]],
) -> list[AuditEvent]:
    """``audit_record`` for many targets of one action, in one INSERT (campaign scoring records
    a result for each of hundreds of assessments). ``records`` pairs each target with its
    changes; the events are saved in that order, and ``event_recorded`` is sent for each."""
    events = [
        _event(action=action, acting_user=acting_user, target=target, changes=changes)
        for target, changes in records
    ]
    if not events:
        return []
    # The fields are built above from a model, a user and a dict: what full_clean checks of
    # them (lengths, JSON) once, on the first, is the same for the rest.
    events[0].full_clean()
    saved = AuditEvent.objects.bulk_create(events)
    schedule_seal()
    for event, (target, _changes) in zip(saved, records, strict=True):
        event_recorded.send(sender=AuditEvent, event=event, target=target)
    return saved


def _event(
    *,
    action: str,
    acting_user: User | None,
    target: models.Model | None,
    changes: dict[str, Any] | None,
) -> AuditEvent:
    if action.count(".") < 2:
        raise ValueError(f"Audit action {action!r} is not a dotted <app>.<thing>.<verb> code.")
    return AuditEvent(
        action=action,
        actor=acting_user if acting_user is not None and acting_user.pk else None,
        actor_label=acting_user.get_username() if acting_user is not None else "",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        changes=changes or {},
        client_address=current_client_address(),
    )
