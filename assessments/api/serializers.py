"""Serializers of the workflow API: campaigns, clouds, assessments and the bodies of their
actions. Every field is declared with its type and nullability, so that the schema says exactly
what a response holds."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from indicators.models import Framework

from ..models import Answer, Assessment, Assignment, Campaign, Cloud
from ..selectors import NextActions

# The largest id (the primary keys are 64-bit).
MAX_ID = 2**63 - 1

# ----------------------------------------------------------------------------------------------
# The states, as named schema components (AssessmentState, CampaignState): one choice set each,
# whatever the number of serializers that show it.


class AssessmentStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Assessment.State.choices, **kwargs)


class CampaignStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Campaign.State.choices, **kwargs)


class AssessmentStateFieldExtension(OpenApiSerializerFieldExtension):
    target_class = AssessmentStateField

    def get_name(self) -> str:
        return "AssessmentState"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {
            "type": "string",
            "enum": list(Assessment.State.values),
            "description": "draft → submitted → in_review → scored → approved; returned "
            "(back to the vendor); excluded (out of the campaign).",
        }


class CampaignStateFieldExtension(OpenApiSerializerFieldExtension):
    target_class = CampaignStateField

    def get_name(self) -> str:
        return "CampaignState"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {
            "type": "string",
            "enum": list(Campaign.State.values),
            "description": "draft → open → reviewing → closed, one step at a time.",
        }


# ----------------------------------------------------------------------------------------------
# Clouds


class CloudSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.name", read_only=True)
    division_code = serializers.CharField(source="owner.division_code", read_only=True)

    class Meta:
        model = Cloud
        fields = ["id", "name", "name_en", "owner", "division_code", "level", "is_demo"]
        read_only_fields = fields


class OrganisationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class CloudDetailSerializer(CloudSerializer):
    """A cloud of the register, with its vendors and its number of campaigns."""

    vendors = OrganisationRefSerializer(many=True, read_only=True)
    n_campaigns = serializers.IntegerField(read_only=True, help_text="Campaigns it is in.")

    class Meta(CloudSerializer.Meta):
        fields = [
            *CloudSerializer.Meta.fields,
            "on_extranet",
            "on_internet",
            "archived_at",
            "created_at",
            "vendors",
            "n_campaigns",
        ]
        read_only_fields = fields


# ----------------------------------------------------------------------------------------------
# Campaigns


class CampaignSerializer(serializers.ModelSerializer):
    framework_code = serializers.CharField(source="framework.code", read_only=True)
    framework_version = serializers.CharField(source="framework.version", read_only=True)
    state = CampaignStateField(read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "year",
            "state",
            "framework_code",
            "framework_version",
            "opens_on",
            "closes_on",
        ]
        read_only_fields = fields


class CampaignProgressSerializer(serializers.Serializer):
    """The number of the campaign's assessments in every state (read from annotations)."""

    total = serializers.IntegerField(source="n_total", read_only=True)
    draft = serializers.IntegerField(source="n_draft", read_only=True)
    submitted = serializers.IntegerField(source="n_submitted", read_only=True)
    in_review = serializers.IntegerField(source="n_in_review", read_only=True)
    returned = serializers.IntegerField(source="n_returned", read_only=True)
    scored = serializers.IntegerField(source="n_scored", read_only=True)
    approved = serializers.IntegerField(source="n_approved", read_only=True)
    excluded = serializers.IntegerField(source="n_excluded", read_only=True)


class CampaignDetailSerializer(CampaignSerializer):
    """A campaign with its deadlines and its progress."""

    progress = CampaignProgressSerializer(source="*", read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [
            *CampaignSerializer.Meta.fields,
            "reference_date",
            "assessors_per_assessment",
            "scoring_due_on",
            "is_demo",
            "created_at",
            "progress",
        ]
        read_only_fields = fields


class CampaignUpdateSerializer(serializers.Serializer):
    """What may change in a campaign: its name, dates and number of assessors."""

    name = serializers.CharField(max_length=200, required=False)
    opens_on = serializers.DateField(required=False)
    closes_on = serializers.DateField(required=False)
    reference_date = serializers.DateField(
        required=False, allow_null=True, help_text="Evidence must still be valid on this day."
    )
    assessors_per_assessment = serializers.IntegerField(min_value=1, max_value=5, required=False)
    scoring_due_on = serializers.DateField(
        required=False, allow_null=True, help_text="The assessors' deadline."
    )

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("Give the campaign a name."))
        return value


class CampaignCreateSerializer(CampaignUpdateSerializer):
    """A new campaign, in draft, on a published framework version."""

    name = serializers.CharField(max_length=200)
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    framework_code = serializers.CharField(max_length=100)
    framework_version = serializers.CharField(max_length=100)
    opens_on = serializers.DateField()
    closes_on = serializers.DateField()
    assessors_per_assessment = serializers.IntegerField(min_value=1, max_value=5, default=2)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        framework = Framework.objects.filter(
            code=attrs["framework_code"],
            version=attrs["framework_version"],
            state=Framework.State.PUBLISHED,
        ).first()
        if framework is None:
            raise serializers.ValidationError(
                {"framework_code": [_("No published framework version has this code and version.")]}
            )
        attrs["framework"] = framework
        return attrs


