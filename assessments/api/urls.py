from __future__ import annotations

from django.urls import path

from . import views

app_name = "assessments_api"

urlpatterns = [
    path("campaigns/", views.CampaignList.as_view(), name="campaign_list"),
    path("campaigns/<int:pk>/", views.CampaignDetail.as_view(), name="campaign_detail"),
    path("campaigns/<int:pk>/state/", views.CampaignState.as_view(), name="campaign_state"),
    path("campaigns/<int:pk>/clouds/", views.CampaignClouds.as_view(), name="campaign_clouds"),
    path("clouds/", views.CloudList.as_view(), name="cloud_list"),
    path("clouds/<int:pk>/", views.CloudDetail.as_view(), name="cloud_detail"),
    path("assessments/", views.AssessmentList.as_view(), name="assessment_list"),
    path("assessments/<int:pk>/", views.AssessmentDetail.as_view(), name="assessment_detail"),
    path(
        "assessments/<int:pk>/submit/", views.AssessmentSubmit.as_view(), name="assessment_submit"
    ),
    path(
        "assessments/<int:pk>/return/", views.AssessmentReturn.as_view(), name="assessment_return"
    ),
    path(
        "assessments/<int:pk>/reopen/", views.AssessmentReopen.as_view(), name="assessment_reopen"
    ),
    path(
        "assessments/<int:pk>/approve/",
        views.AssessmentApprove.as_view(),
        name="assessment_approve",
    ),
    path(
        "assessments/<int:pk>/exclude/",
        views.AssessmentExclude.as_view(),
        name="assessment_exclude",
    ),
    path(
        "assessments/<int:pk>/include/",
        views.AssessmentInclude.as_view(),
        name="assessment_include",
    ),
    path(
        "assessments/<int:pk>/scoring/submit/",
        views.ScoringSubmit.as_view(),
        name="scoring_submit",
    ),
    path(
        "assessments/<int:pk>/assignments/",
        views.AssignmentCreate.as_view(),
        name="assignment_create",
    ),
    path(
        "assessments/<int:pk>/assignments/<int:assignment_id>/remove/",
        views.AssignmentRemove.as_view(),
        name="assignment_remove",
    ),
]
