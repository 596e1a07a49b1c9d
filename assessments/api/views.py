"""The workflow API: campaigns, clouds, assessments and their transitions.

The same rules as the pages: querysets come from the selectors (what the user may not see is
404), and every write calls the service its page calls, whose policy check refuses the others
(403) and whose state rules refuse the rest (400, with the service's message)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import policy
from accounts.models import User
from accounts.policy import Action

from .. import selectors, services
from ..models import Answer, Assessment, Assignment, Campaign, Cloud
from ..views.clouds import cloud_list_queryset
from .filters import AssessmentFilter, CampaignFilter, CloudFilter, StableOrderingFilter
from .serializers import (
    AssessmentDetailSerializer,
    AssessmentListSerializer,
    AssignmentRemoveSerializer,
    AssignSerializer,
    CampaignCloudsSerializer,
    CampaignCreateSerializer,
    CampaignDetailSerializer,
    CampaignStateChangeSerializer,
    CampaignUpdateSerializer,
    CloudDetailSerializer,
    ReasonSerializer,
    ReopenSerializer,
    ReturnSerializer,
)

FILTERS = [DjangoFilterBackend, StableOrderingFilter]
ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


def _user(request: Request) -> User:
    """The signed-in user (the permission classes refuse anonymous requests first)."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated
    return user


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _renamed(exc: DjangoValidationError, names: dict[str, str]) -> DjangoValidationError:
    """The service's error with its field names as the API calls them."""
    if not hasattr(exc, "error_dict"):
        return exc
    return DjangoValidationError(
        {names.get(name, name): errors for name, errors in exc.error_dict.items()}
    )


# ----------------------------------------------------------------------------------------------
# Campaigns


def _campaigns(request: Request) -> QuerySet[Campaign]:
    user = request.user
    if not isinstance(user, User):
        return Campaign.objects.none()
    return selectors.campaign_list_with_progress(user=user)


def _campaign_response(request: Request, pk: int, code: int = status.HTTP_200_OK) -> Response:
    campaign = generics.get_object_or_404(_campaigns(request), pk=pk)
    return Response(CampaignDetailSerializer(campaign).data, status=code)


CAMPAIGN_EXAMPLE = OpenApiExample(
    "A campaign",
    value={
        "name": "2026年政务云综合水平评估",
        "year": 2026,
        "framework_code": "comprehensive",
        "framework_version": "2026.1",
        "opens_on": "2026-03-01",
        "closes_on": "2026-04-30",
        "assessors_per_assessment": 2,
        "scoring_due_on": "2026-05-31",
    },
    request_only=True,
)


