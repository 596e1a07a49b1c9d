"""Clouds, campaigns and the evaluation of one cloud in one campaign.

Single-row rules only; the workflow (who may move what, when) lives in ``services.py``.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from indicators.models import Framework, Indicator


class Cloud(models.Model):
    """A government cloud (政务云): owned by a government body, operated by one or more vendors."""

    class Level(models.TextChoices):
        PROVINCIAL = "provincial", _("Provincial cloud")
        MUNICIPAL = "municipal", _("Municipal cloud")

    name = models.CharField(_("name"), max_length=200, unique=True)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    owner = models.ForeignKey(
        Organisation,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_clouds",
        limit_choices_to={"kind": Organisation.Kind.GOVERNMENT},
    )
    vendors = models.ManyToManyField(
        Organisation,
        verbose_name=_("operating vendors"),
        related_name="operated_clouds",
        limit_choices_to={"kind": Organisation.Kind.VENDOR},
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    on_extranet = models.BooleanField(_("government extranet zone (政务外网)"), default=True)
    on_internet = models.BooleanField(_("internet zone"), default=False)
    is_demo = models.BooleanField(_("demo data"), default=False)
    # An archived cloud keeps its history but can no longer be added to a campaign.
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner__division_code", "name"]
        verbose_name = _("cloud")
        verbose_name_plural = _("clouds")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.owner_id and self.owner.kind != Organisation.Kind.GOVERNMENT:
            raise ValidationError({"owner": _("A cloud is owned by a government organisation.")})
        if not (self.on_extranet or self.on_internet):
            raise ValidationError(_("A cloud serves at least one network zone."))


class ConflictDeclaration(models.Model):
    """An assessor's declared link with an organisation (former employer, contract, relative)."""

    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assessor"),
        on_delete=models.CASCADE,
        related_name="conflict_declarations",
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("conflict-of-interest declaration")
        verbose_name_plural = _("conflict-of-interest declarations")
        constraints = [
            models.UniqueConstraint(fields=["assessor", "organisation"], name="conflict_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.assessor} ↔ {self.organisation}"


class Campaign(models.Model):
    """An evaluation campaign (评估批次): one published framework version, one window."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        REVIEWING = "reviewing", _("Reviewing")
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=200, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    framework = models.ForeignKey(
        Framework, verbose_name=_("framework"), on_delete=models.PROTECT, related_name="campaigns"
    )
    opens_on = models.DateField(_("submissions open on"))
    closes_on = models.DateField(_("submissions close on"))
    # Evidence must still be valid on this date (by default the day submissions close).
    reference_date = models.DateField(_("reference date"), null=True, blank=True)
    assessors_per_assessment = models.PositiveSmallIntegerField(
        _("assessors per assessment"), default=2
    )
    # The assessors' deadline; the vendors' is ``closes_on`` (or an assessment's own
    # ``self_assessment_due_on`` once its self-assessment was returned or reopened).
    scoring_due_on = models.DateField(_("scoring due on"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.opens_on and self.closes_on and self.closes_on < self.opens_on:
            raise ValidationError({"closes_on": _("The window closes before it opens.")})
        if (
            self.framework_id
            and self.framework.state != Framework.State.PUBLISHED
            and (self.pk is None)
        ):
            raise ValidationError(
                {"framework": _("A campaign uses a published framework version.")}
            )
        if not 1 <= self.assessors_per_assessment <= 5:
            raise ValidationError(
                {"assessors_per_assessment": _("Between one and five assessors per cloud.")}
            )
        if self.scoring_due_on and self.closes_on and self.scoring_due_on < self.closes_on:
            raise ValidationError(
                {"scoring_due_on": _("Scoring is due on or after the day submissions close.")}
            )

    @property
    def evidence_reference_date(self) -> datetime.date:
        return self.reference_date or self.closes_on


class Assessment(models.Model):
    """One cloud in one campaign: the vendor's self-assessment and the assessors' scores."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        IN_REVIEW = "in_review", _("In review")
        RETURNED = "returned", _("Returned")
        SCORED = "scored", _("Scored")
        APPROVED = "approved", _("Approved")
        # Taken out of the campaign by an admin, with a reason: kept in the record, never
        # scored, ranked or reported.
        EXCLUDED = "excluded", _("Excluded")

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="assessments"
    )
    cloud = models.ForeignKey(
        Cloud, verbose_name=_("cloud"), on_delete=models.PROTECT, related_name="assessments"
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The vendor's deadline when it is not the campaign's ``closes_on``: set when the
    # self-assessment is returned or reopened with a new deadline.
    self_assessment_due_on = models.DateField(_("self-assessment due on"), null=True, blank=True)
    excluded_at = models.DateTimeField(_("excluded"), null=True, blank=True)
    excluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("excluded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    excluded_reason = models.TextField(_("reason for the exclusion"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "cloud__owner__division_code", "cloud__name"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "cloud"], name="assessment_cloud_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.cloud} · {self.campaign}"

    @property
    def vendor_can_edit(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.RETURNED)

    @property
    def assessors_can_score(self) -> bool:
        return self.state in (self.State.SUBMITTED, self.State.IN_REVIEW)

    @property
    def is_locked(self) -> bool:
        return self.state in (self.State.APPROVED, self.State.EXCLUDED)

    @property
    def due_on(self) -> datetime.date:
        """The vendor's deadline for the self-assessment."""
        return self.self_assessment_due_on or self.campaign.closes_on


class Assignment(models.Model):
    """An assessor assigned to score one assessment."""

    class State(models.TextChoices):
        SCORING = "scoring", _("Scoring")
        SUBMITTED = "submitted", _("Submitted")

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="assignments")
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assessor"),
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.SCORING
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    assigned_at = models.DateTimeField(auto_now_add=True)
    # A removed (or replaced) assessor's ratings stay in the record but no longer count.
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("removed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    removed_reason = models.TextField(_("reason for the removal"), blank=True)
    replaced_by = models.OneToOneField(
        "self",
        verbose_name=_("replaced by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaces",
    )

    class Meta:
        ordering = ["assessment", "assigned_at", "id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            # One current assignment per assessor; a removed one may be followed by a new one.
            models.UniqueConstraint(
                fields=["assessment", "assessor"],
                condition=models.Q(removed_at__isnull=True),
                name="assignment_assessor_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.assessor} → {self.assessment}"

    @property
    def is_current(self) -> bool:
        return self.removed_at is None


class Answer(models.Model):
    """The vendor's self-assessment of one indicator: a rating, a value, an explanation."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="answers")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    self_rating = models.PositiveSmallIntegerField(_("self-rating"), null=True, blank=True)
    # For mandatory trusted-platform items: does the platform meet it?
    self_met = models.BooleanField(_("met"), null=True, blank=True)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=4, null=True, blank=True)
    explanation = models.TextField(_("explanation"), blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("self-assessment answer")
        verbose_name_plural = _("self-assessment answers")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "indicator"], name="answer_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id} · {self.indicator.code}"


def evidence_upload_to(instance: Evidence, filename: str) -> str:
    # The stored name carries no user input beyond the sanitised name: ids and a random part.
    return f"evidence/{instance.assessment_id}/{instance.indicator_id}/{filename}"


class Evidence(models.Model):
    """A file supporting one answer. Never deleted or replaced once its assessment is submitted:
    a new upload adds a version.

    When a malware scanner is configured (``assessments.evidence.scanning``), a new file waits
    as ``pending_scan`` until a worker scans it; only ``not_scanned`` (no scanner) and ``clean``
    files may be downloaded. An infected file's content is deleted from storage (``file`` is
    emptied); the row stays, with the signature found."""

    class ScanState(models.TextChoices):
        NOT_SCANNED = "not_scanned", _("not scanned")
        PENDING = "pending_scan", _("virus scan in progress")
        CLEAN = "clean", _("no malware found")
        INFECTED = "infected", _("malicious code found")
        FAILED = "scan_failed", _("virus scan failed")

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="evidence")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(_("file"), upload_to=evidence_upload_to, max_length=500)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.BigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content_type = models.CharField(_("type"), max_length=100)
    version = models.PositiveIntegerField(_("version"), default=1)
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    scan_state = models.CharField(
        _("malware scan"), max_length=16, choices=ScanState.choices, default=ScanState.NOT_SCANNED
    )
    # The signature found (infected), or why the scan could not finish (scan_failed).
    scan_detail = models.CharField(_("scan result"), max_length=500, blank=True)
    scan_attempts = models.PositiveIntegerField(default=0)
    # When a scan was last asked for (upload, sweep, an admin) or started: the sweep queues
    # again the pending files whose message was lost.
    scan_queued_at = models.DateTimeField(null=True, blank=True)
    scanned_at = models.DateTimeField(_("scanned"), null=True, blank=True)

    class Meta:
        ordering = ["indicator", "original_name", "version"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        indexes = [
            # What the scan sweep reads: the few files waiting, among all evidence.
            models.Index(
                fields=["scan_state"],
                name="evidence_scan_waiting_idx",
                condition=models.Q(scan_state__in=["pending_scan", "scan_failed"]),
            )
        ]

    def __str__(self) -> str:
        return self.original_name

    def clean(self) -> None:
        super().clean()
        if self.issued_on and self.valid_until and self.valid_until < self.issued_on:
            raise ValidationError({"valid_until": _("Valid until is before issued on.")})

    def expires_before(self, day: datetime.date) -> bool:
        return self.valid_until is not None and self.valid_until < day

    @property
    def is_downloadable(self) -> bool:
        """Whether the file may be served: never scanned (no scanner configured) or clean."""
        return self.scan_state in (self.ScanState.NOT_SCANNED, self.ScanState.CLEAN)


class Rating(models.Model):
    """One assessor's rating of one indicator, with the rationale it rests on."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="ratings")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    met = models.BooleanField(_("met"), null=True, blank=True)
    rationale = models.TextField(_("rationale"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "indicator"], name="rating_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} · {self.indicator.code}: {self.rating}"

    @property
    def is_complete(self) -> bool:
        decided = self.met is not None if self.indicator.is_mandatory else self.rating is not None
        return decided and bool(self.rationale.strip())


class Settlement(models.Model):
    """The lead's decision where assessors disagree by more than one step."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="settlements")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    rating = models.PositiveSmallIntegerField(_("settled rating"), null=True, blank=True)
    met = models.BooleanField(_("met"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    settled_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "indicator"], name="settlement_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id} · {self.indicator_id}: {self.rating}"


class ReviewComment(models.Model):
    """A comment on one indicator (or the whole assessment) sent back to the vendor."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="review_comments"
    )
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("comment"))
    # Comments written while reviewing go to the vendor when the assessment is returned.
    returned_at = models.DateTimeField(_("sent to the vendor"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("review comment")
        verbose_name_plural = _("review comments")

    def __str__(self) -> str:
        return self.text[:60]


class ResumableUpload(models.Model):
    """An evidence file arriving over the API in chunks (the tus protocol), resumable from its
    last good chunk; once whole it becomes an ``Evidence`` through the same service as a browser
    upload (``assessments.evidence.resumable``).

    Each chunk is stored as its own object until the file is assembled; an upload with no good
    chunk for ``RESUMABLE_UPLOAD_EXPIRY`` expires and its chunks are deleted. Only the user who
    created it sees it."""

    class State(models.TextChoices):
        RECEIVING = "receiving", _("receiving")
        ASSEMBLING = "assembling", _("assembling")
        COMPLETE = "complete", _("complete")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField(max_length=255)
    # The whole file's length and SHA-256 (hex), as declared when the upload was created.
    length = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    issued_on = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    # How many bytes have been received in good chunks: where the next chunk starts.
    offset = models.BigIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVING)
    # Why it failed (the validation message), or expired.
    error = models.CharField(max_length=1000, blank=True)
    evidence = models.ForeignKey(
        Evidence, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["state", "expires_at"], name="resumable_upload_sweep_idx")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.offset}/{self.length})"


class ResumableUploadChunk(models.Model):
    """One good chunk of a resumable upload, stored as its own object until the file is
    assembled."""

    upload = models.ForeignKey(ResumableUpload, on_delete=models.CASCADE, related_name="chunks")
    offset = models.BigIntegerField()
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_name = models.CharField(max_length=500)

    class Meta:
        ordering = ["offset"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "offset"], name="resumable_chunk_offset_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.upload_id} @ {self.offset}"
