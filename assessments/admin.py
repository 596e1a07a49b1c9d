"""Clouds in the Django admin site: under the access policy, every change audited with its values
before and after (``accounts.admin_site``). The portal's cloud pages are the usual way; the
admin site is for corrections, under the same rule that the owner's division fits the cloud's
level. Archiving is done on the portal, where it is confirmed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from accounts.admin_site import PolicyModelAdmin

from .models import Cloud
from .services import cloud_level_problem


class CloudAdminForm(forms.ModelForm):
    class Meta:
        model = Cloud
        fields = [
            "name",
            "name_en",
            "owner",
            "vendors",
            "level",
            "on_extranet",
            "on_internet",
            "is_demo",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        owner, level = data.get("owner"), data.get("level")
        if owner is not None and level:
            problem = cloud_level_problem(level=level, division_code=owner.division_code)
            if problem:
                self.add_error("owner", problem)
        return data


@admin.register(Cloud)
class CloudAdmin(PolicyModelAdmin):
    form = CloudAdminForm
    list_display = ["name", "owner", "level", "archived_at", "is_demo"]
    list_filter = ["level", "archived_at", "is_demo"]
    search_fields = ["name", "name_en", "owner__name", "owner__division_code"]
    list_select_related = ["owner"]
    filter_horizontal = ["vendors"]
    readonly_fields = ["archived_at", "created_at"]
    fields = [
        "name",
        "name_en",
        "owner",
        "vendors",
        "level",
        "on_extranet",
        "on_internet",
        "is_demo",
        "archived_at",
        "created_at",
    ]
