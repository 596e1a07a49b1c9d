"""The catalog pages' oscal URLs, in the ``indicators`` namespace (indicators/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import oscal_views

urlpatterns: list[URLPattern] = [
    # One path segment: "<code>/<version>/" would otherwise take it for a framework.
    path("import-oscal/", oscal_views.framework_oscal_import, name="framework_oscal_import"),
    path(
        "<slug:code>/<str:version>/oscal/",
        oscal_views.framework_oscal_export,
        name="framework_oscal_export",
    ),
]
