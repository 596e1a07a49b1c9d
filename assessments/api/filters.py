"""The query-string filters of the workflow API's lists (django-filter), and an ordering that
always ends on the id, so that pages never overlap or skip rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from ..models import Assessment, Campaign, Cloud


class StableOrderingFilter(OrderingFilter):
    """DRF's ``?ordering=``, with the primary key added last as a tie-breaker."""

    def get_ordering(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> Sequence[str] | None:
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return ordering
        fields = list(ordering)
        if not any(f.lstrip("-") in ("pk", "id") for f in fields):
            fields.append("pk")
        return fields


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class CampaignFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Campaign.State.choices)
    year = django_filters.NumberFilter(field_name="year")
    name = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", label="Name contains"
    )

    class Meta:
        model = Campaign
        fields = ["state", "year", "name"]


class CloudFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=Cloud.Level.choices)
    province = django_filters.CharFilter(
        field_name="owner__division_code",
        lookup_expr="startswith",
        max_length=2,
        label="The owner's province: the first two digits of its division code (37: Shandong)",
    )
    archived = django_filters.BooleanFilter(
        field_name="archived_at", lookup_expr="isnull", exclude=True, label="Archived"
    )
    q = django_filters.CharFilter(method="search", label="Name (Chinese or English) contains")

    class Meta:
        model = Cloud
        fields = ["level", "province", "archived", "q"]

    def search(self, queryset: QuerySet[Cloud], name: str, value: str) -> QuerySet[Cloud]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(name_en__icontains=value))


class AssessmentFilter(django_filters.FilterSet):
    campaign = IdFilter(field_name="campaign_id", label="Campaign id")
    cloud = IdFilter(field_name="cloud_id", label="Cloud id")
    state = django_filters.ChoiceFilter(choices=Assessment.State.choices)
    year = django_filters.NumberFilter(field_name="campaign__year", label="The campaign's year")

    class Meta:
        model = Assessment
        fields = ["campaign", "cloud", "state", "year"]
