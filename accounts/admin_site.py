"""The Django admin site, under the access policy, with every change audited.

Portal admins are not Django superusers: the site asks ``accounts.policy`` (``admin_site.use``)
and each model admin asks for its own action instead of Django's per-model permissions, so that
the policy stays the one place where access is decided. Three-role separation: accounts and
organisations are the security administrator's (``user.manage``, ``organisation.manage``),
everything else the portal admin's (``admin_site.records``). Whatever the admin site adds,
changes or deletes (a user's display name, an organisation renamed, a draft indicator corrected,
a password reset) is written to the audit trail with the fields that changed and their values
before and after; a user's role and organisation, and the staff and superuser flags, cannot be
changed here at all.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record

from . import policy
from .models import User
from .policy import Action
from .twofactor import selectors as two_factor


class PortalAdminSite(admin.AdminSite):
    site_header = _("govcloud_eval administration")
    site_title = _("govcloud_eval administration")

    def has_permission(self, request: HttpRequest) -> bool:
        # The second factor too: a session still waiting for its code is not let in (the
        # TwoFactorMiddleware sends it to the code step first; this holds without it).
        return policy.can(request.user, Action.ADMIN_SITE) and two_factor.is_satisfied(request)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """One door: the portal's sign-in page (the password, then the second factor), never the
        admin site's own form, which would take a password alone."""
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse(
            "admin:index", current_app=self.name
        )
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("admin:index", current_app=self.name)
        if request.user.is_authenticated:
            # Signed in, but not allowed in here: their own pages, not a loop back to sign-in.
            return redirect(next_url if self.has_permission(request) else "dashboard")
        return redirect_to_login(next_url)


def _allowed(request: HttpRequest, action: Action = Action.ADMIN_RECORDS) -> bool:
    """Whether the request's user is in the admin site and may do ``action`` there."""
    return policy.can(request.user, Action.ADMIN_SITE) and policy.can(request.user, action)


def _acting_user(request: HttpRequest) -> User:
    """The signed-in admin making the change: the site lets no one else in
    (``PortalAdminSite.has_permission``)."""
    user = request.user
    assert isinstance(user, User), "the admin site admits signed-in users only"
    return user


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a form value for the audit trail."""
    if isinstance(value, models.Model):
        return str(value)
    if (
        isinstance(value, list | tuple | set)
        or hasattr(value, "__iter__")
        and not isinstance(value, str | bytes | dict)
    ):
        return [_plain(v) for v in value]
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


# Never written to the audit trail, even as "changed from … to …".
_SECRET_FIELDS = frozenset({"password"})


class PolicyInlineMixin:
    """Inlines of a policy-governed model admin: the same action as their model admin."""

    action = Action.ADMIN_RECORDS

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _allowed(request, self.action)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _allowed(request, self.action)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _allowed(request, self.action)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _allowed(request, self.action)


class PolicyModelAdmin(admin.ModelAdmin):
    """A model admin that asks the policy, and audits what it changes.

    ``action`` is what the policy must grant the user (besides the site itself);
    ``editable = False`` makes the model read-only here; deletions are off unless
    ``deletable = True`` (deleting is irreversible, and most rows are referenced by others).
    """

    action = Action.ADMIN_RECORDS
    editable = True
    deletable = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _allowed(request, self.action)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _allowed(request, self.action)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.editable and _allowed(request, self.action)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.editable and _allowed(request, self.action)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and self.editable and _allowed(request, self.action)

    # The audit trail: Django's admin logs every addition, change and deletion through these
    # three methods (the password form included), so auditing them misses nothing.

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        changed: dict[str, Any] = {}
        for name in form.changed_data:
            if name in _SECRET_FIELDS:
                changed[name] = "changed"
                continue
            before = form.initial.get(name)
            after = form.cleaned_data.get(name)
            changed[name] = [_plain(before), _plain(after)] if change else _plain(after)
        obj._admin_audit_changes = changed
        super().save_model(request, obj, form, change)

    def _audit(self, request: HttpRequest, obj: Any, verb: str, message: Any) -> None:
        changes: dict[str, Any] = {"via": "django-admin"}
        changes.update(getattr(obj, "_admin_audit_changes", {}) or {})
        if message:
            changes["message"] = _plain(message) if not isinstance(message, str) else message
        opts = obj._meta
        audit_record(
            action=f"{opts.app_label}.{opts.model_name}.admin_{verb}",
            acting_user=_acting_user(request),
            target=obj,
            changes=changes,
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, obj, "added", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        self._audit(request, obj, "changed", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            self._audit(request, obj, "deleted", "")
        return super().log_deletions(request, queryset)


class ReadOnlyModelAdmin(PolicyModelAdmin):
    """Rows written only by the services: the admin site shows them and changes nothing."""

    editable = False
