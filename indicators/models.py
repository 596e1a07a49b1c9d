"""Indicator catalogs: versioned frameworks held as data.

A framework is one version of one standard (the comprehensive evaluation, or the trusted-platform
requirements). Everything a standard says (names, weights, rubrics, level and pass rules) lives
in these rows, loaded from catalog files; nothing about a particular standard is in the code.

A framework is written only while it is a draft. Publishing freezes it: the services refuse to
change it, and the admin shows it read-only. Changing a published framework means a new version.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class EvidenceMethod(models.TextChoices):
    """How evidence for an indicator is gathered; stored as the one-letter code."""

    QUESTIONNAIRE = "Q", _("Questionnaire")
    DOCUMENT_REVIEW = "D", _("Document review")
    SITE_INSPECTION = "S", _("On-site inspection")
    SYSTEM_TEST = "T", _("System test or platform data")
    INTERVIEW = "I", _("Interview")
    USER_SURVEY = "U", _("User survey")


class Framework(models.Model):
    """One version of one evaluation standard."""

    class Kind(models.TextChoices):
        COMPREHENSIVE = "comprehensive", _("Comprehensive evaluation")
        TRUSTED_PLATFORM = "trusted_platform", _("Trusted-platform evaluation")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    code = models.CharField(
        _("code"), max_length=64, validators=[RegexValidator(CODE_PATTERN)], db_index=True
    )
    version = models.CharField(
        _("version"), max_length=32, validators=[RegexValidator(VERSION_PATTERN)]
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name_zh = models.CharField(_("Chinese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    provenance = models.TextField(_("provenance"), blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    max_rating = models.PositiveSmallIntegerField(
        _("highest rating"), default=3, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    # None means the framework carries no weights (the trusted-platform requirements).
    total_weight = models.DecimalField(
        _("total weight"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        default=Decimal(100),
    )
    # Names of each rating 0..max_rating: [{"rating": 0, "name_zh": "未达标", "name_en": ...}].
    rating_names = models.JSONField(_("rating names"), default=list, blank=True)
    # What a result below the lowest level is called (未达级).
    unrated_name_zh = models.CharField(_("name below the lowest level"), max_length=50, blank=True)
    unrated_name_en = models.CharField(
        _("English name below the lowest level"), max_length=50, blank=True
    )
    # How long a certified report of this framework is valid after its approval. For the
    # trusted platform the catalog defaults it to the pass rule's validity, and never beyond it.
    report_validity_months = models.PositiveSmallIntegerField(
        _("report validity in months"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
    )
    # SHA-256 of the normalised catalog document: importing the same content twice is a no-op.
    content_sha256 = models.CharField(_("content SHA-256"), max_length=64, blank=True)
    source_filename = models.CharField(_("source file"), max_length=255, blank=True)
    based_on = models.ForeignKey(
        "self",
        verbose_name=_("based on"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        ordering = ["code", "-created_at", "-id"]
        verbose_name = _("framework")
        verbose_name_plural = _("frameworks")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="framework_code_version_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.name_zh} {self.version}"

    @property
    def is_editable(self) -> bool:
        """Only drafts may change; published and retired versions are frozen."""
        return self.state == self.State.DRAFT

    @property
    def is_comprehensive(self) -> bool:
        return self.kind == self.Kind.COMPREHENSIVE

    @property
    def is_trusted_platform(self) -> bool:
        return self.kind == self.Kind.TRUSTED_PLATFORM


class Dimension(models.Model):
    """A dimension (维度) of the comprehensive evaluation, or a domain of the trusted platform."""

    framework = models.ForeignKey(
        Framework,
        verbose_name=_("framework"),
        on_delete=models.CASCADE,
        related_name="dimensions",
    )
    order = models.PositiveSmallIntegerField(_("order"))
    code = models.CharField(_("code"), max_length=32)
    name_zh = models.CharField(_("Chinese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    weight = models.DecimalField(
        _("weight"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )

    class Meta:
        ordering = ["framework", "order"]
        verbose_name = _("dimension")
        verbose_name_plural = _("dimensions")
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="dimension_code_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class Indicator(models.Model):
    """An indicator (指标) of a dimension, or a requirement of a trusted-platform domain."""

    class RequirementType(models.TextChoices):
        MANDATORY = "M", _("Mandatory")
        GRADED = "G", _("Graded")

    class Direction(models.TextChoices):
        HIGHER_IS_BETTER = "higher_is_better", _("Higher is better")
        LOWER_IS_BETTER = "lower_is_better", _("Lower is better")

    framework = models.ForeignKey(
        Framework,
        verbose_name=_("framework"),
        on_delete=models.CASCADE,
        related_name="indicators",
    )
    dimension = models.ForeignKey(
        Dimension,
        verbose_name=_("dimension"),
        on_delete=models.CASCADE,
        related_name="indicators",
    )
    order = models.PositiveSmallIntegerField(_("order"))
    code = models.CharField(_("code"), max_length=32)
    name_zh = models.CharField(_("Chinese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)
    description_en = models.TextField(_("English description"), blank=True)
    weight = models.DecimalField(
        _("weight"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    is_key = models.BooleanField(_("key indicator"), default=False)
    requirement_type = models.CharField(
        _("requirement type"), max_length=1, choices=RequirementType.choices, blank=True
    )
    # One-letter EvidenceMethod codes, in the catalog's order: ["T", "D", "S"].
    evidence_methods = models.JSONField(_("evidence methods"), default=list, blank=True)
    # Quantitative indicators: the anchors live on the rubric levels; these say how to read them.
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    direction = models.CharField(
        _("direction"), max_length=20, choices=Direction.choices, blank=True
    )
    interpolate = models.BooleanField(_("interpolate between anchors"), default=False)

    class Meta:
        ordering = ["dimension__order", "order"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="indicator_code_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    @property
    def is_quantitative(self) -> bool:
        return bool(self.direction)

    @property
    def is_mandatory(self) -> bool:
        return self.requirement_type == self.RequirementType.MANDATORY


class RubricLevel(models.Model):
    """What one rating of an indicator means, with its anchor value if quantitative."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="rubric"
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    text_zh = models.TextField(_("Chinese text"))
    text_en = models.TextField(_("English text"), blank=True)
    anchor = models.DecimalField(
        _("anchor value"), max_digits=14, decimal_places=4, null=True, blank=True
    )

    class Meta:
        ordering = ["indicator", "rating"]
        verbose_name = _("rubric level")
        verbose_name_plural = _("rubric levels")
        constraints = [
            models.UniqueConstraint(fields=["indicator", "rating"], name="rubric_rating_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} · {self.rating}"


class LevelRule(models.Model):
    """A level (级别) a result reaches when it meets every threshold given here.

    Levels are ordered from the lowest; a threshold left empty does not apply. A result that
    reaches no level is called by the framework's ``unrated_name_zh``.
    """

    framework = models.ForeignKey(
        Framework, verbose_name=_("framework"), on_delete=models.CASCADE, related_name="levels"
    )
    order = models.PositiveSmallIntegerField(_("order"))
    code = models.CharField(_("code"), max_length=32)
    name_zh = models.CharField(_("Chinese name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=50, blank=True)
    min_total = models.DecimalField(_("minimum total"), max_digits=7, decimal_places=2)
    # Share of its weight every dimension must reach, 0..1 (0.6 = 60%).
    min_dimension_share = models.DecimalField(
        _("minimum share of each dimension"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
    )
    min_key_rating = models.PositiveSmallIntegerField(
        _("minimum rating of key indicators"), null=True, blank=True
    )

    class Meta:
        ordering = ["framework", "order"]
        verbose_name = _("level rule")
        verbose_name_plural = _("level rules")
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="level_code_uniq")
        ]

    def __str__(self) -> str:
        return self.name_zh


class VetoRule(models.Model):
    """A one-vote veto (一票否决): when it applies, the level is capped at ``cap_level``.

    An empty ``cap_level`` means the result is not rated at all.
    """

    framework = models.ForeignKey(
        Framework, verbose_name=_("framework"), on_delete=models.CASCADE, related_name="vetoes"
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    code = models.CharField(_("code"), max_length=64)
    description_zh = models.TextField(_("Chinese description"))
    description_en = models.TextField(_("English description"), blank=True)
    cap_level = models.ForeignKey(
        LevelRule,
        verbose_name=_("highest level allowed"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["framework", "order"]
        verbose_name = _("veto rule")
        verbose_name_plural = _("veto rules")
        constraints = [models.UniqueConstraint(fields=["framework", "code"], name="veto_code_uniq")]

    def __str__(self) -> str:
        return self.code


class TrustedPassRule(models.Model):
    """When a trusted-platform evaluation passes, and for how long the pass is valid."""

    framework = models.OneToOneField(
        Framework,
        verbose_name=_("framework"),
        on_delete=models.CASCADE,
        related_name="pass_rule",
    )
    require_all_mandatory = models.BooleanField(_("every mandatory item met"), default=True)
    # Share of graded items that must be rated at least ``min_graded_rating``, 0..1.
    min_graded_share = models.DecimalField(
        _("minimum share of graded items"),
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
    )
    min_graded_rating = models.PositiveSmallIntegerField(
        _("rating a graded item must reach"), default=1
    )
    validity_months = models.PositiveSmallIntegerField(
        _("validity in months"), validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("pass rule")
        verbose_name_plural = _("pass rules")

    def __str__(self) -> str:
        return f"{self.framework} · {self.min_graded_share}"
