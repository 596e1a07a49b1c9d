"""Users and organisations in the Django admin site: under the access policy, every change audited
(``accounts.admin_site``), for the security administrator only (three-role separation). A
user's role and organisation are set when the user is created and never changed here; nobody is
made staff or superuser by hand. Sign-in lockouts (django-axes) are lifted here too: an action
on the users, and the list of locked accounts and addresses."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import policy, services
from .admin_site import PolicyModelAdmin, ReadOnlyModelAdmin
from .models import FailedSignIn, Organisation, User
from .policy import Action
from .twofactor.services import two_factor_reset

# Access is the policy's, not Django's groups and permissions.
admin.site.unregister(Group)
# Authenticator secrets and recovery codes are nobody's to read: a security administrator resets
# them (the action on the users), and each person manages their own (accounts.twofactor).
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


@admin.register(Organisation)
class OrganisationAdmin(PolicyModelAdmin):
    action = Action.ORGANISATION_MANAGE
    list_display = ["name", "kind", "name_en", "is_demo"]
    list_filter = ["kind", "is_demo"]
    search_fields = ["name", "name_en"]


@admin.register(User)
class UserAdmin(PolicyModelAdmin, DjangoUserAdmin):
    action = Action.USER_MANAGE
    actions = ["unlock", "reset_two_factor"]
    list_display = ["username", "display_name", "role", "organisation", "is_active", "is_demo"]
    list_filter = ["role", "is_active", "is_demo"]
    search_fields = ["username", "display_name", "email"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("display_name", "first_name", "last_name", "email")}),
        (_("Role"), {"fields": ("role", "organisation", "is_active", "is_demo")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Role"), {"fields": ("role", "display_name", "organisation")}),
    )
    list_display_links = ["username"]
    filter_horizontal = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A person's role and organisation decide what they may see: set once, at creation.
        if obj is not None:
            return ["role", "organisation", "is_demo", "last_login", "date_joined"]
        return []

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        obj.is_staff = policy.is_staff_role(obj.role)
        obj.is_superuser = False
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Unlock sign-in for the selected accounts"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        acting_user = request.user
        assert isinstance(acting_user, User)
        for user in queryset:
            services.lockout_clear(user=user, acting_user=acting_user)
        self.message_user(
            request,
            _("Sign-in unlocked for %(count)d account(s).") % {"count": len(queryset)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Reset two-factor authentication of the selected accounts"))
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> Any:
        """Deletes the accounts' authenticator apps and recovery codes (a lost phone), after a
        confirmation page; they set up a new app at their next sign-in. Audited per account."""
        acting_user = request.user
        assert isinstance(acting_user, User)
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(
                request,
                "admin/accounts/user/reset_two_factor.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Reset two-factor authentication?"),
                    "users": list(queryset),
                    "action_checkbox_name": ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        for user in queryset:
            two_factor_reset(user=user, acting_user=acting_user)
        self.message_user(
            request,
            _(
                "Two-factor authentication reset for %(count)d account(s): they set it up again "
                "at their next sign-in."
            )
            % {"count": len(queryset)},
            messages.SUCCESS,
        )
        return None

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not policy.can(request.user, Action.USER_UNLOCK):
            actions.pop("unlock", None)
        if not policy.can(request.user, Action.USER_MANAGE):
            actions.pop("reset_two_factor", None)
        return actions


# axes' own admin pages (AXES_ENABLE_ADMIN) ask Django's permissions, which nobody holds here.
class AttemptTimeFilter(admin.DateFieldListFilter):
    """By the last failed attempt (Django names the filter after the field, in axes' English)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("Last failed attempt")


@admin.register(FailedSignIn)
class AccessAttemptAdmin(ReadOnlyModelAdmin):
    """Failed sign-ins by account, address and browser, read-only; the action lifts the lockout
    of their addresses (unlocking an account is an action on the users)."""

    action = Action.USER_UNLOCK
    # axes has no Chinese of its own: the columns are named here.
    list_display = ["last_attempt", "account", "address", "failures", "page"]
    list_filter = [("attempt_time", AttemptTimeFilter)]
    search_fields = ["username", "ip_address"]

    @admin.display(description=_("Last failed attempt"), ordering="attempt_time")
    def last_attempt(self, attempt: AccessAttempt) -> object:
        return attempt.attempt_time

    @admin.display(description=_("Username tried"), ordering="username")
    def account(self, attempt: AccessAttempt) -> object:
        return attempt.username

    @admin.display(description=_("Client address"), ordering="ip_address")
    def address(self, attempt: AccessAttempt) -> object:
        return attempt.ip_address

    @admin.display(description=_("Failed sign-ins"), ordering="failures_since_start")
    def failures(self, attempt: AccessAttempt) -> object:
        return attempt.failures_since_start

    @admin.display(description=_("Page"))
    def page(self, attempt: AccessAttempt) -> object:
        return attempt.path_info

    fields = ["username", "ip_address", "user_agent", "path_info", "failures_since_start"]
    actions = ["unlock_addresses"]

    @admin.action(description=_("Unlock sign-in from the selected addresses"))
    def unlock_addresses(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        acting_user = request.user
        assert isinstance(acting_user, User)
        addresses = sorted({a.ip_address for a in queryset if a.ip_address})
        for address in addresses:
            services.lockout_clear(ip_address=address, acting_user=acting_user)
        self.message_user(
            request,
            _("Sign-in unlocked for %(count)d address(es).") % {"count": len(addresses)},
            messages.SUCCESS,
        )
