"""The models of the reports app, defined by its three parts and gathered here so that Django
(and the migrations, which name ``reports.models.report_upload_to``,
``reports.models.objection_evidence_upload_to`` and ``ranking_export_upload_to``) find them
under the app label ``reports``."""

from __future__ import annotations

from .certified.models import (
    Report,
    ReportImmutableError,
    ReportNumberCounter,
    ReportQuerySet,
    report_upload_to,
)
from .rankings.models import (
    Objection,
    Ranking,
    RankingAdjustment,
    RankingExport,
    objection_evidence_upload_to,
    ranking_export_upload_to,
)
from .scoring.models import CampaignScoringItem, CampaignScoringRun, ScoreResult, VetoFinding

__all__ = [
    "CampaignScoringItem",
    "CampaignScoringRun",
    "Objection",
    "Ranking",
    "RankingAdjustment",
    "RankingExport",
    "Report",
    "ReportImmutableError",
    "ReportNumberCounter",
    "ReportQuerySet",
    "ScoreResult",
    "VetoFinding",
    "objection_evidence_upload_to",
    "ranking_export_upload_to",
    "report_upload_to",
]
