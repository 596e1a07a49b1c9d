"""``{% audit_history assessment as history %}``: an object's latest audit events, for the
history tab (``templates/audit/partials/_history.html``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django import template
from django.db import models
from django.urls import reverse

from accounts import policy
from accounts.models import User
from accounts.policy import Action

from ..describe import Described, described, sentence
from ..models import AuditEvent
from ..selectors import audit_history as history_events

register = template.Library()

SHOWN = 10


@dataclass(frozen=True)
class History:
    events: list[Described]
    more: bool  # more events than shown
    url: str  # the whole history in the audit trail, "" for those who may not read the trail


@register.simple_tag(takes_context=True)
def audit_history(
    context: template.Context, obj: models.Model | None, related: str = ""
) -> History | None:
    """None unless the request's user may read objects' histories (``history.view``)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if obj is None or not isinstance(user, User) or not user.is_authenticated:
        return None
    if not policy.can(user, Action.HISTORY_VIEW, obj):
        return None
    events = history_events(user=user, obj=obj, related=related, limit=SHOWN + 1)
    # The whole history: the object with its children (the trail filters by one object).
    query = {"object_type": obj._meta.label_lower, "object_id": str(obj.pk), "related": "1"}
    return History(
        events=described(events[:SHOWN]),
        more=len(events) > SHOWN,
        url=(
            reverse("audit:event_list") + "?" + urlencode(query)
            if policy.can(user, Action.AUDIT_VIEW)
            else ""
        ),
    )


@register.filter
def audit_sentence(event: AuditEvent) -> str:
    """``{{ event|audit_sentence }}``: the event in words (``audit.describe.sentence``)."""
    return sentence(event)
