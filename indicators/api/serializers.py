"""Read-only serializers of catalogs. Every field is declared, so a schema can be generated."""

from __future__ import annotations

from django.db.models import Model
from rest_framework import serializers
from rest_framework.request import Request

from indicators.models import (
    Dimension,
    Framework,
    Indicator,
    LevelRule,
    RubricLevel,
    TrustedPassRule,
    VetoRule,
)


class RatingNameSerializer(serializers.Serializer):
    rating = serializers.IntegerField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField(allow_blank=True)


class RubricLevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = RubricLevel
        fields = ["rating", "text_zh", "text_en", "anchor"]
        read_only_fields = fields


class IndicatorSerializer(serializers.ModelSerializer):
    evidence_methods = serializers.ListField(child=serializers.CharField(max_length=1))
    # Blank for the indicators of the other kind of framework: declared so the schema says so.
    requirement_type = serializers.ChoiceField(
        choices=Indicator.RequirementType.choices, allow_blank=True, read_only=True
    )
    direction = serializers.ChoiceField(
        choices=Indicator.Direction.choices, allow_blank=True, read_only=True
    )
    rubric = RubricLevelSerializer(many=True, read_only=True)

    class Meta:
        model = Indicator
        fields = [
            "code",
            "order",
            "name_zh",
            "name_en",
            "description_zh",
            "description_en",
            "weight",
            "is_key",
            "requirement_type",
            "evidence_methods",
            "unit",
            "direction",
            "interpolate",
            "rubric",
        ]
        read_only_fields = fields


class DimensionSerializer(serializers.ModelSerializer):
    indicators = IndicatorSerializer(many=True, read_only=True)

    class Meta:
        model = Dimension
        fields = ["code", "order", "name_zh", "name_en", "weight", "indicators"]
        read_only_fields = fields


class LevelRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = LevelRule
        fields = [
            "code",
            "order",
            "name_zh",
            "name_en",
            "min_total",
            "min_dimension_share",
            "min_key_rating",
        ]
        read_only_fields = fields


class VetoRuleSerializer(serializers.ModelSerializer):
    cap_level: serializers.SlugRelatedField[LevelRule] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = VetoRule
        fields = ["code", "description_zh", "description_en", "cap_level"]
        read_only_fields = fields


class TrustedPassRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrustedPassRule
        fields = [
            "require_all_mandatory",
            "min_graded_share",
            "min_graded_rating",
            "validity_months",
        ]
        read_only_fields = fields


class FrameworkUrlField(serializers.HyperlinkedIdentityField):
    """The API address of one version: ``/api/v1/frameworks/{code}/{version}/``."""

    def get_url(
        self,
        obj: Model,
        view_name: str,
        request: Request,
        format: str | None,  # noqa: A002
    ) -> str:
        # Declared on framework serializers only: the object is always a Framework.
        assert isinstance(obj, Framework)
        return self.reverse(
            view_name,
            kwargs={"code": obj.code, "version": obj.version},
            request=request,
            format=format,
        )


class FrameworkSummarySerializer(serializers.ModelSerializer):
    url = FrameworkUrlField(view_name="indicators_api:framework_detail")

    class Meta:
        model = Framework
        fields = [
            "url",
            "code",
            "version",
            "kind",
            "state",
            "name_zh",
            "name_en",
            "max_rating",
            "total_weight",
            "created_at",
            "published_at",
            "retired_at",
        ]
        read_only_fields = fields


class FrameworkDetailSerializer(serializers.ModelSerializer):
    ratings = RatingNameSerializer(source="rating_names", many=True, read_only=True)
    unrated_level = serializers.SerializerMethodField()
    dimensions = DimensionSerializer(many=True, read_only=True)
    levels = LevelRuleSerializer(many=True, read_only=True)
    vetoes = VetoRuleSerializer(many=True, read_only=True)
    pass_rule = serializers.SerializerMethodField()

    class Meta:
        model = Framework
        fields = [
            "code",
            "version",
            "kind",
            "state",
            "name_zh",
            "name_en",
            "provenance",
            "max_rating",
            "total_weight",
            "ratings",
            "unrated_level",
            "content_sha256",
            "created_at",
            "published_at",
            "retired_at",
            "dimensions",
            "levels",
            "vetoes",
            "pass_rule",
        ]
        read_only_fields = fields

    def get_unrated_level(self, framework: Framework) -> dict[str, str] | None:
        if not framework.unrated_name_zh:
            return None
        return {"name_zh": framework.unrated_name_zh, "name_en": framework.unrated_name_en}

    def get_pass_rule(self, framework: Framework) -> dict | None:
        try:
            rule = framework.pass_rule
        except TrustedPassRule.DoesNotExist:
            return None
        return TrustedPassRuleSerializer(rule).data
