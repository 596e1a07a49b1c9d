"""The records of an assessment over the API: the vendor's answers, the assessors' ratings and
the evidence files, with the same rules as the pages.

Every object is reached through an assessment the user may see (``selectors.assessment_get_for``,
``selectors.evidence_get_for``): any other is 404, never 403, and never another vendor's data.
Writes call the pages' services (``answer_save``, ``rating_save``, ``evidence_upload``,
``evidence_delete``), which ask the policy: a refusal by role or relation becomes 403, one by the
object's state 400 with the service's message (``govcloud_eval.api.errors``).

Evidence is received as the upload page receives it: the permission is checked before a byte of
the body is read, and the body is streamed through ``EvidenceUploadHandler`` (size limit,
SHA-256 on the way). A file is served only once it may be downloaded (409 otherwise, as the page
answers), always as ``application/octet-stream``, and each download is audited.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import FileResponse, Http404
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, generics, status
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import policy
from accounts.api_tokens import TokenAuthentication
from accounts.models import User
from accounts.policy import Action
from govcloud_eval.api.errors import Conflict, PayloadTooLarge
from govcloud_eval.api.renderers import FileRenderer
from govcloud_eval.storage import open_stream
from indicators.models import Indicator

from .. import selectors, services
from ..evidence import services as evidence_services
from ..evidence import uploads as evidence_uploads
from ..models import Answer, Assessment, Assignment, Evidence, Rating
from ..views.evidence import content_disposition
from .filters import IdFilter, StableOrderingFilter
from .records_serializers import (
    AssessorRatingInputSerializer,
    AssessorRatingSerializer,
    EvidenceFileSerializer,
    EvidenceFileUploadSerializer,
    SelfAssessmentAnswerInputSerializer,
    SelfAssessmentAnswerSerializer,
)

# ``?ordering=`` always ends on the id, so that pages never overlap or skip rows.
FILTERS = [DjangoFilterBackend, StableOrderingFilter]
INDICATOR_CODE_MAX = Indicator._meta.get_field("code").max_length or 32
ERROR_REF: dict[str, Any] = {"$ref": "#/components/schemas/Error"}

ASSESSMENT_ID = OpenApiParameter(
    "assessment_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The assessment's id."
)
INDICATOR_CODE = OpenApiParameter(
    "indicator_code",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The indicator's code in the campaign's framework, e.g. 1.1.",
)
EVIDENCE_ID = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The evidence file's id."
)


# ----------------------------------------------------------------------------------------------
# Shared


def _user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # the permission classes refuse anonymous requests first
        raise exceptions.NotAuthenticated()
    return user


def _fake(view: APIView) -> bool:
    """Whether drf-spectacular is asking (no user, no URL arguments)."""
    return bool(getattr(view, "swagger_fake_view", False))


def _assessment(request: Request, assessment_id: int) -> Assessment:
    """The assessment if the user may see it, as the pages show it; 404 otherwise."""
    return selectors.assessment_get_for(user=_user(request), pk=assessment_id)


def _indicator(assessment: Assessment, code: str) -> Indicator:
    """One indicator of the assessment's framework by code; 404 for any other."""
    if len(code) > INDICATOR_CODE_MAX or "\x00" in code:  # never a code; the database refuses NUL
        raise Http404
    return get_object_or_404(
        Indicator.objects.select_related("dimension"),
        framework_id=assessment.campaign.framework_id,
        code=code,
    )


class _MethodPermissions(APIView):
    """``get_permissions`` by method: ``read_action`` for GET/HEAD/OPTIONS, ``write_action``
    for the rest (the role check; the objects are decided by the queryset and the services)."""

    read_action: Action
    write_action: Action

    def get_permissions(self) -> list[BasePermission]:
        action = self.read_action if self.request.method in SAFE_METHODS else self.write_action
        return [policy.api_permission(action)()]


