from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User

from .selectors import audit_event_list


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if user.role not in (User.Role.ADMIN, User.Role.AUDITOR):
        raise Http404
    action_prefix = request.GET.get("action", "").strip()[:100]
    page = Paginator(audit_event_list(user=user, action_prefix=action_prefix), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "audit/event_list.html", {"page": page, "action": action_prefix})
