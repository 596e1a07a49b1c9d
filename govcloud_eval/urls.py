from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from notifications import views as notification_views

from . import views

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("assessments.urls")),
    path("", include("reports.urls")),
    path("audit/", include("audit.urls")),
    path("catalogs/", include("indicators.urls")),
    path("api/v1/", include("indicators.api.urls")),
    path("api/v1/", include("assessments.api.urls")),
    path("api/v1/", include("assessments.api.records_urls")),
    path("api/v1/", include("assessments.api.upload_urls")),
    path("api/v1/", include("reports.api.urls")),
    path("api/schema/", views.ApiSchemaView.as_view(), name="api_schema"),
    path("api/docs/", views.api_docs, name="api_docs"),
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("notifications.urls")),
    # Django's language switch, which also remembers a signed-in user's choice (for e-mails).
    path("i18n/setlang/", notification_views.language_set, name="set_language"),
    path("admin/", admin.site.urls),
]

# Under /api/ errors are JSON of the API's one error shape; elsewhere the portal's pages.
handler400 = "govcloud_eval.views.bad_request"
handler403 = "govcloud_eval.views.permission_denied"
handler404 = "govcloud_eval.views.page_not_found"
handler500 = "govcloud_eval.views.server_error"