def _renamed(error: ValidationError, names: dict[str, str]) -> ValidationError:
    """The service's error with its fields named as the API names them."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError({names.get(key, key): value for key, value in error.error_dict.items()})


# ----------------------------------------------------------------------------------------------
# Answers


class AnswerFilter(django_filters.FilterSet):
    indicator = django_filters.CharFilter(
        field_name="indicator__code", help_text="An indicator's code, e.g. 1.1."
    )
    dimension = django_filters.CharFilter(
        field_name="indicator__dimension__code", help_text="A dimension's code, e.g. D1."
    )

    class Meta:
        model = Answer
        fields = ["indicator", "dimension"]


@extend_schema_view(
    get=extend_schema(
        summary="List an assessment's self-assessment answers",
        description="The vendor's saved answers, in catalog order, for everyone who may read "
        "the assessment (its admins, assigned assessors, the cloud's vendors and owner).",
        parameters=[ASSESSMENT_ID],
        tags=["answers"],
    )
)
class AnswerList(generics.ListAPIView):
    permission_classes = [policy.api_permission(Action.ASSESSMENT_VIEW)]
    serializer_class = SelfAssessmentAnswerSerializer
    filter_backends = FILTERS
    filterset_class = AnswerFilter
    ordering_fields = ["updated_at", "indicator__code"]

    def get_queryset(self) -> QuerySet[Answer]:
        if _fake(self):
            return Answer.objects.none()
        assessment = _assessment(self.request, self.kwargs["assessment_id"])
        return (
            Answer.objects.filter(assessment=assessment)
            .select_related("indicator__dimension")
            .order_by("indicator__dimension__order", "indicator__order", "pk")
        )


ANSWER_EXAMPLES = [
    OpenApiExample(
        "A rated indicator",
        value={
            "self_rating": 2,
            "self_met": None,
            "value": "99.95",
            "explanation": "两地三中心部署，年度可用性 99.95%。",
        },
        request_only=True,
    ),
    OpenApiExample(
        "A mandatory requirement",
        value={"self_met": True, "explanation": "已通过等保三级测评。"},
        request_only=True,
    ),
]


class AnswerDetail(_MethodPermissions):
    read_action = Action.ASSESSMENT_VIEW
    write_action = Action.ASSESSMENT_ANSWER

    @extend_schema(
        summary="Read one answer",
        description="The vendor's answer to one indicator; 404 while it has none.",
        parameters=[ASSESSMENT_ID, INDICATOR_CODE],
        responses={200: SelfAssessmentAnswerSerializer},
        tags=["answers"],
    )
    def get(self, request: Request, assessment_id: int, indicator_code: str) -> Response:
        assessment = _assessment(request, assessment_id)
        indicator = _indicator(assessment, indicator_code)
        answer = get_object_or_404(
            Answer.objects.select_related("indicator__dimension"),
            assessment=assessment,
            indicator=indicator,
        )
        return Response(SelfAssessmentAnswerSerializer(answer).data)

    @extend_schema(
        summary="Save one answer",
        description="Saves the vendor's answer to one indicator, as the self-assessment page's "
        "autosave does: only the cloud's vendors, while the self-assessment is a draft or "
        "returned and the campaign takes answers (400 with the reason otherwise). Every field "
        "left out is cleared.",
        parameters=[ASSESSMENT_ID, INDICATOR_CODE],
        request=SelfAssessmentAnswerInputSerializer,
        responses={200: SelfAssessmentAnswerSerializer},
        examples=ANSWER_EXAMPLES,
        tags=["answers"],
    )
    def put(self, request: Request, assessment_id: int, indicator_code: str) -> Response:
        return self._save(request, assessment_id, indicator_code, partial=False)

    @extend_schema(
        summary="Change part of one answer",
        description="As PUT, but the fields left out keep their saved values.",
        parameters=[ASSESSMENT_ID, INDICATOR_CODE],
        request=SelfAssessmentAnswerInputSerializer,
        responses={200: SelfAssessmentAnswerSerializer},
        examples=ANSWER_EXAMPLES,
        tags=["answers"],
    )
    def patch(self, request: Request, assessment_id: int, indicator_code: str) -> Response:
        return self._save(request, assessment_id, indicator_code, partial=True)

    def _save(
        self, request: Request, assessment_id: int, indicator_code: str, *, partial: bool
    ) -> Response:
        assessment = _assessment(request, assessment_id)
        indicator = _indicator(assessment, indicator_code)
        serializer = SelfAssessmentAnswerInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        given: dict[str, Any] = dict(serializer.validated_data)
        saved = (
            Answer.objects.filter(assessment=assessment, indicator=indicator).first()
            if partial
            else None
        )
        try:
            answer = services.answer_save(
                assessment=assessment,
                indicator=indicator,
                self_rating=given.get("self_rating", saved.self_rating if saved else None),
                self_met=given.get("self_met", saved.self_met if saved else None),
                value=given.get("value", saved.value if saved else None),
                explanation=(
                    given.get("explanation", saved.explanation if saved else "") or ""
                ).strip(),
                acting_user=_user(request),
            )
        except ValidationError as error:
            raise _renamed(error, {"rating": "self_rating"}) from None
        return Response(SelfAssessmentAnswerSerializer(answer).data)


# ----------------------------------------------------------------------------------------------
# Ratings


class _ScoresReader(BasePermission):
    """Assessors (their own ratings) and those who review assessments (every assessor's)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return policy.can(request.user, Action.SCORING_VIEW) or policy.can(
            request.user, Action.ASSESSMENT_REVIEW
        )


