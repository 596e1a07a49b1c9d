from __future__ import annotations

from django.urls import URLPattern

app_name = "reports_api"

urlpatterns: list[URLPattern] = []
