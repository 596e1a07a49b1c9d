"""The records of an assessment: answers, ratings and evidence files (``records``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from govcloud_eval.limits import max_body

from ..evidence.uploads import max_bytes
from . import records

app_name = "assessments_records_api"

urlpatterns: list[URLPattern] = [
    path(
        "assessments/<int:assessment_id>/answers/",
        records.AnswerList.as_view(),
        name="answer_list",
    ),
    path(
        "assessments/<int:assessment_id>/answers/<str:indicator_code>/",
        records.AnswerDetail.as_view(),
        name="answer_detail",
    ),
    path(
        "assessments/<int:assessment_id>/ratings/",
        records.RatingList.as_view(),
        name="rating_list",
    ),
    path(
        "assessments/<int:assessment_id>/ratings/<str:indicator_code>/",
        records.RatingDetail.as_view(),
        name="rating_detail",
    ),
    # Uploads take a body up to the largest evidence file (``govcloud_eval.limits``).
    path(
        "assessments/<int:assessment_id>/evidence/",
        max_body(max_bytes)(records.EvidenceList.as_view()),
        name="evidence_list",
    ),
    path("evidence/<int:pk>/", records.EvidenceDetail.as_view(), name="evidence_detail"),
    path(
        "evidence/<int:pk>/download/",
        records.EvidenceDownload.as_view(),
        name="evidence_download",
    ),
]
