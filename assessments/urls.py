"""The workflow's pages. Each journey keeps its views and routes in one module of ``views/``."""

from __future__ import annotations

from .views import assessor, campaigns, clouds, evidence, excel, vendor

app_name = "assessments"

urlpatterns = [
    *vendor.urlpatterns,
    *assessor.urlpatterns,
    *campaigns.urlpatterns,
    *evidence.urlpatterns,
    *excel.urlpatterns,
    *clouds.urlpatterns,
]
