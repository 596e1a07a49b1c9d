from __future__ import annotations

from django.urls import path

from . import views

app_name = "scoring"

urlpatterns = [
    path("assessments/<int:pk>/result/", views.assessment_result, name="assessment_result"),
    path("assessments/<int:pk>/result/vetoes/", views.veto_record, name="veto_record"),
    path(
        "assessments/<int:pk>/result/vetoes/<int:finding_pk>/withdraw/",
        views.veto_withdraw,
        name="veto_withdraw",
    ),
    path("campaigns/<int:pk>/scoring/", views.campaign_scoring, name="campaign_scoring"),
    path(
        "campaigns/<int:pk>/scoring/progress/",
        views.campaign_scoring_progress,
        name="campaign_scoring_progress",
    ),
]
