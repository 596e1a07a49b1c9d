"""The catalog pages' excel URLs, in the ``indicators`` namespace (indicators/urls.py).

Paths of one segment or of three: two segments (``<code>/<version>/``) are a framework's page.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from . import excel_views

urlpatterns: list[URLPattern] = [
    path("import-xlsx/", excel_views.framework_excel_import, name="framework_excel_import"),
    path(
        "<slug:code>/<str:version>/export.xlsx",
        excel_views.framework_excel_export,
        name="framework_excel_export",
    ),
]
