"""The OSCAL assessment results of an approved assessment over the API, under the score page's
rules (``score.view``; 404 for anyone who may not read the score), built by
``reports.oscal.results`` like the page's download."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from govcloud_eval.api.errors import Conflict
from reports.oscal import results
from reports.scoring import selectors as scoring_selectors

EXAMPLE = {
    "assessment-results": {
        "uuid": "7f0c3d0e-6a1b-5c2d-9e8f-0a1b2c3d4e5f",
        "metadata": {
            "title": "Assessment results: 济南政务云 · 2026年政务云综合水平评估",
            "published": "2026-07-01T09:30:00+08:00",
            "last-modified": "2026-07-01T09:30:00+08:00",
            "version": "2",
            "oscal-version": "1.1.2",
        },
        "import-ap": {
            "href": "https://eval.example.gov.cn/catalogs/GCE-COMPREHENSIVE/2026.1/oscal/"
        },
        "results": [
            {
                "uuid": "0b1c2d3e-4f5a-5b6c-8d7e-8f9a0b1c2d3e",
                "title": "济南政务云 · 2026年政务云综合水平评估",
                "description": "One finding per indicator.",
                "start": "2026-06-01T10:00:00+08:00",
                "end": "2026-07-01T09:30:00+08:00",
                "props": [
                    {
                        "name": "level",
                        "ns": results.NS,
                        "value": "advanced",
                    },
                    {"name": "total", "ns": results.NS, "value": "86.40"},
                ],
                "reviewed-controls": {"control-selections": [{"include-all": {}}]},
                "findings": [
                    {
                        "uuid": "1c2d3e4f-5a6b-5c7d-9e8f-9a0b1c2d3e4f",
                        "title": "1.2 可用性 (Availability)",
                        "description": "The assessors' rationales: …",
                        "props": [
                            {"name": "rating", "ns": results.NS, "value": "2.50"},
                            {"name": "points", "ns": results.NS, "value": "2.50"},
                        ],
                        "target": {
                            "type": "statement-id",
                            "target-id": "c-1.2_smt",
                            "status": {"state": "satisfied"},
                        },
                    }
                ],
            }
        ],
    }
}


class AssessmentOscal(APIView):
    permission_classes = [policy.api_permission(Action.SCORE_VIEW)]

    @extend_schema(
        operation_id="assessment_oscal",
        summary="An approved assessment as OSCAL assessment results",
        description="The OSCAL assessment-results document (JSON) of an approved "
        "assessment, as the assessment page's download: one result with a finding per "
        "indicator (consolidated rating or met, points, rationale), the current evidence files "
        "as back-matter resources with their SHA-256, the assessors, approver, owner and "
        "vendors as parties, and the level and total as properties. The same readers as the "
        "score: admins and the assessment's assessors, the cloud's vendors and owner; 404 for "
        "anyone else. 409 (`not_exportable`) while the assessment is not approved or its score "
        "is not computed yet. See docs/oscal.md for the mapping.",
        responses={
            200: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description='The OSCAL document, `{"assessment-results": {...}}`.',
            )
        },
        examples=[OpenApiExample("Approved", value=EXAMPLE, response_only=True)],
        tags=["scores"],
    )
    def get(self, request: Request, pk: int) -> Response:
        user = request.user
        if not isinstance(user, User):
            raise Http404
        assessment = scoring_selectors.assessment_with_score_get_for(user=user, pk=pk)
        try:
            document = results.assessment_results_of(assessment=assessment)
        except results.NotExportable as refusal:
            raise Conflict(detail=str(refusal), code="not_exportable") from None
        response = Response(document)
        response["Cache-Control"] = "private, no-store"
        return response