class RatingFilter(django_filters.FilterSet):
    indicator = django_filters.CharFilter(
        field_name="indicator__code", help_text="An indicator's code, e.g. 1.1."
    )
    dimension = django_filters.CharFilter(
        field_name="indicator__dimension__code", help_text="A dimension's code, e.g. D1."
    )
    assignment = IdFilter(field_name="assignment_id", help_text="One assignment's ratings.")
    current = django_filters.BooleanFilter(
        field_name="assignment__removed_at",
        lookup_expr="isnull",
        help_text="true: only the ratings of assessors assigned now (those that count).",
    )

    class Meta:
        model = Rating
        fields = ["indicator", "dimension", "assignment", "current"]


def _own_assignment(request: Request, assessment: Assessment) -> Assignment:
    """The requesting assessor's current assignment to the assessment; 404 for anyone else
    (as the scoring page)."""
    assignment = selectors.assignment_for(user=_user(request), assessment=assessment)
    if assignment is None:
        raise Http404
    assignment.assessment = assessment
    return assignment


@extend_schema_view(
    get=extend_schema(
        summary="List an assessment's ratings",
        description="For an assessor, their own ratings on their current assignment (404 when "
        "not assigned). For the evaluation office's reviewers, every assessor's ratings, as the "
        "review page shows them (those of removed assessors with assignment_current false).",
        parameters=[ASSESSMENT_ID],
        tags=["ratings"],
    )
)
class RatingList(generics.ListAPIView):
    permission_classes = [_ScoresReader]
    serializer_class = AssessorRatingSerializer
    filter_backends = FILTERS
    filterset_class = RatingFilter
    ordering_fields = ["updated_at", "indicator__code"]

    def get_queryset(self) -> QuerySet[Rating]:
        if _fake(self):
            return Rating.objects.none()
        user = _user(self.request)
        assessment = _assessment(self.request, self.kwargs["assessment_id"])
        if policy.can(user, Action.ASSESSMENT_REVIEW, assessment):
            rows = Rating.objects.filter(assignment__assessment=assessment)
        else:
            rows = Rating.objects.filter(assignment=_own_assignment(self.request, assessment))
        return rows.select_related("indicator__dimension", "assignment__assessor").order_by(
            "indicator__dimension__order",
            "indicator__order",
            "assignment__assigned_at",
            "assignment_id",
            "pk",
        )


RATING_EXAMPLES = [
    OpenApiExample(
        "A rating with its rationale",
        value={"rating": 2, "met": None, "rationale": "依据等保测评报告与现场核查。"},
        request_only=True,
    ),
    OpenApiExample(
        "A mandatory requirement",
        value={"met": True, "rationale": "证书在有效期内。"},
        request_only=True,
    ),
]


