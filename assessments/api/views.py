from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from rest_framework import generics
from rest_framework.request import Request

from accounts import policy
from accounts.models import User
from accounts.policy import Action

from .. import selectors
from ..models import Answer, Assessment
from .serializers import AssessmentDetailSerializer, AssessmentListSerializer


def _visible_assessments(request: Request) -> QuerySet[Assessment]:
    """The assessments the requesting user may see: none for an anonymous request, as the
    policy would give it (the permission class refuses those before this is asked)."""
    user = request.user
    if not isinstance(user, User):
        return Assessment.objects.none()
    return selectors.assessment_list_for(user=user)


class AssessmentList(generics.ListAPIView):
    """The assessments the signed-in user may see (the same rule as the pages)."""

    permission_classes = [policy.api_permission(Action.ASSESSMENT_LIST)]
    serializer_class = AssessmentListSerializer

    def get_queryset(self) -> QuerySet[Assessment]:
        return (
            _visible_assessments(self.request)
            .select_related("campaign__framework")
            .order_by("-campaign__year", "campaign_id", "cloud__name", "id")
        )


class AssessmentDetail(generics.RetrieveAPIView):
    permission_classes = [policy.api_permission(Action.ASSESSMENT_LIST)]
    serializer_class = AssessmentDetailSerializer

    def get_queryset(self) -> QuerySet[Assessment]:
        return (
            _visible_assessments(self.request)
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
