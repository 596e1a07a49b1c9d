"""Scoring results: versioned, named by the SHA-256 of their inputs, exactly one current.

Rows here are written only by ``reports.services``. A result is never changed once written,
except for the ``is_current`` flag, which moves to the newest computation.
"""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from assessments.models import Assessment, Campaign
from indicators.models import Framework, VetoRule


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
    def radar(self):  # type: ignore[no-untyped-def]
        from .charts import radar_for

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


# --- Certified reports (issue 6) ---


class ReportImmutableError(Exception):
    """An issued report was about to be deleted: issued reports are superseded or revoked."""


class ReportQuerySet(models.QuerySet["Report"]):
    def delete(self) -> tuple[int, dict[str, int]]:
        raise ReportImmutableError("Issued reports are never deleted; supersede or revoke them.")


class ReportNumberCounter(models.Model):
    """The last report number handed out in a year; one row per year.

    ``reports.certify`` increments it with one ``UPDATE … SET last = last + 1``, which holds the
    row lock until the issuing transaction commits, so concurrent issues queue on it; the unique
    constraints on ``Report`` are the last word. A number whose transaction rolled back was never
    issued, and the counter rolls back with it.
    """

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("report number counter")
        verbose_name_plural = _("report number counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


def report_upload_to(instance: Report, filename: str) -> str:
    return f"reports/{instance.year}/{instance.number}.pdf"


class Report(models.Model):
    """A certified report (评估报告) of an approved assessment: numbered, signed, verifiable.

    ``content`` is the snapshot the PDF is rendered from, frozen when the report is issued, so
    that rendering again after a failure gives the same document whatever changed since. Once
    the file is ready it never changes; a correction is a new report that supersedes this one.
    Rows are written only by ``reports.certify``.
    """

    class State(models.TextChoices):
        """Where the file is."""

        PENDING = "pending", _("Waiting to be rendered")
        RENDERING = "rendering", _("Rendering")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Rendering failed")

    class Status(models.TextChoices):
        """Whether the report is in force."""

        ISSUED = "issued", _("Valid")
        SUPERSEDED = "superseded", _("Superseded")
        REVOKED = "revoked", _("Revoked")

    class Language(models.TextChoices):
        CHINESE = "zh-hans", _("Chinese")
        ENGLISH = "en", _("English")

    number = models.CharField(_("report number"), max_length=32, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    verification_code = models.CharField(_("verification code"), max_length=32, unique=True)
    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("assessment"),
        on_delete=models.PROTECT,
        related_name="certified_reports",
    )
    score_result = models.ForeignKey(
        ScoreResult, verbose_name=_("score"), on_delete=models.PROTECT, related_name="+"
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.CHINESE
    )
    content = models.JSONField(_("content"))
    state = models.CharField(
        _("file state"), max_length=12, choices=State.choices, default=State.PENDING
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ISSUED
    )
    file = models.FileField(_("file"), upload_to=report_upload_to, max_length=200, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.PositiveIntegerField(_("size in bytes"), null=True, blank=True)
    error = models.TextField(_("rendering error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("rendering attempts"), default=0)
    render_started_at = models.DateTimeField(_("rendering started"), null=True, blank=True)
    rendered_at = models.DateTimeField(_("rendered"), null=True, blank=True)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    issued_at = models.DateTimeField(_("issued"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revocation_reason = models.TextField(_("reason for revoking"), blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("certified report")
        verbose_name_plural = _("certified reports")
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="report_year_sequence_uniq"),
            models.UniqueConstraint(
                fields=["assessment", "language"],
                condition=Q(status="issued"),
                name="report_one_in_force",
            ),
            models.CheckConstraint(
                condition=~Q(status="revoked") | ~Q(revocation_reason=""),
                name="report_revoked_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="ready") | (~Q(sha256="") & ~Q(file="")),
                name="report_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ReportImmutableError(f"{self.number} is issued: supersede or revoke it instead.")

    @property
    def is_ready(self) -> bool:
        return self.state == self.State.READY

    @property
    def in_force(self) -> bool:
        return self.status == self.Status.ISSUED

    @property
    def verification_code_display(self) -> str:
        """The code in groups of four, as printed: ABCD-EFGH-…"""
        code = self.verification_code
        return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