class RatingDetail(APIView):
    permission_classes = [policy.api_permission(Action.RATING_SAVE)]

    @extend_schema(
        summary="Read one's rating of one indicator",
        description="The requesting assessor's rating; 404 while there is none, or when the "
        "assessor is not assigned.",
        parameters=[ASSESSMENT_ID, INDICATOR_CODE],
        responses={200: AssessorRatingSerializer},
        tags=["ratings"],
    )
    def get(self, request: Request, assessment_id: int, indicator_code: str) -> Response:
        assignment = _own_assignment(request, _assessment(request, assessment_id))
        indicator = _indicator(assignment.assessment, indicator_code)
        rating = get_object_or_404(
            Rating.objects.select_related("indicator__dimension", "assignment__assessor"),
            assignment=assignment,
            indicator=indicator,
        )
        return Response(AssessorRatingSerializer(rating).data)

    @extend_schema(
        summary="Rate one indicator",
        description="Saves the requesting assessor's rating, as the scoring page's autosave "
        "does: only on their current assignment (404 otherwise), while the assessment is "
        "submitted or in review and they have not submitted their scores (400 with the reason "
        "otherwise). Every field left out is cleared. The first rating of a submitted "
        "assessment starts its review.",
        parameters=[ASSESSMENT_ID, INDICATOR_CODE],
        request=AssessorRatingInputSerializer,
        responses={200: AssessorRatingSerializer},
        examples=RATING_EXAMPLES,
        tags=["ratings"],
    )
    def put(self, request: Request, assessment_id: int, indicator_code: str) -> Response:
        return self._save(request, assessment_id, indicator_code, partial=False)

    @extend_schema(
        summary="Change part of one rating",
        description="As PUT, but the fields left out keep their saved values.",
        parameters=[ASSESSMENT_ID, INDICATOR_CODE],
        request=AssessorRatingInputSerializer,
        responses={200: AssessorRatingSerializer},
        examples=RATING_EXAMPLES,
        tags=["ratings"],
    )
    def patch(self, request: Request, assessment_id: int, indicator_code: str) -> Response:
        return self._save(request, assessment_id, indicator_code, partial=True)

    def _save(
        self, request: Request, assessment_id: int, indicator_code: str, *, partial: bool
    ) -> Response:
        assignment = _own_assignment(request, _assessment(request, assessment_id))
        indicator = _indicator(assignment.assessment, indicator_code)
        serializer = AssessorRatingInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        given: dict[str, Any] = dict(serializer.validated_data)
        saved = (
            Rating.objects.filter(assignment=assignment, indicator=indicator).first()
            if partial
            else None
        )
        record = services.rating_save(
            assignment=assignment,
            indicator=indicator,
            rating=given.get("rating", saved.rating if saved else None),
            met=given.get("met", saved.met if saved else None),
            rationale=(given.get("rationale", saved.rationale if saved else "") or "").strip(),
            acting_user=_user(request),
        )
        rating = Rating.objects.select_related("indicator__dimension", "assignment__assessor").get(
            pk=record.pk
        )
        return Response(AssessorRatingSerializer(rating).data)


# ----------------------------------------------------------------------------------------------
# Evidence


class _DeferredCsrfSessionAuthentication(SessionAuthentication):
    """The session, with the CSRF check of an upload deferred until the upload handler is in
    place (the check reads the form, and so the body): as the upload page does it."""

    deferred = False

    def enforce_csrf(self, request: Request) -> None:
        if request.method == "POST":
            self.deferred = True
            return
        super().enforce_csrf(request)

    def enforce_deferred_csrf(self, request: Request) -> None:
        if self.deferred:
            super().enforce_csrf(request)


def _superseded() -> Exists:
    """An annotation: a later version replaces the file."""
    return Exists(Evidence.objects.filter(replaces=OuterRef("pk")))


class EvidenceFilter(django_filters.FilterSet):
    indicator = django_filters.CharFilter(
        field_name="indicator__code", help_text="An indicator's code, e.g. 1.1."
    )
    scan_state = django_filters.ChoiceFilter(choices=Evidence.ScanState.choices)
    current = django_filters.BooleanFilter(
        field_name="superseded",
        exclude=True,
        help_text="true: only the files no later version supersedes; false: only the others.",
    )

    class Meta:
        model = Evidence
        fields = ["indicator", "scan_state", "current"]


