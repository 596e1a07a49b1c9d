from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from rest_framework import generics

from accounts import policy
from accounts.policy import Action

from .. import selectors
from ..models import Answer, Assessment
from .serializers import AssessmentDetailSerializer, AssessmentListSerializer


class AssessmentList(generics.ListAPIView):
    """The assessments the signed-in user may see (the same rule as the pages)."""

    permission_classes = [policy.api_permission(Action.ASSESSMENT_LIST)]
    serializer_class = AssessmentListSerializer

    def get_queryset(self) -> QuerySet[Assessment]:
        return (
            selectors.assessment_list_for(user=self.request.user)  # type: ignore[arg-type]
            .select_related("campaign__framework")
            .order_by("-campaign__year", "campaign_id", "cloud__name", "id")
        )


class AssessmentDetail(generics.RetrieveAPIView):
    permission_classes = [policy.api_permission(Action.ASSESSMENT_LIST)]
    serializer_class = AssessmentDetailSerializer

    def get_queryset(self) -> QuerySet[Assessment]:
        return (
            selectors.assessment_list_for(user=self.request.user)  # type: ignore[arg-type]
            .select_related("campaign__framework")
            .prefetch_related(
                Prefetch(
                    "answers",
                    queryset=Answer.objects.select_related("indicator").order_by(
                        "indicator__dimension__order", "indicator__order"
                    ),
                )
            )
        )
