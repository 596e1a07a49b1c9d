"""Filters of the reports API's lists (django-filter)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from reports.models import Ranking, Report


class ReportFilter(filters.FilterSet):
    campaign = filters.NumberFilter(field_name="assessment__campaign_id")
    assessment = filters.NumberFilter(field_name="assessment_id")
    state = filters.ChoiceFilter(choices=Report.State.choices, help_text="Where the PDF is.")
    status = filters.ChoiceFilter(choices=Report.Status.choices, help_text="In force or not.")
    language = filters.ChoiceFilter(choices=Report.Language.choices)

    class Meta:
        model = Report
        fields = ["year", "campaign", "assessment", "state", "status", "language"]


class RankingFilter(filters.FilterSet):
    campaign = filters.NumberFilter(field_name="campaign_id")
    kind = filters.ChoiceFilter(choices=Ranking.Kind.choices)
    state = filters.ChoiceFilter(
        choices=[(Ranking.State.NOTICE, "notice"), (Ranking.State.FINAL, "final")],
        help_text="notice: published for public notice (公示); final: the final list.",
    )

    class Meta:
        model = Ranking
        fields = ["year", "kind", "state", "campaign"]