@extend_schema_view(
    get=extend_schema(
        summary="List an assessment's evidence files",
        description="Every version of every file, in catalog order, for everyone who may read "
        "the assessment.",
        parameters=[ASSESSMENT_ID],
        tags=["evidence"],
    )
)
class EvidenceList(generics.ListAPIView):
    parser_classes = [MultiPartParser]
    serializer_class = EvidenceFileSerializer
    filter_backends = FILTERS
    filterset_class = EvidenceFilter
    ordering_fields = ["uploaded_at", "original_name", "size", "version", "id"]

    def get_authenticators(self) -> list[BaseAuthentication]:
        if _fake(self):  # the schema: the same schemes as every view (the session's cookie)
            return [TokenAuthentication(), SessionAuthentication()]
        return [TokenAuthentication(), _DeferredCsrfSessionAuthentication()]

    def get_permissions(self) -> list[BasePermission]:
        read = self.request.method in SAFE_METHODS
        return [policy.api_permission(Action.ASSESSMENT_VIEW if read else Action.EVIDENCE_UPLOAD)()]

    def get_queryset(self) -> QuerySet[Evidence]:
        if _fake(self):
            return Evidence.objects.none()
        assessment = _assessment(self.request, self.kwargs["assessment_id"])
        return (
            Evidence.objects.filter(assessment=assessment)
            .select_related("indicator")
            .annotate(superseded=_superseded())
            .order_by(
                "indicator__dimension__order",
                "indicator__order",
                "original_name",
                "version",
                "pk",
            )
        )

    @extend_schema(
        summary="Upload an evidence file",
        description="One file (multipart field `file`) for one indicator (`indicator`, its "
        "code), with optional `issued_on` and `valid_until` (YYYY-MM-DD), checked as the upload "
        "page checks it: by content, not by name. Only the cloud's vendors, while the "
        "self-assessment is a draft or returned: a refused request is answered before its body "
        "is read. A file named like an earlier one of the same indicator becomes its next "
        "version.",
        parameters=[ASSESSMENT_ID],
        request={"multipart/form-data": EvidenceFileUploadSerializer},
        responses={
            201: EvidenceFileSerializer,
            413: OpenApiResponse(
                ERROR_REF, description="The file is larger than the evidence size limit."
            ),
        },
        examples=[
            OpenApiExample(
                "A certificate valid for a year",
                value={
                    "indicator": "1.1",
                    "issued_on": "2026-03-01",
                    "valid_until": "2027-02-28",
                },
                request_only=True,
                media_type="multipart/form-data",
            )
        ],
        tags=["evidence"],
    )
    def post(self, request: Request, assessment_id: int) -> Response:
        user = _user(request)
        assessment = _assessment(request, assessment_id)
        # Nothing of the body is read before this: a refused upload costs nothing.
        refusal = evidence_services.evidence_upload_refusal(assessment=assessment, user=user)
        if refusal is not None:
            # The same decision, raised with its kind: 403 for the role, 400 for the state.
            policy.require(user, Action.EVIDENCE_UPLOAD, assessment)
            raise PermissionDenied(refusal)
        # A body declaring more than the largest file was refused before this view, unread
        # (``max_body`` on the URL); the handler counts what arrives.
        handler = evidence_uploads.EvidenceUploadHandler(request._request)
        request._request.upload_handlers = [handler]
        authenticator = request.successful_authenticator
        if isinstance(authenticator, _DeferredCsrfSessionAuthentication):
            authenticator.enforce_deferred_csrf(request)
        files = request.FILES.getlist("file")
        if handler.too_large:
            for item in files:
                item.close()
            raise PayloadTooLarge(
                detail=evidence_uploads.too_large_error(handler.client_name).messages[0]
            )
        if len(files) != 1:
            for item in files:
                item.close()
            raise ValidationError({"file": [_("Choose one file to upload.")]})
        upload = files[0]
        try:
            serializer = EvidenceFileUploadSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            indicator = Indicator.objects.filter(
                framework_id=assessment.campaign.framework_id,
                code=serializer.validated_data["indicator"],
            ).first()
            if indicator is None:
                raise ValidationError(
                    {"indicator": [_("This indicator is not in the campaign's framework.")]}
                )
        except BaseException:
            upload.close()
            raise
        item = evidence_services.evidence_upload(
            assessment=assessment,
            indicator=indicator,
            upload=upload,
            issued_on=serializer.validated_data.get("issued_on"),
            valid_until=serializer.validated_data.get("valid_until"),
            acting_user=user,
        )
        return Response(EvidenceFileSerializer(item).data, status=status.HTTP_201_CREATED)


