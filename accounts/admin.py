"""Users and organisations in the Django admin site: under the access policy, every change audited
(``accounts.admin_site``). A user's role and organisation are set when the user is created and
never changed here; nobody is made staff or superuser by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import policy
from .admin_site import PolicyModelAdmin
from .models import Organisation, User

# Access is the policy's, not Django's groups and permissions.
admin.site.unregister(Group)


@admin.register(Organisation)
class OrganisationAdmin(PolicyModelAdmin):
    list_display = ["name", "kind", "name_en", "is_demo"]
    list_filter = ["kind", "is_demo"]
    search_fields = ["name", "name_en"]


@admin.register(User)
class UserAdmin(PolicyModelAdmin, DjangoUserAdmin):
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
