"""Resumable evidence uploads (tus 1.0.0): ``/api/v1/uploads/`` (see ``uploads``)."""

from __future__ import annotations

from django.urls import path

from . import uploads

app_name = "evidence_uploads_api"

urlpatterns = [
    path("uploads/", uploads.UploadCreate.as_view(), name="upload_create"),
    path("uploads/<uuid:pk>/", uploads.UploadDetail.as_view(), name="upload_detail"),
]