class CampaignStateChangeSerializer(serializers.Serializer):
    state = CampaignStateField(help_text="The next state: open, reviewing or closed.")


class CampaignCloudsSerializer(serializers.Serializer):
    clouds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=False,
        max_length=1000,
        help_text="Ids of the clouds to add (clouds already in the campaign are left as they are).",
    )
    due_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="The self-assessment deadline of the clouds added; required once the review "
        "has started.",
    )


# ----------------------------------------------------------------------------------------------
# Assessments


@extend_schema_serializer(component_name="AssessmentAnswer")
class AnswerSerializer(serializers.ModelSerializer):
    """A self-assessment answer, as the assessment's detail shows it."""

    indicator = serializers.CharField(source="indicator.code", read_only=True)

    class Meta:
        model = Answer
        fields = ["indicator", "self_rating", "self_met", "value", "explanation", "updated_at"]
        read_only_fields = fields


class AssessmentListSerializer(serializers.ModelSerializer):
    cloud = CloudSerializer(read_only=True)
    campaign = CampaignSerializer(read_only=True)
    state = AssessmentStateField(read_only=True)
    due_on = serializers.DateField(
        read_only=True, help_text="The vendor's deadline for the self-assessment."
    )
    excluded = serializers.SerializerMethodField(help_text="Excluded from the campaign.")

    class Meta:
        model = Assessment
        fields = [
            "id",
            "state",
            "cloud",
            "campaign",
            "submitted_at",
            "approved_at",
            "due_on",
            "self_assessment_due_on",
            "excluded",
            "excluded_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_excluded(self, assessment: Assessment) -> bool:
        return assessment.state == Assessment.State.EXCLUDED


class NextActionSerializer(serializers.Serializer):
    action = serializers.CharField(
        read_only=True,
        help_text="approve, return, reopen, assign, replace, exclude, include (admins); answer, "
        "submit (the vendor); rate, submit_scores (the assigned assessor).",
    )
    title = serializers.CharField(read_only=True, help_text="What the page's button says.")
    allowed = serializers.BooleanField(read_only=True)
    reason = serializers.CharField(read_only=True, help_text="Why not, when not allowed.")


class AssignmentSerializer(serializers.ModelSerializer):
    assessor = serializers.IntegerField(source="assessor_id", read_only=True)
    assessor_name = serializers.CharField(source="assessor.__str__", read_only=True)
    state = serializers.CharField(read_only=True, help_text="scoring or submitted.")

    class Meta:
        model = Assignment
        fields = [
            "id",
            "assessor",
            "assessor_name",
            "state",
            "assigned_at",
            "submitted_at",
            "removed_at",
            "removed_reason",
        ]
        read_only_fields = fields


class AssessmentDetailSerializer(AssessmentListSerializer):
    """One assessment, its answers, and what the requesting user can do next with it.

    The view passes ``next_actions`` (``selectors.next_actions``) and, for users who manage
    assessors, the ``assignments`` in the serializer's context."""

    answers = AnswerSerializer(many=True, read_only=True)
    summary = serializers.SerializerMethodField()
    notice = serializers.SerializerMethodField()
    next_actions = serializers.SerializerMethodField()
    assignments = serializers.SerializerMethodField()

    class Meta(AssessmentListSerializer.Meta):
        fields = [
            *AssessmentListSerializer.Meta.fields,
            "excluded_reason",
            "summary",
            "notice",
            "next_actions",
            "assignments",
            "answers",
        ]
        read_only_fields = fields

    def _next(self) -> NextActions | None:
        found = self.context.get("next_actions")
        return found if isinstance(found, NextActions) else None

    @extend_schema_field(serializers.CharField(help_text="Where the assessment stands."))
    def get_summary(self, assessment: Assessment) -> str:
        found = self._next()
        return found.summary if found else ""

    @extend_schema_field(
        serializers.CharField(help_text="For the vendor: why it was returned or reopened.")
    )
    def get_notice(self, assessment: Assessment) -> str:
        found = self._next()
        return found.notice if found else ""

    @extend_schema_field(NextActionSerializer(many=True))
    def get_next_actions(self, assessment: Assessment) -> list[dict[str, Any]]:
        found = self._next()
        if found is None:
            return []
        return [
            {"action": a.key, "title": str(a.label), "allowed": a.allowed, "reason": a.reason}
            for a in found.actions
        ]

    @extend_schema_field(
        AssignmentSerializer(
            many=True, help_text="The assessors, current and removed (for admins only)."
        )
    )
    def get_assignments(self, assessment: Assessment) -> list[dict[str, Any]]:
        assignments = self.context.get("assignments") or []
        return list(AssignmentSerializer(assignments, many=True).data)


# ----------------------------------------------------------------------------------------------
# The bodies of the workflow's actions


class ReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="Why it goes back to the vendor."
    )
    due_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="A new deadline for the vendor; required when the current one has passed.",
    )


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="Why it is reopened (the vendor reads it).",
    )
    due_on = serializers.DateField(help_text="The vendor's new deadline (today or later).")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False)


class AssignSerializer(serializers.Serializer):
    assessor = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The assessor's user id."
    )


class AssignmentRemoveSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False)
    replacement = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="The user id of an assessor who takes over; empty: only remove.",
    )
