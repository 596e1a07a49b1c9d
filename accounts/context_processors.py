from __future__ import annotations

from typing import TypedDict

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import User


class NavItem(TypedDict):
    label: str | Promise
    url: str
    active: bool


# (label, url name, roles that see it); None means every signed-in role.
_NAVIGATION: list[tuple[Promise, str, set[str] | None]] = [
    (_("Dashboard"), "accounts:dashboard", None),
    (_("Audit trail"), "audit:event_list", {User.Role.ADMIN, User.Role.AUDITOR}),
    (_("Site administration"), "admin:index", {User.Role.ADMIN}),
]


def register_navigation(label: Promise, url_name: str, roles: set[str] | None) -> None:
    """Lets an app add its pages to the menu (called from its ``AppConfig.ready``)."""
    entry = (label, url_name, roles)
    if entry not in _NAVIGATION:
        _NAVIGATION.insert(-1 if _NAVIGATION else 0, entry)


def navigation(request: HttpRequest) -> dict[str, list[NavItem]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    items: list[NavItem] = []
    for label, url_name, roles in _NAVIGATION:
        if roles is not None and user.role not in roles:
            continue
        url = reverse(url_name)
        is_home = url == reverse("accounts:dashboard")
        active = request.path == url if is_home else request.path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    return {"navigation": items}
