from __future__ import annotations

from rest_framework import serializers

from ..models import Answer, Assessment, Campaign, Cloud


class CloudSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.name")
    division_code = serializers.CharField(source="owner.division_code")

    class Meta:
        model = Cloud
        fields = ["id", "name", "name_en", "owner", "division_code", "level", "is_demo"]


class CampaignSerializer(serializers.ModelSerializer):
    framework_code = serializers.CharField(source="framework.code")
    framework_version = serializers.CharField(source="framework.version")

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


class AnswerSerializer(serializers.ModelSerializer):
    indicator = serializers.CharField(source="indicator.code")

    class Meta:
        model = Answer
        fields = ["indicator", "self_rating", "self_met", "value", "explanation", "updated_at"]


class AssessmentListSerializer(serializers.ModelSerializer):
    cloud = CloudSerializer()
    campaign = CampaignSerializer()

    class Meta:
        model = Assessment
        fields = ["id", "state", "cloud", "campaign", "submitted_at", "approved_at"]


class AssessmentDetailSerializer(AssessmentListSerializer):
    answers = AnswerSerializer(many=True)

    class Meta(AssessmentListSerializer.Meta):
        fields = [*AssessmentListSerializer.Meta.fields, "answers"]
