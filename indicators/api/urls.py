from __future__ import annotations

from django.urls import path

from . import views

app_name = "indicators_api"

urlpatterns = [
    path("frameworks/", views.FrameworkListView.as_view(), name="framework_list"),
    path(
        "frameworks/<slug:code>/<str:version>/",
        views.FrameworkDetailView.as_view(),
        name="framework_detail",
    ),
]
