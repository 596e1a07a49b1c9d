"""Read-only admin views of scoring: results and runs are written by the services only."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_site import ReadOnlyModelAdmin as ReadOnlyAdmin

from .models import CampaignScoringRun, ScoreResult, VetoFinding


@admin.register(ScoreResult)
class ScoreResultAdmin(ReadOnlyAdmin):
    list_display = ["assessment", "version", "is_current", "total", "level_code", "passed"]
    list_filter = ["is_current", "level_code", "passed"]
    list_select_related = ["assessment__cloud", "assessment__campaign"]
    search_fields = ["assessment__cloud__name", "inputs_sha256"]


@admin.register(CampaignScoringRun)
class CampaignScoringRunAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "state", "total", "done", "failed", "started_at", "finished_at"]
    list_filter = ["state"]


@admin.register(VetoFinding)
class VetoFindingAdmin(ReadOnlyAdmin):
    list_display = ["assessment", "veto_rule", "recorded_by", "recorded_at"]
