from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from accounts import policy
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest

from .selectors import audit_event_list


@policy.requires(Action.AUDIT_VIEW)
def event_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    action_prefix = request.GET.get("action", "").strip()[:100]
    page = Paginator(audit_event_list(user=user, action_prefix=action_prefix), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "audit/event_list.html", {"page": page, "action": action_prefix})
