"""What the reports API answers: score results, certified reports, published rankings and the
public verification of a report.

Scores come from a ``ScoreResult``'s stored breakdown (decimals as strings, as stored); rankings
from ``exports.presentation`` of the published snapshot, the very object the public page draws,
so that a list published without scores shows none here either; verification from the same
report content the public page reads, and no more.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reports.models import Ranking, Report
from reports.rankings.models import list_titles

DECIMAL_HELP = 'A decimal as a string, as computed (e.g. "85.00").'

# ----------------------------------------------------------------------------------------------
# Score results


class LevelRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_zh = serializers.CharField(allow_blank=True)
    name_en = serializers.CharField(allow_blank=True)


class ScoreFrameworkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    version = serializers.CharField()
    kind = serializers.CharField()


class ScoreDimensionSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_zh = serializers.CharField(allow_blank=True)
    name_en = serializers.CharField(allow_blank=True)
    weight = serializers.CharField(allow_null=True, help_text=DECIMAL_HELP)
    points = serializers.CharField(allow_null=True, help_text=DECIMAL_HELP)
    share = serializers.CharField(
        allow_null=True,
        help_text="Percent: the points of the dimension's weight (without weights: the share "
        "of its items satisfied). " + DECIMAL_HELP,
    )
    items = serializers.IntegerField()
    satisfied = serializers.IntegerField()


class ScoreIndicatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    dimension = serializers.CharField(help_text="The code of the indicator's dimension.")
    name_zh = serializers.CharField(allow_blank=True)
    name_en = serializers.CharField(allow_blank=True)
    requirement_type = serializers.CharField(allow_blank=True)
    is_key = serializers.BooleanField()
    weight = serializers.CharField(allow_null=True, help_text=DECIMAL_HELP)
    rating = serializers.CharField(
        allow_null=True, help_text="The consolidated rating. " + DECIMAL_HELP
    )
    met = serializers.BooleanField(allow_null=True, help_text="Mandatory items: met or not.")
    settled = serializers.BooleanField(help_text="The review lead settled this rating.")
    scored_rating = serializers.CharField(
        allow_null=True, help_text="The rating the points are computed from. " + DECIMAL_HELP
    )
    points = serializers.CharField(allow_null=True, help_text=DECIMAL_HELP)
    satisfied = serializers.BooleanField()


class ScoreVetoSerializer(serializers.Serializer):
    code = serializers.CharField()
    description_zh = serializers.CharField(allow_blank=True)
    description_en = serializers.CharField(allow_blank=True)
    cap_level = serializers.CharField(
        allow_null=True, help_text="The level the veto caps the result at (None: no level)."
    )
    applies = serializers.BooleanField()


class ScoreResultSerializer(serializers.Serializer):
    """The current score of an assessment (built by ``views.score_payload``)."""

    assessment = serializers.IntegerField(help_text="The assessment's id.")
    version = serializers.IntegerField(help_text="Results are versioned: 1, 2, … per assessment.")
    method = serializers.CharField(help_text="The scoring method's version.")
    inputs_sha256 = serializers.CharField(
        help_text="SHA-256 of the scoring inputs: the same inputs always give this result."
    )
    computed_at = serializers.DateTimeField()
    current_since = serializers.DateTimeField()
    framework = ScoreFrameworkSerializer()
    total = serializers.CharField(allow_null=True, help_text=DECIMAL_HELP)
    total_share = serializers.CharField(
        allow_null=True, help_text="Percent of the total weight. " + DECIMAL_HELP
    )
    level = LevelRefSerializer(
        allow_null=True, help_text="The level reached; None: below the lowest level."
    )
    level_before_veto = LevelRefSerializer(allow_null=True)
    passed = serializers.BooleanField(
        allow_null=True, help_text="Trusted-platform catalogs: passed or not (None otherwise)."
    )
    vetoed = serializers.BooleanField(help_text="A veto (一票否决) applies.")
    dimensions = ScoreDimensionSerializer(many=True)
    indicators = ScoreIndicatorSerializer(many=True)
    vetoes = ScoreVetoSerializer(many=True)


# ----------------------------------------------------------------------------------------------
# Certified reports


class CertifiedReportSerializer(serializers.ModelSerializer):
    """A certified report as its readers see it. ``state`` says where its PDF is (poll until
    ``ready``), ``status`` whether it is in force."""

    assessment = serializers.IntegerField(source="assessment_id")
    campaign = serializers.IntegerField(source="assessment.campaign_id")
    cloud = serializers.CharField(source="assessment.cloud.name")
    state = serializers.ChoiceField(
        choices=Report.State.choices,
        help_text="Where the PDF is: pending → rendering → ready | failed.",
    )
    status = serializers.ChoiceField(
        choices=Report.Status.choices, help_text="Whether the report is in force."
    )
    sha256 = serializers.SerializerMethodField(help_text="SHA-256 of the PDF, once ready.")
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the PDF, once ready.")
    valid_until = serializers.SerializerMethodField(
        help_text="The last day the report is valid (None: issued without one)."
    )
    supersedes = serializers.CharField(
        source="supersedes.number",
        allow_null=True,
        help_text="The number of the report it replaced.",
    )
    verification_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="None until the PDF is ready.")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "number",
            "year",
            "assessment",
            "campaign",
            "cloud",
            "language",
            "state",
            "status",
            "issued_at",
            "rendered_at",
            "sha256",
            "size",
            "valid_until",
            "supersedes",
            "superseded_at",
            "revoked_at",
            "revocation_reason",
            "verification_code",
            "verification_url",
            "download_url",
            "url",
        ]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sha256(self, report: Report) -> str | None:
        return report.sha256 or None

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_valid_until(self, report: Report) -> str | None:
        # Annotated by the views (the content itself is deferred).
        value = getattr(report, "valid_until_iso", None)
        return value or None

    @extend_schema_field(OpenApiTypes.URI)
    def get_verification_url(self, report: Report) -> str:
        return self._absolute(reverse("certified:verify", args=[report.verification_code]))

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, report: Report) -> str | None:
        if not report.is_ready:
            return None
        return self._absolute(reverse("reports_api:report_download", args=[report.pk]))

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, report: Report) -> str:
        return self._absolute(reverse("reports_api:report_detail", args=[report.pk]))


class CertifiedReportIssueSerializer(serializers.Serializer):
    language = serializers.ChoiceField(
        choices=Report.Language.choices,
        default=Report.Language.CHINESE,
        help_text="The report's language (one report in force per language).",
    )


# ----------------------------------------------------------------------------------------------
# Rankings


KIND_HELP = "top_ten (十佳政务云) or awards (trusted-platform awards)."


class RankingSummarySerializer(serializers.ModelSerializer):
    """The latest published version of a ranking, from its row and its snapshot."""

    # Plain strings: an enum named "kind" would collide with the catalogs' in the schema.
    kind = serializers.CharField(help_text=KIND_HELP)
    state = serializers.ChoiceField(
        choices=[(Ranking.State.NOTICE, "notice"), (Ranking.State.FINAL, "final")],
        help_text="notice: published for public notice (公示); final: the final list.",
    )

    campaign = serializers.IntegerField(source="campaign_id")
    campaign_name = serializers.CharField(source="snapshot_campaign", allow_blank=True)
    title = serializers.CharField(source="snapshot_title", allow_blank=True)
    title_en = serializers.CharField(source="snapshot_title_en", allow_blank=True)
    version = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    scores_shown = serializers.SerializerMethodField(
        help_text="False: the list was published grouped by level, without scores or positions."
    )
    listed = serializers.SerializerMethodField(help_text="How many clouds the list names.")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Ranking
        fields = [
            "id",
            "year",
            "slug",
            "kind",
            "state",
            "version",
            "campaign",
            "campaign_name",
            "title",
            "title_en",
            "is_demo",
            "scores_shown",
            "listed",
            "published_at",
            "notice_starts_on",
            "notice_ends_on",
            "url",
        ]

    def to_representation(self, instance: Ranking) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        for name in ("title", "title_en", "campaign_name"):
            data[name] = data[name] or ""
        # A format-1 snapshot titled its notice list like the final list that follows it (as
        # ``rankings.selectors.published_index`` reads it).
        if (
            instance.state == Ranking.State.NOTICE
            and int(getattr(instance, "snapshot_format", None) or 1) < 2
        ):
            data["title"], data["title_en"] = list_titles(
                kind=instance.kind, year=instance.year, demo=instance.is_demo, notice=True
            )
        return data

    def get_listed(self, ranking: Ranking) -> int:
        return int(getattr(ranking, "snapshot_listed", None) or 0)

    def get_scores_shown(self, ranking: Ranking) -> bool:
        return ranking.public_form == Ranking.PublicForm.RANKED

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, ranking: Ranking) -> str:
        path = reverse("reports_api:ranking_detail", args=[ranking.year, ranking.slug])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class RankingDimensionSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_zh = serializers.CharField(allow_blank=True)
    name_en = serializers.CharField(allow_blank=True)
    share = serializers.CharField(allow_null=True, help_text="None when scores are hidden.")
    points = serializers.CharField(allow_null=True, help_text="None when scores are hidden.")


class RankingChangeSerializer(serializers.Serializer):
    listed_years = serializers.IntegerField(help_text="Editions in a row listing the cloud.")
    is_new = serializers.BooleanField(help_text="Newly listed (新上榜).")
    previous_position = serializers.IntegerField(allow_null=True)
    moved = serializers.IntegerField(allow_null=True, help_text="Positive: up that many places.")
    delta_total = serializers.CharField(allow_null=True, help_text=DECIMAL_HELP)


class RankingEntrySerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The cloud's name in the request's language.")
    owner = serializers.CharField(allow_blank=True)
    division_code = serializers.CharField(allow_blank=True)
    vendors = serializers.ListField(child=serializers.CharField())
    level = serializers.CharField(allow_blank=True, help_text="The level's name.")
    position = serializers.IntegerField(allow_null=True, help_text="None when scores are hidden.")
    tied = serializers.BooleanField()
    total = serializers.CharField(allow_null=True, help_text="None when scores are hidden.")
    dimensions = RankingDimensionSerializer(many=True)
    change = RankingChangeSerializer(
        allow_null=True, help_text="None: no previous edition to compare with."
    )
    verification_code = serializers.CharField(allow_null=True)
    verification_url = serializers.URLField(allow_null=True)
    adjusted = serializers.CharField(
        allow_null=True, help_text='A tie decision: moved "in" or "out" of the list.'
    )


class RankingPoolSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(help_text="The pool's name in the request's language.")
    quota = serializers.IntegerField()
    entries = RankingEntrySerializer(many=True)


class RankingAwardSerializer(serializers.Serializer):
    vendor = serializers.CharField()
    entries = RankingEntrySerializer(many=True)


class RankingMoveSerializer(serializers.Serializer):
    cloud = serializers.CharField()
    from_position = serializers.IntegerField(allow_null=True)
    to_position = serializers.IntegerField(allow_null=True)


class RankingVersionChangesSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    moved = RankingMoveSerializer(many=True)


class RankingDetailSerializer(serializers.Serializer):
    """A published version as the public page shows it (built by ``views.ranking_payload``)."""

    year = serializers.IntegerField()
    slug = serializers.CharField()
    kind = serializers.CharField(help_text=KIND_HELP)
    state = serializers.CharField(
        help_text="notice: published for public notice (公示); final: the final list."
    )
    version = serializers.IntegerField()
    latest_version = serializers.IntegerField()
    is_latest = serializers.BooleanField()
    versions = serializers.ListField(
        child=serializers.IntegerField(), help_text="Every published version, newest first."
    )
    title = serializers.CharField(help_text="In the request's language.")
    campaign_name = serializers.CharField(allow_blank=True)
    demo = serializers.BooleanField()
    scores_shown = serializers.BooleanField()
    published_at = serializers.DateTimeField()
    notice_starts_on = serializers.DateField(allow_null=True)
    notice_ends_on = serializers.DateField(allow_null=True)
    notice_phase = serializers.ChoiceField(
        choices=[
            ("-", "no notice"),
            ("upcoming", "upcoming"),
            ("running", "running"),
            ("ended", "ended"),
            ("closed", "closed"),
        ],
        help_text='Where the public notice (公示) stands today: "-" for none.',
    )
    min_level = serializers.CharField(allow_blank=True)
    previous_year = serializers.IntegerField(allow_null=True)
    compared = serializers.BooleanField(
        help_text="The change in position and score against the previous year is shown."
    )
    changes = RankingVersionChangesSerializer(allow_null=True)
    change_note = serializers.CharField(allow_blank=True)
    snapshot_sha256 = serializers.CharField()
    pools = RankingPoolSerializer(many=True)
    awards = RankingAwardSerializer(many=True)


# ----------------------------------------------------------------------------------------------
# Verification


class VerifyReportSerializer(serializers.Serializer):
    """What the public verification page shows about a report."""

    number = serializers.CharField()
    verification_code = serializers.CharField()
    validity = serializers.ChoiceField(
        choices=[
            ("valid", "valid"),
            ("preparing", "issued, file being prepared"),
            ("expired", "expired"),
            ("superseded", "superseded"),
            ("revoked", "revoked"),
        ],
        help_text="The page's verdict on the report: valid, or why not.",
    )
    status = serializers.ChoiceField(choices=Report.Status.choices)
    file_ready = serializers.BooleanField()
    cloud = serializers.CharField(allow_blank=True)
    owner = serializers.CharField(allow_blank=True)
    campaign = serializers.CharField(allow_blank=True)
    passed = serializers.BooleanField(
        allow_null=True, help_text="Trusted-platform reports: passed or not (None otherwise)."
    )
    level = LevelRefSerializer(
        allow_null=True, help_text="None: below the lowest level, or a pass/fail report."
    )
    total = serializers.CharField(allow_null=True, help_text=DECIMAL_HELP)
    issued_on = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True)
    expired = serializers.BooleanField()
    revoked_on = serializers.DateField(allow_null=True)
    revocation_reason = serializers.CharField(allow_blank=True)
    superseded_on = serializers.DateField(allow_null=True)
    superseded_by = serializers.CharField(
        allow_null=True, help_text="The replacing report's number."
    )
    supersedes = serializers.CharField(allow_null=True)
    sha256 = serializers.CharField(allow_null=True)
    demo = serializers.BooleanField()
    verification_url = serializers.URLField()


class VerifyUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The PDF to compare with the issued report.")


VERDICTS = [
    ("identical", "Genuine: byte for byte the issued report"),
    ("genuine_other_file", "Genuine signature, but not the file issued under this number"),
    ("modified", "Modified after signing"),
    ("other_certificate", "Signed by another certificate"),
    ("not_signed", "Not signed"),
    ("not_pdf", "Not a PDF file"),
]


class VerifyComparisonSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=VERDICTS)
    title = serializers.CharField(help_text="The verdict in the request's language.")
    matches = serializers.BooleanField(help_text="The file is byte for byte the issued one.")
    uploaded_name = serializers.CharField(allow_blank=True)
    uploaded_sha256 = serializers.CharField()
    modification = serializers.ChoiceField(
        choices=[
            ("signed_bytes", "bytes the signature covers were changed"),
            ("appended", "content was added after signing"),
            ("signature_damaged", "the signature cannot be read or verified"),
        ],
        allow_null=True,
    )
    signer = serializers.CharField(allow_null=True, help_text="The signing certificate's subject.")
    signed_at = serializers.DateTimeField(
        allow_null=True, help_text="The signing time as the signer states it."
    )
    timestamped_at = serializers.DateTimeField(allow_null=True)
    document_timestamp = serializers.BooleanField()
    document_timestamped_at = serializers.DateTimeField(allow_null=True)
    report = VerifyReportSerializer()


def level_of(value: Any) -> dict[str, str] | None:
    """A level reference of a breakdown, complete, or None."""
    if not isinstance(value, dict) or not value.get("code"):
        return None
    return {
        "code": str(value["code"]),
        "name_zh": str(value.get("name_zh") or ""),
        "name_en": str(value.get("name_en") or ""),
    }
