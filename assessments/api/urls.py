from __future__ import annotations

from django.urls import path

from . import views

app_name = "assessments_api"

urlpatterns = [
    path("assessments/", views.AssessmentList.as_view(), name="assessment_list"),
    path("assessments/<int:pk>/", views.AssessmentDetail.as_view(), name="assessment_detail"),
]
