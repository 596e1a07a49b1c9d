"""``{% can "assessment.review" assessment as may_review %}``: templates ask the access policy
(``accounts.policy``) whether to show an action, with the signed-in user of the context."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser

from accounts import policy

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context: template.Context, action: str, obj: Any = None) -> bool:
    """Whether the request's user may do ``action`` on ``obj`` now (on any object when ``obj``
    is omitted: the role alone is judged)."""
    request = context.get("request")
    user = getattr(request, "user", None) if request is not None else context.get("user")
    # Without a user in the context, judge as for an anonymous visitor (never as the system).
    return policy.can(user if user is not None else AnonymousUser(), action, obj)
