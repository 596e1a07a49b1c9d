"""The routes of the reports app's three parts, each in its own namespace: ``scoring:``,
``certified:`` and ``rankings:``."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("reports.scoring.urls")),
    path("", include("reports.certified.urls")),
    path("", include("reports.rankings.urls")),
    path("", include("reports.oscal.urls")),
]
