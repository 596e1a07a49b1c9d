"""Certified reports (评估报告): numbered, signed, verifiable, never deleted.

Rows here are written only by ``reports.certified.services``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from assessments.models import Assessment
from reports.scoring.models import ScoreResult


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
    def valid_until(self) -> datetime.date | None:
        """The last day the report is valid, frozen into its content at issue (None for reports
        issued before reports carried one). Superseding or revoking ends it earlier."""
        iso = (self.content or {}).get("valid_until")
        return datetime.date.fromisoformat(iso) if iso else None

    @property
    def verification_code_display(self) -> str:
        """The code in groups of four, as printed: ABCD-EFGH-…"""
        code = self.verification_code
        return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
