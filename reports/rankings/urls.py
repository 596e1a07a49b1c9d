"""Rankings (included at the site root): the admin pages under a campaign, the owners'
objections, and the public pages under /rankings/."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "rankings"

urlpatterns = [
    path("campaigns/<int:pk>/ranking/", views.ranking_admin, name="admin"),
    path("campaigns/<int:pk>/ranking/settings/", views.ranking_settings, name="settings"),
    path("campaigns/<int:pk>/ranking/adjustments/", views.ranking_adjust, name="adjust"),
    path(
        "campaigns/<int:pk>/ranking/adjustments/<int:adjustment_pk>/withdraw/",
        views.ranking_adjustment_withdraw,
        name="adjustment_withdraw",
    ),
    path("campaigns/<int:pk>/ranking/publish/", views.ranking_publish, name="publish"),
    path(
        "campaigns/<int:pk>/ranking/exports/requeue/",
        views.ranking_exports_requeue,
        name="exports_requeue",
    ),
    path(
        "campaigns/<int:pk>/ranking/objections/<int:objection_pk>/answer/",
        views.objection_answer,
        name="objection_answer",
    ),
    path(
        "rankings/objections/<int:pk>/evidence/",
        views.objection_evidence,
        name="objection_evidence",
    ),
    path("rankings/", views.ranking_index, name="index"),
    # The schema of every ranking's open data (docs/open-data.md): a stable public address.
    path("rankings/open-data/schema.json", views.open_data_schema, name="open_data_schema"),
    path("rankings/<int:year>/<slug:slug>/", views.ranking_public, name="public"),
    path(
        "rankings/<int:year>/<slug:slug>/v<int:version>/",
        views.ranking_public,
        name="public_version",
    ),
    path(
        "rankings/<int:year>/<slug:slug>/v<int:version>/ranking.<str:fmt>",
        views.ranking_export,
        name="export",
    ),
    path(
        "rankings/<int:year>/<slug:slug>/objections/",
        views.objections_owner,
        name="objections",
    ),
]