class CampaignList(generics.ListCreateAPIView):
    """The campaigns the user may manage, with their progress; admins create new ones."""

    permission_classes = [policy.api_permission(Action.CAMPAIGN_VIEW)]
    serializer_class = CampaignDetailSerializer
    filter_backends = FILTERS
    filterset_class = CampaignFilter
    ordering_fields = ["id", "year", "name", "opens_on", "closes_on", "state", "created_at"]

    def get_queryset(self) -> QuerySet[Campaign]:
        return _campaigns(self.request).order_by("-year", "-opens_on", "name", "pk")

    @extend_schema(
        summary="List campaigns",
        description="The campaigns with the number of their assessments in every state.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a campaign",
        description="A new campaign in draft, on a published framework version (admins).",
        request=CampaignCreateSerializer,
        responses={201: CampaignDetailSerializer},
        examples=[CAMPAIGN_EXAMPLE],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(CampaignCreateSerializer, request)
        campaign = services.campaign_create(
            name=data["name"],
            year=data["year"],
            framework=data["framework"],
            opens_on=data["opens_on"],
            closes_on=data["closes_on"],
            reference_date=data.get("reference_date"),
            assessors_per_assessment=data["assessors_per_assessment"],
            scoring_due_on=data.get("scoring_due_on"),
            acting_user=_user(request),
        )
        return _campaign_response(request, campaign.pk, status.HTTP_201_CREATED)


class CampaignDetail(generics.RetrieveAPIView):
    permission_classes = [policy.api_permission(Action.CAMPAIGN_VIEW)]
    serializer_class = CampaignDetailSerializer

    def get_queryset(self) -> QuerySet[Campaign]:
        return _campaigns(self.request)

    @extend_schema(summary="Read a campaign", description="One campaign with its progress.")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Change a campaign",
        description="Its name, dates or number of assessors (admins; never once closed). Only "
        "the fields sent change; the campaign is validated as a whole.",
        request=CampaignUpdateSerializer,
        responses={200: CampaignDetailSerializer},
        examples=[
            OpenApiExample(
                "New deadlines",
                value={"closes_on": "2026-05-15", "scoring_due_on": "2026-06-15"},
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        campaign = self.get_object()
        serializer = CampaignUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.campaign_update(
            campaign=campaign, acting_user=_user(request), **serializer.validated_data
        )
        return _campaign_response(request, campaign.pk)


class CampaignState(APIView):
    permission_classes = [policy.api_permission(Action.CAMPAIGN_VIEW)]

    @extend_schema(
        summary="Move a campaign on",
        description="draft → open → reviewing → closed, one step at a time (admins). A "
        "campaign closes only once every assessment is approved or excluded.",
        request=CampaignStateChangeSerializer,
        responses={200: CampaignDetailSerializer},
        parameters=[ID],
        examples=[OpenApiExample("Open it", value={"state": "open"}, request_only=True)],
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = generics.get_object_or_404(_campaigns(request), pk=pk)
        data = _valid(CampaignStateChangeSerializer, request)
        services.campaign_set_state(
            campaign=campaign, state=data["state"], acting_user=_user(request)
        )
        return _campaign_response(request, campaign.pk)


class CampaignClouds(APIView):
    permission_classes = [policy.api_permission(Action.CAMPAIGN_VIEW)]

    @extend_schema(
        summary="Add clouds to a campaign",
        description="One assessment per cloud (admins); clouds already in the campaign are left "
        "as they are. Unknown clouds, or archived ones, are refused and nothing is added.",
        request=CampaignCloudsSerializer,
        responses={200: CampaignDetailSerializer},
        parameters=[ID],
        examples=[
            OpenApiExample("Two clouds", value={"clouds": [12, 15]}, request_only=True),
            OpenApiExample(
                "Late, during the review",
                value={"clouds": [12], "due_on": "2026-05-20"},
                request_only=True,
            ),
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        user = _user(request)
        campaign = generics.get_object_or_404(_campaigns(request), pk=pk)
        data = _valid(CampaignCloudsSerializer, request)
        wanted = list(dict.fromkeys(data["clouds"]))
        visible = (
            cloud_list_queryset() if policy.can(user, Action.CLOUD_VIEW) else Cloud.objects.none()
        )
        clouds = {c.pk: c for c in visible.filter(pk__in=wanted)}
        unknown = [pk for pk in wanted if pk not in clouds]
        if unknown:
            raise DjangoValidationError(
                {
                    "clouds": _("No such clouds: %(ids)s")
                    % {"ids": ", ".join(str(pk) for pk in unknown)}
                }
            )
        services.campaign_add_clouds(
            campaign=campaign,
            clouds=[clouds[pk] for pk in wanted],
            acting_user=user,
            due_on=data.get("due_on"),
        )
        return _campaign_response(request, campaign.pk)


# ----------------------------------------------------------------------------------------------
# Clouds


class CloudList(generics.ListAPIView):
    """The register of government clouds (admins and auditors, like its page)."""

    permission_classes = [policy.api_permission(Action.CLOUD_VIEW)]
    serializer_class = CloudDetailSerializer
    filter_backends = FILTERS
    filterset_class = CloudFilter
    ordering_fields = ["id", "name", "level", "created_at", "owner__division_code"]

    def get_queryset(self) -> QuerySet[Cloud]:
        return cloud_list_queryset().order_by("owner__division_code", "name", "pk")

    @extend_schema(
        summary="List clouds",
        description="The clouds with their owner, vendors and number of campaigns.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CloudDetail(generics.RetrieveAPIView):
    permission_classes = [policy.api_permission(Action.CLOUD_VIEW)]
    serializer_class = CloudDetailSerializer

    def get_queryset(self) -> QuerySet[Cloud]:
        return cloud_list_queryset()

    @extend_schema(summary="Read a cloud", description="One cloud of the register.")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# ----------------------------------------------------------------------------------------------
# Assessments


def _visible_assessments(request: Request) -> QuerySet[Assessment]:
    """The assessments the requesting user may see: none for an anonymous request, as the
    policy would give it (the permission class refuses those before this is asked)."""
    user = request.user
    if not isinstance(user, User):
        return Assessment.objects.none()
    return selectors.assessment_list_for(user=user)


def _assessment(request: Request, pk: int) -> Assessment:
    """The assessment if the user may see it (404 otherwise), as the pages read it."""
    return selectors.assessment_get_for(user=_user(request), pk=pk)


def _detail_queryset(request: Request) -> QuerySet[Assessment]:
    return (
        _visible_assessments(request)
        .annotate(current_assessors=selectors.current_assessors())
        .select_related("campaign__framework", "cloud__owner")
        .prefetch_related(
            Prefetch(
                "answers",
                queryset=Answer.objects.select_related("indicator").order_by(
                    "indicator__dimension__order", "indicator__order"
                ),
            )
        )
    )


def _detail_context(request: Request, assessment: Assessment) -> dict[str, Any]:
    user = _user(request)
    assignments: list[Assignment] = []
    if policy.can(user, Action.ASSIGNMENT_CREATE):
        assignments = list(
            assessment.assignments.select_related("assessor").order_by("assigned_at", "pk")
        )
    return {
        "request": request,
        "next_actions": selectors.next_actions(user=user, assessment=assessment),
        "assignments": assignments,
    }


def _assessment_response(request: Request, pk: int) -> Response:
    assessment = generics.get_object_or_404(_detail_queryset(request), pk=pk)
    serializer = AssessmentDetailSerializer(
        assessment, context=_detail_context(request, assessment)
    )
    return Response(serializer.data)


class AssessmentList(generics.ListAPIView):
    """The assessments the signed-in user may see (the same rule as the pages)."""

    permission_classes = [policy.api_permission(Action.ASSESSMENT_LIST)]
    serializer_class = AssessmentListSerializer
    filter_backends = FILTERS
    filterset_class = AssessmentFilter
    ordering_fields = [
        "id",
        "state",
        "submitted_at",
        "approved_at",
        "self_assessment_due_on",
        "campaign__year",
        "cloud__name",
    ]

    def get_queryset(self) -> QuerySet[Assessment]:
        return (
            _visible_assessments(self.request)
            .select_related("campaign__framework", "cloud__owner")
            .order_by("-campaign__year", "campaign_id", "cloud__name", "id")
        )

    @extend_schema(
        summary="List assessments",
        description="Admins see all; assessors those assigned to them; vendors and owners "
        "their clouds' (none of a campaign still in draft).",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AssessmentDetail(generics.RetrieveAPIView):
    permission_classes = [policy.api_permission(Action.ASSESSMENT_LIST)]
    serializer_class = AssessmentDetailSerializer

    def get_queryset(self) -> QuerySet[Assessment]:
        return _detail_queryset(self.request)

    @extend_schema(
        summary="Read an assessment",
        description="The assessment, its answers and `next_actions`: what the user can do next "
        "and, for each action not allowed, why.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _assessment_response(request, int(kwargs["pk"]))


class _AssessmentAction(APIView):
    """A POST on one assessment: read it as the user may see it (404 otherwise), refuse a
    role never granted ``action`` (403, before the body is read: its checks say nothing to
    such a user), check the body, call the page's service, answer with the assessment as it
    is now."""

    permission_classes = [policy.api_permission(Action.ASSESSMENT_LIST)]
    action: Action
    body: type[serializers.Serializer] | None = None

    def act(self, user: User, assessment: Assessment, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        user = _user(request)
        assessment = _assessment(request, pk)
        policy.require(user, self.action)
        data = _valid(self.body, request) if self.body is not None else {}
        self.act(user, assessment, data)
        return _assessment_response(request, pk)


def _action_schema(
    summary: str,
    description: str,
    body: type[serializers.Serializer] | None = None,
    examples: list[OpenApiExample] | None = None,
    parameters: list[OpenApiParameter] | None = None,
) -> Any:
    return extend_schema(
        summary=summary,
        description=description,
        request=body,
        responses={200: AssessmentDetailSerializer},
        examples=examples or [],
        parameters=[ID, *(parameters or [])],
    )


class AssessmentSubmit(_AssessmentAction):
    action = Action.ASSESSMENT_SUBMIT

    @_action_schema(
        "Submit the self-assessment",
        "The vendor submits a draft or returned self-assessment once every indicator is "
        "answered; the message names every missing answer otherwise.",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, user: User, assessment: Assessment, data: dict[str, Any]) -> None:
        services.assessment_submit(assessment=assessment, acting_user=user)


class AssessmentReturn(_AssessmentAction):
    action = Action.ASSESSMENT_RETURN
    body = ReturnSerializer

    @_action_schema(
        "Return to the vendor",
        "The evaluation office sends a submitted, in-review or scored assessment back to the "
        "vendor with a reason and, when the vendor's deadline has passed, a new one.",
        ReturnSerializer,
        [
            OpenApiExample(
                "With a new deadline",
                value={"reason": "请补充等保测评报告。", "due_on": "2026-05-20"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, user: User, assessment: Assessment, data: dict[str, Any]) -> None:
        try:
            services.assessment_return(
                assessment=assessment,
                comment=data["reason"],
                due_on=data.get("due_on"),
                acting_user=user,
            )
        except DjangoValidationError as exc:
            raise _renamed(exc, {"comment": "reason"}) from exc


class AssessmentReopen(_AssessmentAction):
    action = Action.ASSESSMENT_REOPEN
    body = ReopenSerializer

    @_action_schema(
        "Reopen the self-assessment",
        "The evaluation office reopens a draft or returned self-assessment for its vendor "
        "until a new deadline, with a reason the vendor reads.",
        ReopenSerializer,
        [
            OpenApiExample(
                "Late vendor",
                value={"reason": "厂商申请延期。", "due_on": "2026-05-20"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, user: User, assessment: Assessment, data: dict[str, Any]) -> None:
        services.assessment_reopen(
            assessment=assessment, reason=data["reason"], due_on=data["due_on"], acting_user=user
        )


class AssessmentApprove(_AssessmentAction):
    action = Action.ASSESSMENT_APPROVE

    @_action_schema(
        "Approve",
        "The evaluation office approves a scored assessment once every disagreement between "
        "assessors is settled. Approved assessments never change.",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, user: User, assessment: Assessment, data: dict[str, Any]) -> None:
        services.assessment_approve(assessment=assessment, acting_user=user)


class AssessmentExclude(_AssessmentAction):
    action = Action.ASSESSMENT_EXCLUDE
    body = ReasonSerializer

    @_action_schema(
        "Exclude from the campaign",
        "Takes the cloud out of its campaign, with a reason: it stays in the record but is "
        "never scored, ranked or reported.",
        ReasonSerializer,
        [OpenApiExample("Withdrawn", value={"reason": "该云已停止运营。"}, request_only=True)],
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, user: User, assessment: Assessment, data: dict[str, Any]) -> None:
        services.assessment_exclude(assessment=assessment, reason=data["reason"], acting_user=user)


class AssessmentInclude(_AssessmentAction):
    action = Action.ASSESSMENT_INCLUDE

    @_action_schema(
        "Re-include in the campaign",
        "Brings an excluded assessment back, in the state it was excluded from.",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, user: User, assessment: Assessment, data: dict[str, Any]) -> None:
        services.assessment_include(assessment=assessment, acting_user=user)


class ScoringSubmit(_AssessmentAction):
    action = Action.ASSIGNMENT_SUBMIT

    @_action_schema(
        "Finish scoring",
        "The requesting assessor submits their own scores once every indicator has a rating "
        "and its rationale; when the last assessor does, the assessment is scored.",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, user: User, assessment: Assessment, data: dict[str, Any]) -> None:
        assignment = selectors.assignment_for(user=user, assessment=assessment)
        if assignment is None:
            raise Http404
        services.assignment_submit(assignment=assignment, acting_user=user)


def _assessor(pk: int | None, field: str) -> User | None:
    """An active user of a role that scores, as the assessor pages offer them; a 400 naming
    ``field`` for any other id."""
    if pk is None:
        return None
    found = User.objects.filter(
        pk=pk, role__in=policy.roles_for(Action.RATING_SAVE), is_active=True
    ).first()
    if found is None:
        raise DjangoValidationError({field: _("Choose an assessor.")})
    return found


class AssignmentCreate(_AssessmentAction):
    action = Action.ASSIGNMENT_CREATE
    body = AssignSerializer

    @_action_schema(
        "Assign an assessor",
        "Admins assign an assessor; conflicts of interest and more assessors than the "
        "campaign asks for are refused.",
        AssignSerializer,
        [OpenApiExample("An assessor", value={"assessor": 7}, request_only=True)],
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, user: User, assessment: Assessment, data: dict[str, Any]) -> None:
        assessor = _assessor(data["assessor"], "assessor")
        assert assessor is not None
        services.assignment_create(assessment=assessment, assessor=assessor, acting_user=user)


class AssignmentRemove(APIView):
    permission_classes = [policy.api_permission(Action.ASSESSMENT_LIST)]

    @_action_schema(
        "Remove or replace an assessor",
        "Admins remove an assessor with a reason and, with `replacement`, assign another in "
        "their place. The removed assessor's ratings stay in the record but no longer count.",
        AssignmentRemoveSerializer,
        [
            OpenApiExample(
                "Replace",
                value={"reason": "评估专家回避。", "replacement": 9},
                request_only=True,
            ),
            OpenApiExample("Only remove", value={"reason": "评估专家离职。"}, request_only=True),
        ],
        [OpenApiParameter("assignment_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    def post(self, request: Request, pk: int, assignment_id: int) -> Response:
        user = _user(request)
        assessment = _assessment(request, pk)
        assignment = (
            Assignment.objects.select_related("assessor")
            .filter(pk=assignment_id, assessment=assessment)
            .first()
        )
        if assignment is None:
            raise Http404
        assignment.assessment = assessment
        policy.require(user, Action.ASSIGNMENT_REPLACE)
        data = _valid(AssignmentRemoveSerializer, request)
        services.assignment_remove(
            assignment=assignment,
            reason=data["reason"],
            replacement=_assessor(data.get("replacement"), "replacement"),
            acting_user=user,
        )
        return _assessment_response(request, pk)
