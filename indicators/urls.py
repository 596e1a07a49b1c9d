from __future__ import annotations

from django.urls import path

from . import excel_urls, oscal_urls, views

app_name = "indicators"

urlpatterns = [
    path("", views.framework_list, name="framework_list"),
    path("upload/", views.framework_upload, name="framework_upload"),
    path("<slug:code>/<str:version>/", views.framework_detail, name="framework_detail"),
    path("<slug:code>/<str:version>/export/", views.framework_export, name="framework_export"),
    path("<slug:code>/<str:version>/publish/", views.framework_publish, name="framework_publish"),
    path("<slug:code>/<str:version>/retire/", views.framework_retire, name="framework_retire"),
    path(
        "<slug:code>/<str:version>/new-draft/",
        views.framework_new_draft,
        name="framework_new_draft",
    ),
]

# Catalogs as OSCAL and as Excel workbooks (downloads, imports as drafts).
urlpatterns += oscal_urls.urlpatterns + excel_urls.urlpatterns
