"""Notifications in the admin site, read-only: who was told what, and whether the e-mail went
out (with its error)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_site import ReadOnlyModelAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "kind", "recipient", "subject", "read_at", "emailed_at"]
    list_filter = ["kind"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__username", "subject", "email_error"]
