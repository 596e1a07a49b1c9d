"""Rankings (the top ten 十佳政务云 and the trusted-platform awards), tie decisions and
objections (异议) during the public notice (公示).

Rows here are written only by ``reports.rankings.services`` and ``reports.rankings.objections``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from assessments.models import Assessment, Campaign


def objection_evidence_upload_to(instance: Objection, filename: str) -> str:
    # ``filename`` is already the random stored name chosen by reports.rankings.objections.
    return f"rankings/objections/{instance.ranking_id}/{filename}"


class Ranking(models.Model):
    """A ranking of a campaign: the top ten (十佳政务云) or the trusted-platform awards.

    One row per (campaign, kind) is the working draft an admin reviews; publishing freezes it:
    ``snapshot`` holds every figure the public pages show, named by ``snapshot_sha256``, and a
    published row never changes again. A correction, or the final list after the public notice
    (公示), is a new published version that supersedes the previous one and says what changed.
    Rows are written only by ``reports.rankings.services`` and ``.objections``.
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


def list_titles(
    *, kind: str, year: int, demo: bool, notice: bool, campaign: str = ""
) -> tuple[str, str]:
    """The Chinese and English titles of a published list, frozen into its snapshot.

    The rule, so that no two public lists share a title: the final list of a year carries the
    plain title (2026年度十佳政务云); a list for public notice adds 公示名单 (the final list that
    follows it is a different list); a ranking of the same kind as one another campaign of the
    year has already published adds its campaign's name (campaign names are unique); demo lists
    say so. Versions of one list (corrections) keep its title and are told apart by their number.

    Bilingual data rather than translated messages: a snapshot freezes both languages at once,
    whatever the catalog holds on the day it is published."""
    if kind == Ranking.Kind.AWARDS:
        zh, en = f"{year}年度可信云行业服务奖（政务）", f"Trusted-platform awards {year}"
    else:
        zh, en = f"{year}年度十佳政务云", f"Top ten government clouds {year}"
    if notice:
        zh, en = f"{zh}公示名单", f"{en}: list for public notice"
    if campaign:
        zh, en = f"{zh}（{campaign}）", f"{en} ({campaign})"
    if demo:
        zh, en = f"{zh}（演示）", f"{en} (demo)"
    return zh, en


# Where a published version stands with its public notice on a given day.
NO_NOTICE = "-"  # a final list, or a list published without a notice
NOTICE_UPCOMING = "upcoming"  # published, the notice has not started
NOTICE_RUNNING = "running"  # the only phase in which a list is "on public notice" (公示中)
NOTICE_ENDED = "ended"  # the notice is over, the final list is awaited
NOTICE_CLOSED = "closed"  # a final list has since been published


def notice_phase(
    *,
    state: str,
    starts_on: datetime.date | None,
    ends_on: datetime.date | None,
    final_published: bool,
    today: datetime.date,
) -> str:
    """The phase of a published version's public notice on ``today`` (``final_published``: a
    final version of the same list exists)."""
    if state != Ranking.State.NOTICE or ends_on is None:
        return NO_NOTICE
    if final_published:
        return NOTICE_CLOSED
    if starts_on is not None and today < starts_on:
        return NOTICE_UPCOMING
    return NOTICE_RUNNING if today <= ends_on else NOTICE_ENDED


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


def ranking_export_upload_to(instance: RankingExport, filename: str) -> str:
    ranking = instance.ranking
    return (
        f"rankings/exports/{ranking.year}/{ranking.slug}/v{ranking.version}/"
        f"{instance.language}/{filename}"
    )


class RankingExport(models.Model):
    """One file of a published version, rendered once by a worker after publication and then
    served as stored: its PDF bulletin, CSV or XLSX, in one language (the files differ by
    language: headers, names and the bulletin's text), and its open data (JSON and a CSV of
    stable columns, ``reports.rankings.open_data``), language-neutral: one file each, in the
    language ``mul`` (both languages' names side by side), documented in docs/open-data.md.

    ``pending → rendering → ready | failed``, as certified reports. A ready file never changes
    (its version is frozen). Rows are written only by ``reports.rankings.services`` and
    ``reports.rankings.rendering``.
    """

    class Format(models.TextChoices):
        PDF = "pdf", _("Bulletin (PDF)")
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        JSON = "json", _("Open data (JSON)")
        DATA_CSV = "data.csv", _("Open data (CSV)")

    class Language(models.TextChoices):
        CHINESE = "zh-hans", _("Chinese")
        ENGLISH = "en", _("English")
        # The open data: one file for every reader, with the Chinese and English names.
        NEUTRAL = "mul", _("Chinese and English")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be rendered")
        RENDERING = "rendering", _("Rendering")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Rendering failed")

    ranking = models.ForeignKey(
        Ranking, verbose_name=_("ranking"), on_delete=models.CASCADE, related_name="exports"
    )
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    state = models.CharField(
        _("file state"), max_length=12, choices=State.choices, default=State.PENDING
    )
    file = models.FileField(
        _("file"), upload_to=ranking_export_upload_to, max_length=300, blank=True
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.PositiveIntegerField(_("size in bytes"), null=True, blank=True)
    error = models.TextField(_("rendering error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("rendering attempts"), default=0)
    render_started_at = models.DateTimeField(_("rendering started"), null=True, blank=True)
    rendered_at = models.DateTimeField(_("rendered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["ranking", "language", "format"]
        verbose_name = _("ranking export")
        verbose_name_plural = _("ranking exports")
        constraints = [
            models.UniqueConstraint(
                fields=["ranking", "format", "language"], name="ranking_export_uniq"
            ),
            models.CheckConstraint(
                condition=~Q(state="ready") | (~Q(sha256="") & ~Q(file="")),
                name="ranking_export_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ranking_id} · {self.format} {self.language}: {self.state}"

    @property
    def is_ready(self) -> bool:
        return self.state == self.State.READY


# The files of a published version: each presentation format in each reader's language, and the
# open data once, language-neutral.
LOCALIZED_FORMATS: tuple[str, ...] = (
    RankingExport.Format.PDF.value,
    RankingExport.Format.CSV.value,
    RankingExport.Format.XLSX.value,
)
LOCALIZED_LANGUAGES: tuple[str, ...] = (
    RankingExport.Language.CHINESE.value,
    RankingExport.Language.ENGLISH.value,
)
OPEN_DATA_FORMATS: tuple[str, ...] = (
    RankingExport.Format.JSON.value,
    RankingExport.Format.DATA_CSV.value,
)
EXPORT_FILES: tuple[tuple[str, str], ...] = tuple(
    (fmt, language) for language in LOCALIZED_LANGUAGES for fmt in LOCALIZED_FORMATS
) + tuple((fmt, RankingExport.Language.NEUTRAL.value) for fmt in OPEN_DATA_FORMATS)
