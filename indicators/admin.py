"""Admin for catalogs. Catalogs come in through import (files are the source of truth), so the
admin adds nothing; it may correct a draft, and shows published and retired versions read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin_site import PolicyInlineMixin, PolicyModelAdmin

from . import services
from .models import (
    Dimension,
    Framework,
    Indicator,
    LevelRule,
    RubricLevel,
    TrustedPassRule,
    VetoRule,
)


def _editable(obj: Any) -> bool:
    """Whether the framework ``obj`` belongs to (or is) may still change."""
    if obj is None:
        return True
    framework = obj if isinstance(obj, Framework) else obj.framework
    return framework.is_editable


class _FrozenInlineMixin(PolicyInlineMixin):
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_delete_permission(request, obj)


class DimensionInline(_FrozenInlineMixin, admin.TabularInline):
    model = Dimension
    fields = ["order", "code", "name_zh", "name_en", "weight"]
    show_change_link = True


class LevelRuleInline(_FrozenInlineMixin, admin.TabularInline):
    model = LevelRule
    fields = [
        "order",
        "code",
        "name_zh",
        "name_en",
        "min_total",
        "min_dimension_share",
        "min_key_rating",
    ]


class VetoRuleInline(_FrozenInlineMixin, admin.TabularInline):
    model = VetoRule
    fields = ["order", "code", "description_zh", "description_en", "cap_level"]


class TrustedPassRuleInline(_FrozenInlineMixin, admin.StackedInline):
    model = TrustedPassRule


class RubricLevelInline(_FrozenInlineMixin, admin.TabularInline):
    model = RubricLevel
    fields = ["rating", "text_zh", "text_en", "anchor"]


class _FrozenAdminMixin(PolicyModelAdmin):
    """Changes only while the framework is a draft; never adds; deletes drafts only."""

    deletable = True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_delete_permission(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        framework = obj if isinstance(obj, Framework) else obj.framework
        # An edited draft no longer matches its file: re-importing the file must replace it.
        services.framework_rehash(framework=framework)


@admin.register(Framework)
class FrameworkAdmin(_FrozenAdminMixin):
    list_display = ["code", "version", "name_zh", "kind", "state", "updated_at"]
    list_filter = ["kind", "state"]
    search_fields = ["code", "version", "name_zh", "name_en"]
    # State, provenance of the file and timestamps change only through the services.
    readonly_fields = [
        "code",
        "version",
        "kind",
        "state",
        "content_sha256",
        "source_filename",
        "based_on",
        "created_by",
        "created_at",
        "updated_at",
        "published_at",
        "retired_at",
    ]
    inlines = [DimensionInline, LevelRuleInline, VetoRuleInline, TrustedPassRuleInline]


@admin.register(Indicator)
class IndicatorAdmin(_FrozenAdminMixin):
    list_display = ["code", "name_zh", "framework", "weight", "is_key", "requirement_type"]
    list_filter = ["framework", "is_key", "requirement_type"]
    search_fields = ["code", "name_zh", "name_en"]
    list_select_related = ["framework"]
    readonly_fields = ["framework", "dimension"]
    inlines = [RubricLevelInline]
