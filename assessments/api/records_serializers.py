"""Serializers of the records of an assessment: the vendor's answers, the assessors' ratings and
the evidence files. Every field is declared with its type and nullability, for the schema.

Write serializers only check types: every business rule (the rating's range, text limits, who
may write and when) is the service's, which the views call.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Answer, Evidence, Rating


class SelfAssessmentAnswerSerializer(serializers.ModelSerializer):
    """The vendor's self-assessment of one indicator."""

    indicator = serializers.CharField(source="indicator.code", read_only=True)
    dimension = serializers.CharField(source="indicator.dimension.code", read_only=True)
    self_rating = serializers.IntegerField(allow_null=True, read_only=True)
    self_met = serializers.BooleanField(allow_null=True, read_only=True)
    value = serializers.DecimalField(
        max_digits=14, decimal_places=4, allow_null=True, read_only=True
    )
    explanation = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Answer
        fields = [
            "indicator",
            "dimension",
            "self_rating",
            "self_met",
            "value",
            "explanation",
            "updated_at",
        ]
        read_only_fields = fields


class SelfAssessmentAnswerInputSerializer(serializers.Serializer):
    """One indicator's answer. With PUT, a field left out is cleared (as the page's autosave
    posts the whole row); with PATCH, it keeps its saved value."""

    self_rating = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text="The vendor's rating, 0 to the framework's highest rating; null for none.",
    )
    self_met = serializers.BooleanField(
        allow_null=True,
        required=False,
        help_text="For a mandatory requirement: met (true) or not (false); null for undecided.",
    )
    value = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        allow_null=True,
        required=False,
        help_text="For a quantitative indicator: the measured value.",
    )
    explanation = serializers.CharField(
        allow_blank=True, required=False, help_text="How the platform meets the indicator."
    )


class AssessorRatingSerializer(serializers.ModelSerializer):
    """One assessor's rating of one indicator."""

    id = serializers.IntegerField(read_only=True)
    indicator = serializers.CharField(source="indicator.code", read_only=True)
    dimension = serializers.CharField(source="indicator.dimension.code", read_only=True)
    assignment = serializers.IntegerField(source="assignment_id", read_only=True)
    assessor = serializers.CharField(source="assignment.assessor.username", read_only=True)
    assignment_current = serializers.BooleanField(
        source="assignment.is_current",
        read_only=True,
        help_text="False once the assessor was removed or replaced: the rating no longer counts.",
    )
    rating = serializers.IntegerField(allow_null=True, read_only=True)
    met = serializers.BooleanField(allow_null=True, read_only=True)
    rationale = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Rating
        fields = [
            "id",
            "indicator",
            "dimension",
            "assignment",
            "assessor",
            "assignment_current",
            "rating",
            "met",
            "rationale",
            "updated_at",
        ]
        read_only_fields = fields


class AssessorRatingInputSerializer(serializers.Serializer):
    """One indicator's rating by the requesting assessor. With PUT, a field left out is cleared
    (as the scoring page's autosave); with PATCH, it keeps its saved value."""

    rating = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text="0 to the framework's highest rating; null for none (mandatory requirements).",
    )
    met = serializers.BooleanField(
        allow_null=True,
        required=False,
        help_text="For a mandatory requirement: met (true) or not (false); null for undecided.",
    )
    rationale = serializers.CharField(
        allow_blank=True, required=False, help_text="What the rating rests on."
    )


class EvidenceFileSerializer(serializers.ModelSerializer):
    """An evidence file's record. ``download_url`` serves the file once ``downloadable``."""

    id = serializers.IntegerField(read_only=True)
    assessment = serializers.IntegerField(source="assessment_id", read_only=True)
    indicator = serializers.CharField(source="indicator.code", read_only=True)
    original_name = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text="In bytes.")
    sha256 = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    scan_state = serializers.ChoiceField(choices=Evidence.ScanState.choices, read_only=True)
    downloadable = serializers.BooleanField(
        source="is_downloadable",
        read_only=True,
        help_text="False while the malware scan is pending, or when it failed or found "
        "malicious code: the download then answers 409.",
    )
    version = serializers.IntegerField(read_only=True)
    replaces = serializers.IntegerField(
        source="replaces_id",
        allow_null=True,
        read_only=True,
        help_text="The id of the version this one supersedes.",
    )
    current = serializers.SerializerMethodField(
        help_text="False when a later version of the file supersedes this one."
    )
    uploaded_at = serializers.DateTimeField(read_only=True)
    issued_on = serializers.DateField(allow_null=True, read_only=True)
    valid_until = serializers.DateField(allow_null=True, read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = [
            "id",
            "assessment",
            "indicator",
            "original_name",
            "size",
            "sha256",
            "content_type",
            "scan_state",
            "downloadable",
            "version",
            "replaces",
            "current",
            "uploaded_at",
            "issued_on",
            "valid_until",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_current(self, obj: Evidence) -> bool:
        # Annotated by the list's queryset (``superseded``); one query otherwise.
        superseded = getattr(obj, "superseded", None)
        if superseded is None:
            superseded = Evidence.objects.filter(replaces=obj).exists()
        return not superseded

    @extend_schema_field(serializers.CharField())
    def get_download_url(self, obj: Evidence) -> str:
        return reverse("assessments_records_api:evidence_download", args=[obj.pk])


class EvidenceFileUploadSerializer(serializers.Serializer):
    """A multipart upload of one evidence file for one indicator."""

    file = serializers.FileField(
        allow_empty_file=True,  # the service refuses an empty file, naming it
        help_text="The file (PDF, Office, image, text, CSV or ZIP).",
    )
    indicator = serializers.CharField(help_text="The indicator's code, e.g. 1.1.")
    issued_on = serializers.DateField(
        allow_null=True, required=False, help_text="When the document was issued."
    )
    valid_until = serializers.DateField(
        allow_null=True, required=False, help_text="Until when the document is valid."
    )
