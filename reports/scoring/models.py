"""Scoring results: versioned, named by the SHA-256 of their inputs, exactly one current; veto
findings; campaign scoring runs.

Rows here are written only by ``reports.scoring.services``. A result is never changed once
written, except for the ``is_current`` flag, which moves to the newest computation.
"""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from assessments.models import Assessment, Campaign
from indicators.models import Framework, VetoRule

from .charts import Radar, radar_for


class ScoreResult(models.Model):
    """The score of one assessment, computed from one set of inputs.

    The same inputs (``inputs_sha256``) always map to the same row; changed inputs add a
    version and keep the old ones. A database constraint keeps exactly one current row per
    assessment.
    """

    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("assessment"),
        on_delete=models.CASCADE,
        related_name="score_results",
    )
    version = models.PositiveIntegerField(_("version"))
    is_current = models.BooleanField(_("current"), default=True)
    inputs_sha256 = models.CharField(_("SHA-256 of the inputs"), max_length=64)
    framework = models.ForeignKey(
        Framework, verbose_name=_("framework"), on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(_("scoring method"), max_length=16)
    total = models.DecimalField(_("total"), max_digits=9, decimal_places=2, null=True, blank=True)
    level_code = models.CharField(_("level"), max_length=32, blank=True)
    passed = models.BooleanField(_("passed"), null=True, blank=True)
    vetoed = models.BooleanField(_("veto applies"), default=False)
    # The whole ``reports.scoring.Breakdown``, decimals as strings.
    breakdown = models.JSONField(_("breakdown"))
    computed_at = models.DateTimeField(_("computed"), auto_now_add=True)
    # When this row last became the current one (a later change of inputs back to these
    # inputs makes it current again instead of adding a duplicate).
    current_since = models.DateTimeField(_("current since"))

    class Meta:
        ordering = ["assessment", "-version"]
        verbose_name = _("score result")
        verbose_name_plural = _("score results")
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "version"], name="score_result_version_uniq"
            ),
            models.UniqueConstraint(
                fields=["assessment", "inputs_sha256"], name="score_result_inputs_uniq"
            ),
            models.UniqueConstraint(
                fields=["assessment"],
                condition=Q(is_current=True),
                name="score_result_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id} v{self.version}"

    @cached_property
    def radar(self) -> Radar:
        return radar_for(self.breakdown)


class VetoFinding(models.Model):
    """A recorded fact that one of the framework's vetoes (一票否决) applies to an assessment."""

    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("assessment"),
        on_delete=models.CASCADE,
        related_name="veto_findings",
    )
    veto_rule = models.ForeignKey(
        VetoRule, verbose_name=_("veto"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("note"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["assessment", "recorded_at"]
        verbose_name = _("veto finding")
        verbose_name_plural = _("veto findings")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "veto_rule"], name="veto_finding_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id} · {self.veto_rule.code}"


class CampaignScoringRun(models.Model):
    """Scoring a whole campaign: one task per assessment, progress counted here."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="scoring_runs",
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.RUNNING
    )
    total = models.PositiveIntegerField(_("assessments"))
    done = models.PositiveIntegerField(_("scored"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["campaign", "-started_at", "-id"]
        verbose_name = _("campaign scoring run")
        verbose_name_plural = _("campaign scoring runs")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign"],
                condition=Q(state="running"),
                name="scoring_run_one_running",
            ),
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total") - models.F("failed")),
                name="scoring_run_counts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100
        return (self.done + self.failed) * 100 // self.total


class CampaignScoringItem(models.Model):
    """One assessment of a run: counted once, however often its task is delivered."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Scored")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(CampaignScoringRun, on_delete=models.CASCADE, related_name="items")
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("campaign scoring item")
        verbose_name_plural = _("campaign scoring items")
        constraints = [
            models.UniqueConstraint(fields=["run", "assessment"], name="scoring_item_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.run_id} · {self.assessment_id}: {self.state}"
