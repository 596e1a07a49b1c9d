"""OSCAL assessment-results documents of approved assessments and of published rankings
(included at the site root, namespace ``oscal``)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "oscal"

urlpatterns = [
    path("assessments/<int:pk>/oscal/", views.assessment_results, name="assessment_results"),
    path(
        "rankings/<int:year>/<slug:slug>/v<int:version>/oscal/",
        views.ranking_results,
        name="ranking_results",
    ),
]
