"""The reports API (included under /api/v1/): score results, certified reports, published
rankings and the public verification of a report."""

from __future__ import annotations

from django.urls import path

from govcloud_eval.limits import max_body
from reports.certified import selectors as certified_selectors

from . import oscal, views

app_name = "reports_api"

urlpatterns = [
    path("assessments/<int:pk>/score/", views.AssessmentScore.as_view(), name="assessment_score"),
    path("assessments/<int:pk>/oscal/", oscal.AssessmentOscal.as_view(), name="assessment_oscal"),
    path(
        "assessments/<int:pk>/reports/",
        views.AssessmentReportIssue.as_view(),
        name="assessment_report_issue",
    ),
    path("reports/", views.ReportList.as_view(), name="report_list"),
    path("reports/<int:pk>/", views.ReportDetail.as_view(), name="report_detail"),
    path("reports/<int:pk>/download/", views.ReportDownload.as_view(), name="report_download"),
    path("rankings/", views.RankingList.as_view(), name="ranking_list"),
    path("rankings/<int:year>/<slug:slug>/", views.RankingDetail.as_view(), name="ranking_detail"),
    path(
        "rankings/<int:year>/<slug:slug>/versions/<int:version>/",
        views.RankingVersion.as_view(),
        name="ranking_version",
    ),
    # The public page's size limit, judged on the declared length before a byte is read.
    path(
        "verify/<str:code>/",
        max_body(lambda: certified_selectors.UPLOAD_MAX_BYTES)(views.Verify.as_view()),
        name="verify",
    ),
]
