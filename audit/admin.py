from __future__ import annotations

from django.contrib import admin

from accounts.admin_site import ReadOnlyModelAdmin
from accounts.policy import Action

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """Read-only: the trail is written by services, never edited by hand. Only for those who
    read the trail (the auditor, who does not use the admin site: the audit pages are theirs)."""

    action = Action.AUDIT_VIEW

    list_display = ["at", "action", "actor_label", "target_label"]
    list_filter = ["action"]
    search_fields = ["action", "actor_label", "target_label"]
