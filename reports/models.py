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


# --- Rankings (issue 7) ---


def objection_evidence_upload_to(instance: Objection, filename: str) -> str:
    # ``filename`` is already the random stored name chosen by reports.services_rankings.
    return f"rankings/objections/{instance.ranking_id}/{filename}"


class Ranking(models.Model):
    """A ranking of a campaign: the top ten (十佳政务云) or the trusted-platform awards.

    One row per (campaign, kind) is the working draft an admin reviews; publishing freezes it:
    ``snapshot`` holds every figure the public pages show, named by ``snapshot_sha256``, and a
    published row never changes again. A correction, or the final list after the public notice
    (公示), is a new published version that supersedes the previous one and says what changed.
    Rows are written only by ``reports.services_rankings``.
    """

    class Kind(models.TextChoices):
        TOP_TEN = "top_ten", _("Top ten government clouds")
        AWARDS = "awards", _("Trusted-platform awards")

    class State(models.TextChoices):
        DRAFT = "draft", _("Provisional")
        NOTICE = "notice", _("Published for public notice")
        FINAL = "final", _("Published, final")

    class PublicForm(models.TextChoices):
        GROUPED = "grouped", _("Grouped by level and division code, scores hidden")
        RANKED = "ranked", _("Ranked, with scores")

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="rankings"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # Copied from the campaign so that the public pages find a ranking by year and slug alone.
    year = models.PositiveSmallIntegerField(_("year"))
    slug = models.SlugField(_("address"), max_length=60)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    version = models.PositiveIntegerField(_("version"), null=True, blank=True)
    # Pool code (assessments.models.Cloud.Level) → how many clouds it lists.
    quotas = models.JSONField(_("quotas"), default=dict)
    # Blank for the awards: trusted-platform catalogs have no levels.
    min_level = models.CharField(_("minimum level"), max_length=32, blank=True)
    # Dimension codes that break ties of the total, in order.
    tie_break = models.JSONField(_("tie-break order"), default=list, blank=True)
    public_form = models.CharField(
        _("public form"), max_length=12, choices=PublicForm.choices, default=PublicForm.GROUPED
    )
    notice_starts_on = models.DateField(_("public notice starts"), null=True, blank=True)
    notice_ends_on = models.DateField(_("public notice ends"), null=True, blank=True)
    change_note = models.TextField(_("what changed"), blank=True)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    snapshot = models.JSONField(_("published snapshot"), null=True, blank=True)
    snapshot_sha256 = models.CharField(_("SHA-256 of the snapshot"), max_length=64, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-year", "slug", "-version"]
        verbose_name = _("ranking")
        verbose_name_plural = _("rankings")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "kind"],
                condition=Q(state="draft"),
                name="ranking_one_draft",
            ),
            models.UniqueConstraint(
                fields=["year", "slug", "version"], name="ranking_year_slug_version_uniq"
            ),
            models.CheckConstraint(
                condition=Q(state="draft")
                | (
                    Q(version__isnull=False)
                    & Q(snapshot__isnull=False)
                    & ~Q(snapshot_sha256="")
                    & Q(published_at__isnull=False)
                ),
                name="ranking_published_is_frozen",
            ),
            models.CheckConstraint(
                condition=Q(notice_starts_on__isnull=True, notice_ends_on__isnull=True)
                | Q(
                    notice_starts_on__isnull=False,
                    notice_ends_on__isnull=False,
                    notice_ends_on__gte=models.F("notice_starts_on"),
                ),
                name="ranking_notice_period",
            ),
        ]

    def __str__(self) -> str:
        if self.version:
            return f"{self.year}/{self.slug} v{self.version}"
        return f"{self.year}/{self.slug} ({self.get_state_display()})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError  # the imports above are shared

        super().clean()
        if (self.notice_starts_on is None) != (self.notice_ends_on is None):
            raise ValidationError(_("A public notice period needs both a start and an end."))
        if (
            self.notice_starts_on
            and self.notice_ends_on
            and self.notice_ends_on < self.notice_starts_on
        ):
            raise ValidationError({"notice_ends_on": _("The notice period ends before it starts.")})
        for quota in (self.quotas or {}).values():
            if isinstance(quota, bool) or not isinstance(quota, int) or not 0 <= quota <= 100:
                raise ValidationError({"quotas": _("A quota is a whole number from 0 to 100.")})

    @property
    def is_published(self) -> bool:
        return self.state != self.State.DRAFT

    @property
    def has_notice(self) -> bool:
        return self.notice_ends_on is not None


class RankingAdjustment(models.Model):
    """An admin's decision on an entry tied (并列) across a pool's quota line: moved in or out,
    with the reason, recorded on the draft it was made on (and carried to later drafts)."""

    class Move(models.TextChoices):
        IN = "in", _("Moved into the list")
        OUT = "out", _("Moved out of the list")

    ranking = models.ForeignKey(
        Ranking, verbose_name=_("ranking"), on_delete=models.CASCADE, related_name="adjustments"
    )
    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.PROTECT, related_name="+"
    )
    move = models.CharField(_("move"), max_length=4, choices=Move.choices)
    reason = models.TextField(_("reason"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), auto_now_add=True)

    class Meta:
        ordering = ["ranking", "decided_at", "id"]
        verbose_name = _("ranking adjustment")
        verbose_name_plural = _("ranking adjustments")
        constraints = [
            models.UniqueConstraint(
                fields=["ranking", "assessment"], name="ranking_adjustment_uniq"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="ranking_adjustment_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.ranking_id} · {self.assessment_id} {self.move}"


class Objection(models.Model):
    """An objection (异议) a cloud's owner lodges against a ranking during its public notice,
    with its evidence, and the admins' answer."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        UPHELD = "upheld", _("Upheld")
        REJECTED = "rejected", _("Rejected")

    ranking = models.ForeignKey(
        Ranking, verbose_name=_("ranking"), on_delete=models.PROTECT, related_name="objections"
    )
    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))
    evidence = models.FileField(
        _("evidence"), upload_to=objection_evidence_upload_to, max_length=300, blank=True
    )
    evidence_name = models.CharField(_("file name"), max_length=255, blank=True)
    evidence_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    evidence_size = models.BigIntegerField(_("size in bytes"), null=True, blank=True)
    evidence_content_type = models.CharField(_("type"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    lodged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lodged by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    lodged_at = models.DateTimeField(_("lodged"), auto_now_add=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["ranking", "lodged_at", "id"]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open") | (~Q(answer="") & Q(answered_at__isnull=False)),
                name="objection_settled_has_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ranking_id} · {self.assessment_id}: {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN
