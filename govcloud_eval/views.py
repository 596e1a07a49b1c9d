from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from accounts import policy
from accounts import selectors as account_selectors
from accounts.models import Organisation, User
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from assessments import selectors as assessment_selectors
from audit.selectors import audit_event_list
from govcloud_eval.api.errors import error_body

from . import health, worklists


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The state of everything the portal needs; 503 naming what is missing when any of it is.

    Everyone gets ``status``, ``missing`` and each check's ``ok``; the details (versions, hosts,
    paths, error texts) only users the access policy allows (``HEALTH_DETAILS``)."""
    checks = health.run_all()
    ok = all(check["ok"] for check in checks.values())
    missing = [name for name, check in checks.items() if not check["ok"]]
    shown: Mapping[str, object] = (
        checks if _may_read_health_details(request) else health.without_details(checks)
    )
    payload = {"status": "ok" if ok else "unavailable", "missing": missing, "checks": shown}
    return JsonResponse(
        payload, status=200 if ok else 503, json_dumps_params={"ensure_ascii": False}
    )


def _may_read_health_details(request: HttpRequest) -> bool:
    try:
        return policy.can(request.user, Action.HEALTH_DETAILS)
    except DatabaseError:
        # The signed-in user lives in the database, which may be what is down: no details.
        return False


@policy.requires(Action.DASHBOARD_VIEW)
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    """Each role's start page, leading with the work waiting for the user (counts and the
    first items, each linking to where the work is done: ``worklists``), then what the office
    manages; the sections follow the access policy. The number of queries does not grow with
    the number of things waiting."""
    user = request.user
    queues = worklists.queues_for(user)
    context: dict[str, Any] = {
        "role_template": f"dashboard/partials/_{user.role}.html",
        "queues": queues,
        "has_work": any(q.count for q in queues),
    }
    if policy.can(user, Action.USER_MANAGE):
        roles, kinds = account_selectors.directory_counts()
        context["user_counts"] = [(User.Role(r).label, n) for r, n in roles.items()]
        context["organisation_counts"] = [(Organisation.Kind(k).label, n) for k, n in kinds.items()]
    if policy.can(user, Action.AUDIT_VIEW):
        context["recent_events"] = list(audit_event_list(user=user)[:10])
    if policy.can(user, Action.CAMPAIGN_VIEW):
        context["campaigns"] = list(assessment_selectors.campaign_list_for(user=user)[:5])
    elif policy.has_role_for(user, Action.OBJECTION_LODGE):
        # The owner's clouds: read-only, below the reports and notices that concern them.
        context["scope"] = policy.assessment_scope(user).relation
        context["assessments"] = list(
            assessment_selectors.assessment_list_for(user=user).order_by(
                "-campaign__year", "cloud__name"
            )[:10]
        )
    return render(request, "dashboard/dashboard.html", context)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the portal's own page, in the user's language, saying what to do
    (usually: reload the form and send it again). ``reason`` is Django's, for the logs only."""
    return render(request, "403_csrf.html", status=403)


class ApiSchemaView(SpectacularAPIView):
    """The OpenAPI 3 document of ``/api/v1/`` (YAML, or JSON with ``?format=json``). Public:
    it describes what exists, and every operation still asks the access policy."""

    permission_classes = [AllowAny]
    authentication_classes: list = []


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI over the schema, from the static files (no inline script: the CSP)."""
    return render(request, "api/docs.html", {"schema_url": reverse("api_schema")})


def _api_error(request: HttpRequest, status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        error_body(code, message), status=status, json_dumps_params={"ensure_ascii": False}
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: JSON of the API's error shape under /api/, the portal's page elsewhere."""
    if request.path.startswith("/api/"):
        return _api_error(request, 404, "not_found", _("Not found."))
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _api_error(
            request, 500, "server_error", _("Something went wrong on our side: it is logged.")
        )
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _api_error(request, 400, "bad_request", _("The request is malformed."))
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _api_error(request, 403, "permission_denied", _("You may not do this."))
    return defaults.permission_denied(request, exception)