class EvidenceDetail(_MethodPermissions):
    read_action = Action.EVIDENCE_VIEW
    write_action = Action.EVIDENCE_DELETE

    @extend_schema(
        summary="Read an evidence file's record",
        parameters=[EVIDENCE_ID],
        responses={200: EvidenceFileSerializer},
        tags=["evidence"],
    )
    def get(self, request: Request, pk: int) -> Response:
        item = selectors.evidence_get_for(user=_user(request), pk=pk)
        return Response(EvidenceFileSerializer(item).data)

    @extend_schema(
        summary="Delete an evidence file",
        description="Only the cloud's vendors, before the self-assessment's first submission "
        "(400 afterwards: every submitted file is kept; upload a new version instead).",
        parameters=[EVIDENCE_ID],
        responses={204: None},
        tags=["evidence"],
    )
    def delete(self, request: Request, pk: int) -> Response:
        user = _user(request)
        item = selectors.evidence_get_for(user=user, pk=pk)
        evidence_services.evidence_delete(evidence=item, acting_user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OctetStreamRenderer(FileRenderer):
    """Lets a client ask for ``application/octet-stream``: the view answers a FileResponse,
    which no renderer touches; errors are JSON whatever the client asked (``handle_exception``
    below)."""

    media_type = "application/octet-stream"
    format = "bin"


def _unavailable_message(item: Evidence) -> str:
    """Why a file cannot be downloaded now, as the page that answers 409 says it."""
    if item.scan_state == Evidence.ScanState.PENDING:
        return _(
            "The file is being scanned for viruses; it can be downloaded once found clean. "
            "Try again in a few minutes."
        )
    if item.scan_state == Evidence.ScanState.INFECTED:
        return _(
            "The virus scan found malicious code (%(signature)s). The file was deleted and "
            "cannot be downloaded; upload a clean copy."
        ) % {"signature": item.scan_detail}
    return _(
        "The virus scan could not be completed; it is tried again automatically. Until then "
        "the file cannot be downloaded."
    )


class EvidenceDownload(APIView):
    permission_classes = [policy.api_permission(Action.EVIDENCE_VIEW)]
    renderer_classes = [JSONRenderer, OctetStreamRenderer]

    @extend_schema(
        summary="Download an evidence file",
        description="The file's bytes, as application/octet-stream (its own type is in the "
        "record's content_type), with its name in Content-Disposition. 409 while the malware "
        "scan is pending (code pending_scan), or when it failed (scan_failed) or found "
        "malicious code (infected). Every download is recorded in the audit trail.",
        parameters=[EVIDENCE_ID],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file."
            )
        },
        tags=["evidence"],
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        user = _user(request)
        item = selectors.evidence_get_for(user=user, pk=pk)
        if not item.is_downloadable:
            raise Conflict(detail=_unavailable_message(item), code=item.scan_state)
        try:
            handle = open_stream(item.file)
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=OctetStreamRenderer.media_type)
        if "Content-Length" not in response:  # an object store's stream: the recorded size
            response["Content-Length"] = str(item.size)
        response["Content-Disposition"] = content_disposition(
            "attachment", item.original_name, item.pk
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        evidence_services.evidence_record_download(evidence=item, acting_user=user, preview=False)
        return response

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        # An error is JSON, whatever the client asked for (application/octet-stream, */*).
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response
