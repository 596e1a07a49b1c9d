from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("assessments.urls")),
    path("", include("reports.urls")),
    path("audit/", include("audit.urls")),
    path("catalogs/", include("indicators.urls")),
    path("api/v1/", include("indicators.api.urls")),
    path("api/v1/", include("assessments.api.urls")),
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
