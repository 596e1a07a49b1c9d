from __future__ import annotations

from django.urls import URLPattern

app_name = "evidence_uploads_api"

urlpatterns: list[URLPattern] = []
