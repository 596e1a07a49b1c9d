"""Read-only catalog API. Querysets come from the selectors, scoped to the requesting user."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics

from accounts import policy
from accounts.policy import Action
from indicators import selectors
from indicators.models import Framework

from .serializers import FrameworkDetailSerializer, FrameworkSummarySerializer


@extend_schema_view(get=extend_schema(summary="List indicator frameworks (catalogs)"))
class FrameworkListView(generics.ListAPIView):
    """Every framework version the user may read, newest first within each code."""

    permission_classes = [policy.api_permission(Action.CATALOG_VIEW)]
    serializer_class = FrameworkSummarySerializer
    filterset_fields = ["code", "kind", "state"]
    ordering_fields = ["code", "version", "created_at", "published_at"]

    def get_queryset(self) -> QuerySet[Framework]:
        return selectors.framework_list(user=self.request.user)


@extend_schema_view(
    get=extend_schema(
        summary="Read one framework version: dimensions, indicators, rubrics and level rules"
    )
)
class FrameworkDetailView(generics.RetrieveAPIView):
    """One framework version with its whole tree."""

    permission_classes = [policy.api_permission(Action.CATALOG_VIEW)]
    serializer_class = FrameworkDetailSerializer

    def get_queryset(self) -> QuerySet[Framework]:
        return selectors.framework_tree_queryset(user=self.request.user)

    def get_object(self) -> Framework:
        framework = generics.get_object_or_404(
            self.get_queryset(), code=self.kwargs["code"], version=self.kwargs["version"]
        )
        self.check_object_permissions(self.request, framework)
        return framework
