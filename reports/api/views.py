"""The reports API: score results, certified reports, published rankings and the public
verification of a report, under the same rules as their pages.

- Scores: ``reports.scoring.selectors`` (``score.view``; 404 when the user may not read the
  score, or there is none yet, or the cloud is excluded, as the assessment page's tag says).
- Certified reports: the reports of the assessments whose reports the user may read
  (``report.view``: admins, the cloud's vendors and owner); issued by
  ``reports.certified.services.report_issue`` like the page, and polled until ``ready``.
- Rankings: anyone, anonymous too; only published snapshots, through the presentation the
  public page draws (``reports.rankings.exports.presentation`` of ``snapshot.public_view``),
  so that a list published without scores shows none here either.
- Verification: anyone, under the public page's rate limit, size limit and comparison.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.http import Http404, HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts import policy
from accounts.api_tokens import TokenAuthentication
from accounts.models import User
from accounts.policy import Action
from assessments.evidence.uploads import EvidenceUploadHandler
from assessments.models import Assessment
from govcloud_eval.api.renderers import FileRenderer
from govcloud_eval.limits import close_unread
from reports.certified import ratelimit
from reports.certified import selectors as certified_selectors
from reports.certified import services as certify
from reports.certified.views import (
    report_pdf_response,
    verification_compare,
    verification_upload_bytes,
)
from reports.models import Ranking, Report, ScoreResult
from reports.rankings import exports
from reports.rankings import selectors as ranking_selectors
from reports.rankings.models import notice_phase
from reports.rankings.snapshot import public_view
from reports.scoring import selectors as scoring_selectors

from .filters import RankingFilter, ReportFilter
from .serializers import (
    CertifiedReportIssueSerializer,
    CertifiedReportSerializer,
    RankingDetailSerializer,
    RankingSummarySerializer,
    ScoreResultSerializer,
    VerifyComparisonSerializer,
    VerifyReportSerializer,
    VerifyUploadSerializer,
    level_of,
)


class PublicSchema(AutoSchema):
    """Public operations: a token is read when one is sent, but none is needed."""

    def get_auth(self) -> list[dict[str, list[str]]]:
        auths: list[dict[str, list[str]]] = [*super().get_auth(), {}]
        return auths


def _user(request: Request) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


def _signed_in(request: Request) -> User:
    """The requesting user; Http404 for an anonymous caller (who may see none of it)."""
    user = _user(request)
    if user is None:
        raise Http404
    return user


def _text(value: Any) -> str | None:
    """A stored decimal (or any value) as a string; None stays None."""
    return None if value is None else str(value)


class NotReady(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_ready"


# ----------------------------------------------------------------------------------------------
# Score results


def score_payload(result: ScoreResult) -> dict[str, Any]:
    """The result and its stored breakdown, in the shape of ``ScoreResultSerializer``."""
    breakdown: dict[str, Any] = result.breakdown or {}
    framework = breakdown.get("framework") or {}
    dimensions: list[dict[str, Any]] = []
    indicators: list[dict[str, Any]] = []
    for dimension in breakdown.get("dimensions") or []:
        code = str(dimension.get("code", ""))
        dimensions.append(
            {
                "code": code,
                "name_zh": str(dimension.get("name_zh") or ""),
                "name_en": str(dimension.get("name_en") or ""),
                "weight": _text(dimension.get("weight")),
                "points": _text(dimension.get("points")),
                "share": _text(dimension.get("share")),
                "items": int(dimension.get("items") or 0),
                "satisfied": int(dimension.get("satisfied") or 0),
            }
        )
        for item in dimension.get("indicators") or []:
            indicators.append(
                {
                    "id": int(item.get("id") or 0),
                    "code": str(item.get("code", "")),
                    "dimension": code,
                    "name_zh": str(item.get("name_zh") or ""),
                    "name_en": str(item.get("name_en") or ""),
                    "requirement_type": str(item.get("requirement_type") or ""),
                    "is_key": bool(item.get("is_key")),
                    "weight": _text(item.get("weight")),
                    "rating": _text(item.get("rating")),
                    "met": item.get("met"),
                    "settled": bool(item.get("settled")),
                    "scored_rating": _text(item.get("scored_rating")),
                    "points": _text(item.get("points")),
                    "satisfied": bool(item.get("satisfied")),
                }
            )
    vetoes = [
        {
            "code": str(veto.get("code", "")),
            "description_zh": str(veto.get("description_zh") or ""),
            "description_en": str(veto.get("description_en") or ""),
            "cap_level": _text(veto.get("cap_level")),
            "applies": bool(veto.get("applies")),
        }
        for veto in breakdown.get("vetoes") or []
    ]
    return {
        "assessment": result.assessment_id,
        "version": result.version,
        "method": result.method,
        "inputs_sha256": result.inputs_sha256,
        "computed_at": result.computed_at,
        "current_since": result.current_since,
        "framework": {
            "id": int(framework.get("id") or result.framework_id),
            "code": str(framework.get("code") or ""),
            "version": str(framework.get("version") or ""),
            "kind": str(framework.get("kind") or ""),
        },
        "total": _text(result.total),
        "total_share": _text(breakdown.get("total_share")),
        "level": level_of(breakdown.get("level")),
        "level_before_veto": level_of(breakdown.get("level_before_veto")),
        "passed": result.passed,
        "vetoed": result.vetoed,
        "dimensions": dimensions,
        "indicators": indicators,
        "vetoes": vetoes,
    }


class AssessmentScore(APIView):
    permission_classes = [policy.api_permission(Action.SCORE_VIEW)]

    @extend_schema(
        operation_id="assessment_score",
        summary="The current score of an assessment",
        description="Its total, level, the points of each dimension and indicator and the "
        "vetoes, as computed from the inputs named by `inputs_sha256`. Admins and the "
        "assessment's assessors read it at once; the cloud's vendors and owner once the "
        "assessment is approved. 404 for anyone else, before the first result, and while the "
        "cloud is excluded from its campaign.",
        responses={200: ScoreResultSerializer},
        examples=[
            OpenApiExample(
                "Scored",
                response_only=True,
                value={
                    "assessment": 42,
                    "version": 2,
                    "method": "1",
                    "inputs_sha256": "3b7e…",
                    "computed_at": "2026-06-20T10:00:00+08:00",
                    "current_since": "2026-06-20T10:00:00+08:00",
                    "framework": {
                        "id": 1,
                        "code": "GCE-COMPREHENSIVE",
                        "version": "2026.1",
                        "kind": "comprehensive",
                    },
                    "total": "86.40",
                    "total_share": "86.40",
                    "level": {"code": "advanced", "name_zh": "增强级", "name_en": "Advanced"},
                    "level_before_veto": None,
                    "passed": None,
                    "vetoed": False,
                    "dimensions": [
                        {
                            "code": "D1",
                            "name_zh": "基础设施",
                            "name_en": "Infrastructure",
                            "weight": "25",
                            "points": "21.50",
                            "share": "86.00",
                            "items": 10,
                            "satisfied": 9,
                        }
                    ],
                    "indicators": [
                        {
                            "id": 7,
                            "code": "1.2",
                            "dimension": "D1",
                            "name_zh": "可用性",
                            "name_en": "Availability",
                            "requirement_type": "G",
                            "is_key": True,
                            "weight": "3",
                            "rating": "2.5",
                            "met": None,
                            "settled": False,
                            "scored_rating": "2.5",
                            "points": "2.50",
                            "satisfied": True,
                        }
                    ],
                    "vetoes": [],
                },
            )
        ],
        tags=["scores"],
    )
    def get(self, request: Request, pk: int) -> Response:
        user = _signed_in(request)
        assessment = scoring_selectors.assessment_with_score_get_for(user=user, pk=pk)
        result = scoring_selectors.score_result_for(user=user, assessment=assessment)
        if result is None:
            raise Http404
        return Response(ScoreResultSerializer(score_payload(result)).data)


# ----------------------------------------------------------------------------------------------
# Certified reports


def reports_visible_to(user: User | None) -> QuerySet[Report]:
    """The reports whose assessment the user may read reports of (``report.view``: admins, the
    cloud's vendors and owner, as ``certified.selectors.assessment_for_reports`` asks of one
    assessment), in one query however many, their content deferred (its validity annotated)."""
    if user is None or not policy.can(user, Action.REPORT_VIEW):
        return Report.objects.none()
    scope = policy.assessment_scope(user)
    if scope.is_empty:
        return Report.objects.none()
    reports = Report.objects.all()
    if scope.relation != "all":
        reports = reports.filter(assessment__in=Assessment.objects.filter(scope.q).values("pk"))
    return (
        reports.select_related("assessment__cloud", "supersedes")
        .defer("content", "error", "supersedes__content", "supersedes__error")
        .annotate(valid_until_iso=KeyTextTransform("valid_until", "content"))
    )


REPORT_EXAMPLE = {
    "id": 7,
    "number": "GCE-2026-0007",
    "year": 2026,
    "assessment": 42,
    "campaign": 3,
    "cloud": "济南政务云",
    "language": "zh-hans",
    "state": "ready",
    "status": "issued",
    "issued_at": "2026-07-01T09:30:00+08:00",
    "rendered_at": "2026-07-01T09:30:12+08:00",
    "sha256": "9f2c…",
    "size": 183204,
    "valid_until": "2028-06-30",
    "supersedes": None,
    "superseded_at": None,
    "revoked_at": None,
    "revocation_reason": "",
    "verification_code": "ABCDEFGHIJKLMNOPQRSTUVWX",
    "verification_url": "https://eval.example.gov.cn/verify/ABCDEFGHIJKLMNOPQRSTUVWX/",
    "download_url": "https://eval.example.gov.cn/api/v1/reports/7/download/",
    "url": "https://eval.example.gov.cn/api/v1/reports/7/",
}


@extend_schema_view(
    get=extend_schema(
        operation_id="report_list",
        summary="Certified reports",
        description="The certified reports the user may read: every one for admins; for vendors "
        "and owners, those of their organisation's clouds. Filter by year, campaign, "
        "assessment, file state, status and language.",
        tags=["reports"],
    )
)
class ReportList(generics.ListAPIView):
    permission_classes = [policy.api_permission(Action.REPORT_VIEW)]
    serializer_class = CertifiedReportSerializer
    filterset_class = ReportFilter
    ordering_fields = ["issued_at", "number", "year", "id"]
    ordering = ["-issued_at", "-id"]

    def get_queryset(self) -> QuerySet[Report]:
        return reports_visible_to(_user(self.request)).order_by("-issued_at", "-id")


class ReportDetail(generics.RetrieveAPIView):
    permission_classes = [policy.api_permission(Action.REPORT_VIEW)]
    serializer_class = CertifiedReportSerializer

    def get_queryset(self) -> QuerySet[Report]:
        return reports_visible_to(_user(self.request))

    @extend_schema(
        operation_id="report_detail",
        summary="A certified report",
        description="Its number, state and status. After issuing a report, poll this until "
        "`state` is `ready` (then `download_url` is set) or `failed`.",
        examples=[OpenApiExample("Ready", value=REPORT_EXAMPLE, response_only=True)],
        tags=["reports"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PdfRenderer(FileRenderer):
    """Lets ``Accept: application/pdf`` through content negotiation: the PDF itself is a
    streamed ``FileResponse``, never rendered."""

    media_type = "application/pdf"
    format = "pdf"


class ReportDownload(APIView):
    permission_classes = [policy.api_permission(Action.REPORT_VIEW)]
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        operation_id="report_download",
        summary="Download a certified report's signed PDF",
        description="The signed PDF, streamed. 409 (`not_ready`) while it is being rendered, or "
        "when rendering failed: poll the report until its `state` is `ready`.",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The signed PDF."
            ),
        },
        # The PDF renderer is there for content negotiation only: no ``?format=``.
        parameters=[OpenApiParameter("format", exclude=True)],
        tags=["reports"],
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        user = _signed_in(request)
        report = certified_selectors.report_get_for(user=user, pk=pk)
        if not report.is_ready:
            raise NotReady(
                _("The report's PDF is not ready yet: its state is “%(state)s”.")
                % {"state": report.get_state_display()}
            )
        return report_pdf_response(report)

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # ``Accept: application/pdf`` is accepted (the PDF itself is streamed, not rendered);
        # errors are JSON whatever the client accepted.
        renderer, media_type = super().perform_content_negotiation(request, force)
        if isinstance(renderer, PdfRenderer):
            return JSONRenderer(), JSONRenderer.media_type
        return renderer, media_type


class AssessmentReportIssue(APIView):
    permission_classes = [policy.api_permission(Action.REPORT_ISSUE)]

    @extend_schema(
        operation_id="assessment_report_issue",
        summary="Issue the certified report of an approved assessment",
        description="Numbers the report, freezes its content and queues the rendering of its "
        "signed PDF (the same service as the page; admins only). The answer is the report in "
        "state `pending`: poll `GET /api/v1/reports/{id}/` until it is `ready`, then download "
        "it. 400 when the assessment is not approved, has no score, or already has a report in "
        "force in that language (re-issue it instead).",
        request=CertifiedReportIssueSerializer,
        responses={201: CertifiedReportSerializer},
        examples=[OpenApiExample("Chinese", value={"language": "zh-hans"}, request_only=True)],
        tags=["reports"],
    )
    def post(self, request: Request, pk: int) -> Response:
        user = _signed_in(request)
        assessment = certified_selectors.assessment_for_reports(user=user, pk=pk)
        body = CertifiedReportIssueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = certify.report_issue(
            assessment=assessment, acting_user=user, language=body.validated_data["language"]
        )
        shown = reports_visible_to(user).get(pk=report.pk)
        data = CertifiedReportSerializer(shown, context={"request": request}).data
        location = reverse("reports_api:report_detail", args=[report.pk])
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})


# ----------------------------------------------------------------------------------------------
# Rankings


def rankings_published_latest() -> QuerySet[Ranking]:
    """The latest published version of every ranking (as the public index lists them), its
    snapshot deferred but for the few values the list shows: one query a page."""
    newer = Ranking.objects.filter(
        year=OuterRef("year"),
        slug=OuterRef("slug"),
        state__in=ranking_selectors.PUBLISHED_STATES,
        version__gt=OuterRef("version"),
    )
    return (
        Ranking.objects.filter(state__in=ranking_selectors.PUBLISHED_STATES)
        .exclude(Exists(newer))
        .defer("snapshot", "change_note", "quotas", "tie_break")
        .annotate(
            snapshot_title=KeyTextTransform("title", "snapshot"),
            snapshot_title_en=KeyTextTransform("title_en", "snapshot"),
            snapshot_campaign=KeyTextTransform("name", KeyTransform("campaign", "snapshot")),
            snapshot_listed=KeyTransform("listed", "snapshot"),
            snapshot_format=KeyTransform("format", "snapshot"),
        )
    )


@extend_schema_view(
    get=extend_schema(
        operation_id="ranking_list",
        summary="Published rankings",
        description="The latest published version of every ranking (top ten, awards), newest "
        "year first. Public: no token needed.",
        tags=["rankings"],
    )
)
class RankingList(generics.ListAPIView):
    schema = PublicSchema()
    permission_classes = [policy.api_permission(Action.RANKING_PUBLIC_VIEW)]
    serializer_class = RankingSummarySerializer
    filterset_class = RankingFilter
    ordering_fields = ["year", "published_at", "slug"]
    ordering = ["-year", "slug"]

    def get_queryset(self) -> QuerySet[Ranking]:
        return rankings_published_latest().order_by("-year", "slug")


def _entry(entry: exports.ShownEntry, request: Request) -> dict[str, Any]:
    change = entry.change
    return {
        "name": entry.name,
        "owner": entry.owner,
        "division_code": entry.division_code,
        "vendors": list(entry.vendors),
        "level": entry.level,
        "position": entry.position,
        "tied": entry.tied,
        "total": _text(entry.total),
        "dimensions": [
            {
                "code": d.get("code", ""),
                "name_zh": d.get("name_zh", ""),
                "name_en": d.get("name_en", ""),
                "share": _text(d.get("share")),
                "points": _text(d.get("points")),
            }
            for d in entry.dimensions
        ],
        "change": {
            "listed_years": change.listed_years,
            "is_new": change.is_new,
            "previous_position": change.previous_position,
            "moved": change.moved,
            "delta_total": _text(change.delta_total),
        }
        if change is not None
        else None,
        "verification_code": entry.verification_code,
        "verification_url": request.build_absolute_uri(entry.verify_url)
        if entry.verify_url
        else None,
        "adjusted": entry.adjusted,
    }


def ranking_payload(request: Request, year: int, slug: str, version: int | None) -> dict[str, Any]:
    """A published version as the public page shows it: from its snapshot only."""
    head = ranking_selectors.published_head(year=year, slug=slug, version=version)
    ranking = ranking_selectors.published_get(pk=head.pk)
    shown = exports.presentation(public_view(ranking), charts=False)
    versions = list(
        Ranking.objects.filter(year=year, slug=slug, state__in=ranking_selectors.PUBLISHED_STATES)
        .order_by("-version")
        .values_list("version", flat=True)
    )
    changes = shown.changes
    return {
        "year": head.year,
        "slug": head.slug,
        "kind": ranking.kind,
        "state": head.state,
        "version": head.version,
        "latest_version": head.latest_version,
        "is_latest": head.is_latest,
        "versions": [v for v in versions if v is not None],
        "title": shown.title,
        "campaign_name": shown.campaign_name,
        "demo": shown.demo,
        "scores_shown": shown.ranked,
        "published_at": head.published_at,
        "notice_starts_on": head.notice_starts_on,
        "notice_ends_on": head.notice_ends_on,
        "notice_phase": notice_phase(
            state=head.state,
            starts_on=head.notice_starts_on,
            ends_on=head.notice_ends_on,
            final_published=head.latest_state == Ranking.State.FINAL,
            today=timezone.localdate(),
        ),
        "min_level": shown.min_level,
        "previous_year": shown.previous_year,
        "compared": shown.compared,
        "changes": {
            "from_version": changes["from_version"],
            "added": list(changes["added"]),
            "removed": list(changes["removed"]),
            "moved": [
                {"cloud": m["cloud"], "from_position": m["from"], "to_position": m["to"]}
                for m in changes["moved"]
            ],
        }
        if changes
        else None,
        "change_note": shown.change_note,
        "snapshot_sha256": head.snapshot_sha256,
        "pools": [
            {
                "code": pool.code,
                "name": pool.label,
                "quota": pool.quota,
                "entries": [_entry(e, request) for e in pool.entries],
            }
            for pool in shown.pools
        ],
        "awards": [
            {"vendor": award.vendor, "entries": [_entry(e, request) for e in award.entries]}
            for award in shown.awards
        ],
    }


RANKING_PARAMETERS = [
    OpenApiParameter("year", int, OpenApiParameter.PATH, description="The ranking's year."),
    OpenApiParameter(
        "slug",
        str,
        OpenApiParameter.PATH,
        pattern=r"^[-a-zA-Z0-9_]+$",
        description="The ranking's address within its year, e.g. `top-ten` or `awards`.",
    ),
]

RANKING_DESCRIPTION = (
    "What the public page shows of a published version, read from its frozen snapshot only. "
    "A list published without scores (`scores_shown` false) shows no total, point, share, "
    "position, tie mark or verification code, here as on the page. Names are in the request's "
    "language (`Accept-Language`). Public: no token needed."
)


class RankingDetail(APIView):
    schema = PublicSchema()
    permission_classes = [policy.api_permission(Action.RANKING_PUBLIC_VIEW)]

    @extend_schema(
        operation_id="ranking_detail",
        summary="A published ranking (its latest version)",
        description=RANKING_DESCRIPTION,
        parameters=RANKING_PARAMETERS,
        responses={200: RankingDetailSerializer},
        tags=["rankings"],
    )
    def get(self, request: Request, year: int, slug: str) -> Response:
        return Response(RankingDetailSerializer(ranking_payload(request, year, slug, None)).data)


class RankingVersion(APIView):
    schema = PublicSchema()
    permission_classes = [policy.api_permission(Action.RANKING_PUBLIC_VIEW)]

    @extend_schema(
        operation_id="ranking_version",
        summary="One published version of a ranking",
        description=RANKING_DESCRIPTION,
        parameters=[
            *RANKING_PARAMETERS,
            OpenApiParameter("version", int, OpenApiParameter.PATH, description="1, 2, …"),
        ],
        responses={200: RankingDetailSerializer},
        tags=["rankings"],
    )
    def get(self, request: Request, year: int, slug: str, version: int) -> Response:
        payload = ranking_payload(request, year, slug, version)
        return Response(RankingDetailSerializer(payload).data)


# ----------------------------------------------------------------------------------------------
# Verification


class VerifyThrottle(BaseThrottle):
    """The public verification page's own limit (``reports.certified.ratelimit``: a fixed
    number of look-ups per client address and window), shared with the page."""

    window = 60

    def allow_request(self, request: Request, view: APIView) -> bool:
        rule = ratelimit.verify_rate_limit()
        self.window = rule.window
        ident = ratelimit.client_address(request._request)
        return not ratelimit.rate_limited(scope="verify", ident=ident, rule=rule)

    def wait(self) -> float:
        return float(self.window)


def verify_payload(report: Report, request: Request) -> dict[str, Any]:
    """What the public verification page shows about ``report``, and no more."""
    content: dict[str, Any] = report.content or {}
    breakdown: dict[str, Any] = content.get("breakdown") or {}
    valid_until = report.valid_until
    expired = valid_until is not None and timezone.localdate() > valid_until
    if report.status == Report.Status.REVOKED:
        validity = "revoked"
    elif report.status == Report.Status.SUPERSEDED:
        validity = "superseded"
    elif expired:
        validity = "expired"
    elif not report.is_ready:
        validity = "preparing"
    else:
        validity = "valid"
    try:
        superseded_by: Report | None = report.superseded_by
    except Report.DoesNotExist:
        superseded_by = None
    pass_check = breakdown.get("pass_check")
    passed = bool(pass_check.get("passed")) if isinstance(pass_check, dict) else None
    revoked = report.status == Report.Status.REVOKED
    superseded = report.status == Report.Status.SUPERSEDED
    return {
        "number": report.number,
        "verification_code": report.verification_code,
        "validity": validity,
        "status": report.status,
        "file_ready": report.is_ready,
        "cloud": str((content.get("cloud") or {}).get("name") or ""),
        "owner": str(content.get("owner") or ""),
        "campaign": str((content.get("campaign") or {}).get("name") or ""),
        "passed": passed,
        "level": None if passed is not None else level_of(breakdown.get("level")),
        "total": None if passed is not None else _text(breakdown.get("total")),
        "issued_on": timezone.localdate(report.issued_at),
        "valid_until": valid_until,
        "expired": expired,
        "revoked_on": timezone.localdate(report.revoked_at)
        if revoked and report.revoked_at
        else None,
        "revocation_reason": report.revocation_reason if revoked else "",
        "superseded_on": timezone.localdate(report.superseded_at)
        if superseded and report.superseded_at
        else None,
        "superseded_by": superseded_by.number if superseded and superseded_by else None,
        "supersedes": report.supersedes.number
        if report.supersedes_id and report.supersedes
        else None,
        "sha256": report.sha256 or None,
        "demo": bool(content.get("demo")),
        "verification_url": request.build_absolute_uri(
            reverse("certified:verify", args=[report.verification_code])
        ),
    }


VERDICT_TITLES = {
    "identical": lambda: _("Genuine"),
    "genuine_other_file": lambda: _("Genuine signature, but not the file issued under this number"),
    "modified": lambda: _("Modified after signing"),
    "other_certificate": lambda: _("Signed by another certificate"),
    "not_signed": lambda: _("Not signed"),
    "not_pdf": lambda: _("Not a PDF file"),
}


def comparison_payload(found: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """``certified.views.verification_compare``'s findings, in the shape of
    ``VerifyComparisonSerializer``."""
    check = found["check"]
    verdict = str(found["verdict"])
    return {
        "verdict": verdict,
        "title": VERDICT_TITLES[verdict]() if verdict in VERDICT_TITLES else verdict,
        "matches": bool(found["matches"]),
        "uploaded_name": found["uploaded_name"],
        "uploaded_sha256": found["uploaded_sha256"],
        "modification": _text(check.modification),
        "signer": check.signer or None,
        "signed_at": check.signed_at,
        "timestamped_at": check.timestamped_at,
        "document_timestamp": bool(check.document_timestamp),
        "document_timestamped_at": check.document_timestamped_at,
        "report": report,
    }


def _report_for_code(code: str) -> Report:
    report = certified_selectors.report_for_code(code)
    if report is None:
        raise Http404
    return report


CODE_PARAMETER = OpenApiParameter(
    "code",
    str,
    OpenApiParameter.PATH,
    description="The verification code printed on the report (24 letters and digits; dashes, "
    "spaces and case are ignored).",
    examples=[OpenApiExample("Printed", value="ABCD-EFGH-IJKL-MNOP-QRST-UVWX")],
)

VERIFY_EXAMPLE = {
    "number": "GCE-2026-0007",
    "verification_code": "ABCDEFGHIJKLMNOPQRSTUVWX",
    "validity": "valid",
    "status": "issued",
    "file_ready": True,
    "cloud": "济南政务云",
    "owner": "济南市大数据局",
    "campaign": "2026年政务云综合水平评估",
    "passed": None,
    "level": {"code": "advanced", "name_zh": "增强级", "name_en": "Advanced"},
    "total": "86.40",
    "issued_on": "2026-07-01",
    "valid_until": "2028-06-30",
    "expired": False,
    "revoked_on": None,
    "revocation_reason": "",
    "superseded_on": None,
    "superseded_by": None,
    "supersedes": None,
    "sha256": "9f2c…",
    "demo": False,
    "verification_url": "https://eval.example.gov.cn/verify/ABCDEFGHIJKLMNOPQRSTUVWX/",
}


class Verify(APIView):
    """The public verification of a report by its code. Token authentication only (a browser
    session is read as anonymous): the comparison changes nothing, and no CSRF check may read
    the body before the rate limit and the size limit are asked."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [policy.api_permission(Action.REPORT_VERIFY)]
    parser_classes = [MultiPartParser, FormParser]
    schema = PublicSchema()

    def get_throttles(self) -> list[BaseThrottle]:
        return [*super().get_throttles(), VerifyThrottle()]

    @extend_schema(
        operation_id="verify_report",
        summary="Verify a certified report by its code",
        description="What the public verification page shows for a code: the report's "
        "number, cloud, level or result, dates, whether it is valid, and its file's SHA-256. "
        "Dashes, spaces and lower case in the code are ignored. Public and rate-limited per "
        "client address (429 with Retry-After past the limit).",
        parameters=[CODE_PARAMETER],
        responses={200: VerifyReportSerializer},
        examples=[OpenApiExample("Valid", value=VERIFY_EXAMPLE, response_only=True)],
        tags=["verification"],
    )
    def get(self, request: Request, code: str) -> Response:
        report = _report_for_code(code)
        return Response(VerifyReportSerializer(verify_payload(report, request)).data)

    @extend_schema(
        operation_id="verify_report_file",
        summary="Compare a PDF with the issued report",
        description="Upload a PDF (multipart, field `file`, at most 50 MB): its SHA-256 is "
        "compared with the issued file's and its signature checked, as on the public page. "
        "`verdict`: `identical` (genuine, byte for byte the issued report), "
        "`genuine_other_file` (signed by the office, but not this report's file), `modified` "
        "(changed after signing), `other_certificate`, `not_signed`, `not_pdf`. The file is "
        "not kept. 413 for a larger file; public and rate-limited like the page.",
        parameters=[CODE_PARAMETER],
        request={"multipart/form-data": VerifyUploadSerializer},
        responses={
            200: OpenApiResponse(
                response=VerifyComparisonSerializer,
                examples=[
                    OpenApiExample(
                        "Modified after signing",
                        value={
                            "verdict": "modified",
                            "title": "Modified after signing",
                            "matches": False,
                            "uploaded_name": "report.pdf",
                            "uploaded_sha256": "5d41…",
                            "modification": "signed_bytes",
                            "signer": "CN=govcloud_eval report signing",
                            "signed_at": "2026-07-01T09:30:11+08:00",
                            "timestamped_at": None,
                            "document_timestamp": False,
                            "document_timestamped_at": None,
                            "report": VERIFY_EXAMPLE,
                        },
                    )
                ],
            ),
            413: OpenApiResponse(
                response=inline_serializer(
                    "VerifyTooLarge",
                    fields={"code": serializers.CharField(), "message": serializers.CharField()},
                ),
                description="The file is larger than any issued report (code `too_large`).",
            ),
        },
        tags=["verification"],
    )
    def post(self, request: Request, code: str) -> HttpResponseBase:
        report = _report_for_code(code)
        limit = certified_selectors.UPLOAD_MAX_BYTES
        # As the page: the handler counts what arrives (``max_body`` on the URL refused a body
        # declaring more before this view).
        handler = EvidenceUploadHandler(request._request, limit=limit)
        request._request.upload_handlers = [handler]
        upload = request.FILES.get("file")
        data = None if upload is None else verification_upload_bytes(upload, limit)
        if handler.too_large or (upload is not None and data is None):
            response = Response(
                {
                    "code": "too_large",
                    "message": _("This file is far larger than any issued report."),
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
            close_unread(request._request, response)
            return response
        if upload is None:
            raise exceptions.ValidationError({"file": [_("Choose the PDF file to compare.")]})
        found = verification_compare(report, upload.name or "", data or b"")
        payload = comparison_payload(found, verify_payload(report, request))
        return Response(VerifyComparisonSerializer(payload).data)
