"""The menu of every page: the portal's sections, shown to the roles that may use them."""

from __future__ import annotations

from typing import TypedDict

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class NavItem(TypedDict):
    label: str | Promise
    url: str
    active: bool


# (label, url name, roles that see it); None means every signed-in role.
_NAVIGATION: list[tuple[Promise, str, set[str] | None]] = [
    (_("Dashboard"), "dashboard", None),
    (_("Audit trail"), "audit:event_list", {User.Role.ADMIN, User.Role.AUDITOR}),
    (_("Indicator catalogs"), "indicators:framework_list", None),
    (
        _("Assessments"),
        "assessments:list",
        {User.Role.ADMIN, User.Role.ASSESSOR, User.Role.VENDOR, User.Role.OWNER},
    ),
    (_("Campaigns"), "assessments:campaign_list", {User.Role.ADMIN}),
    (_("Site administration"), "admin:index", {User.Role.ADMIN}),
]


# Public pages, in the menu of every visitor, signed in or not.
_PUBLIC_NAVIGATION: list[tuple[Promise, str]] = [
    (_("Top ten"), "rankings:index"),
    (_("Verify a report"), "certified:verify_lookup"),
]


def navigation(request: HttpRequest) -> dict[str, list[NavItem]]:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    entries = [
        (label, url_name)
        for label, url_name, roles in (_NAVIGATION if signed_in else [])
        if roles is None or user.role in roles  # type: ignore[union-attr]
    ] + _PUBLIC_NAVIGATION
    home = reverse("dashboard")
    items: list[NavItem] = []
    for label, url_name in entries:
        url = reverse(url_name)
        active = request.path == url if url == home else request.path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    return {"navigation": items}
