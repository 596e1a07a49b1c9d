"""Certified reports and their public verification (included at the site root)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "certified"

urlpatterns = [
    path("reports/", views.report_list, name="report_list"),
    path("assessments/<int:pk>/reports/", views.assessment_reports, name="assessment_reports"),
    path("assessments/<int:pk>/reports/issue/", views.report_issue, name="issue"),
    path("reports/<int:pk>/download/", views.report_download, name="download"),
    path("reports/<int:pk>/status/", views.report_status, name="status"),
    path("reports/<int:pk>/reissue/", views.report_reissue, name="reissue"),
    path("reports/<int:pk>/revoke/", views.report_revoke, name="revoke"),
    path("reports/<int:pk>/retry/", views.report_retry, name="retry"),
    path("verify/", views.verify_lookup, name="verify_lookup"),
    path("verify/<str:code>/", views.verify, name="verify"),
]
