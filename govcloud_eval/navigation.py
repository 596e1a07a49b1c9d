"""The menu of every page: the portal's sections, shown to the roles that may use them."""

from __future__ import annotations

from functools import partial
from typing import Any, TypedDict

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts import policy
from accounts.policy import Action
from notifications.selectors import unread_count_for_request


class NavItem(TypedDict):
    label: str | Promise
    url: str
    active: bool


# (label, url name, the action the page is for): an entry shows when the policy grants the
# user's role the action; public pages show to every visitor.
_NAVIGATION: list[tuple[Promise, str, Action]] = [
    (_("Dashboard"), "dashboard", Action.DASHBOARD_VIEW),
    (_("Audit trail"), "audit:event_list", Action.AUDIT_VIEW),
    (_("Indicator catalogs"), "indicators:framework_list", Action.CATALOG_VIEW),
    (_("Assessments"), "assessments:list", Action.ASSESSMENT_LIST),
    (_("Campaigns"), "assessments:campaign_list", Action.CAMPAIGN_VIEW),
    (_("Clouds"), "assessments:cloud_list", Action.CLOUD_VIEW),
    (_("Site administration"), "admin:index", Action.ADMIN_SITE),
    (_("Top ten"), "rankings:index", Action.RANKING_PUBLIC_VIEW),
    (_("Verify a report"), "certified:verify_lookup", Action.REPORT_VERIFY),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    home = reverse("dashboard")
    items: list[NavItem] = []
    for label, url_name, action in _NAVIGATION:
        if not policy.can(user if signed_in else AnonymousUser(), action):
            continue
        url = reverse(url_name)
        active = request.path == url if url == home else request.path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    # Counted only if the page shows it, once per request.
    unread = partial(unread_count_for_request, request)
    return {"navigation": items, "unread_notifications": unread}
