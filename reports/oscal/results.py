"""OSCAL assessment-results documents (OSCAL JSON) of an approved assessment and of a
published ranking version.

An approved assessment (``assessment_results``): one result with a finding per indicator of its
framework version (the consolidated rating or met/not met, the points of the current score result
and the rationale), an observation per indicator that has evidence, the current evidence files as
back-matter resources with their SHA-256, the assessors, the approver, the cloud's owner and
vendors as parties with their roles, and the level and total as properties of the result.

A published ranking version (``ranking_results``): one result per listed cloud, built from the
version's public snapshot only (``reports.rankings.snapshot.public_view``), so that a list
published without scores carries none here either.

Every identifier is stable: a UUID (version 5) named by what it identifies (``stable_uuid``), so
that exporting the same assessment twice gives the same document. Properties the OSCAL model does
not define are in the namespace ``NS``. The mapping is documented in ``docs/oscal.md``
("Assessment results").
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from assessments.evidence.selectors import evidence_current
from assessments.models import Assessment, Assignment, Evidence, Rating, Settlement
from assessments.selectors import Consolidated, consolidate, indicators_of
from indicators.models import Indicator
from reports.certified.content import public_base_url
from reports.rankings.models import Ranking
from reports.rankings.snapshot import Snapshot, SnapshotEntry, public_view, shows_scores
from reports.scoring.models import ScoreResult
from reports.scoring.selectors import score_result_current

# The namespace of the portal's own properties (``props[].ns``), and of its UUIDs.
NS = "https://govcloud-eval.example/ns/oscal"
OSCAL_VERSION = "1.1.2"  # as the catalog export (indicators.oscal)
MEDIA_TYPE = "application/json"
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NS)

Json = dict[str, Any]


class NotExportable(Exception):
    """The assessment cannot be exported (yet): not approved, or its score is not computed."""


def stable_uuid(*parts: object) -> str:
    """A version-5 UUID named by ``parts`` (``stable_uuid("assessment", 7, "finding", 12)``):
    the same element always gets the same UUID."""
    return str(uuid.uuid5(_UUID_NAMESPACE, "/".join(str(p) for p in parts)))


def _token(text: str) -> str:
    """``text`` as the rest of an OSCAL token: letters, digits, ``.``, ``-`` and ``_`` only."""
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in text.strip())


def control_id(code: str) -> str:
    """The id of an indicator's control in its framework version's OSCAL catalog export
    (``indicators.oscal``: ``1.2`` → ``c-1.2``)."""
    return f"c-{_token(code)}"


def statement_id(indicator: Indicator) -> str:
    """What a finding is about: the indicator's statement part in the catalog export
    (``c-1.2_smt``), or its rubric part for an indicator without a description (the catalog
    then has no statement)."""
    suffix = "smt" if indicator.description_zh.strip() else "rubric"
    return f"{control_id(indicator.code)}_{suffix}"


def catalog_href(code: str, version: str) -> str:
    """The absolute address of a framework version's OSCAL catalog export, which stands in for
    the assessment plan the OSCAL model requires (``import-ap``)."""
    return f"{public_base_url()}/catalogs/{quote(code, safe='')}/{quote(version, safe='')}/oscal/"


def _absolute(path: str) -> str:
    return public_base_url() + path


def _prop(name: str, value: object, *, group: str | None = None) -> Json:
    found: Json = {"name": name, "ns": NS, "value": str(value)}
    if group:
        found["group"] = group
    return found


def _props(*pairs: tuple[str, object | None]) -> list[Json]:
    """The properties whose value is neither None nor blank (OSCAL refuses an empty value)."""
    return [_prop(name, value) for name, value in pairs if value is not None and str(value).strip()]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _line(text: str) -> str:
    """One line of text, never blank (OSCAL titles and names hold one non-empty line)."""
    flat = " ".join(text.split())
    return flat or "-"


def _when(moment: datetime.datetime | datetime.date | None) -> str | None:
    """An OSCAL date-time (with its offset): a date becomes its local midnight."""
    if moment is None:
        return None
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime.combine(moment, datetime.time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.isoformat()


def _bilingual(zh: str, en: str) -> str:
    return f"{zh} ({en})" if en and en != zh else zh


# ----------------------------------------------------------------------------------------------
# Parties and roles


ROLES: dict[str, tuple[str, str]] = {
    "assessor": ("Assessor", "An expert who rated every indicator of the assessment."),
    "assessment-lead": (
        "Assessment lead",
        "The evaluation office's lead, who settled disagreements between the assessors.",
    ),
    "approver": ("Approver", "Approved the assessment on behalf of the evaluation office."),
    "cloud-owner": ("Cloud owner", "The government body that owns the cloud."),
    "cloud-operator": ("Cloud operator", "A vendor that operates the cloud."),
}


class _Parties:
    """The parties of a document, each once, and who holds which role (in role order)."""

    def __init__(self) -> None:
        self.parties: dict[str, Json] = {}
        self.roles: dict[str, list[str]] = {}

    def organisation(self, name: str, key: object, *, english: str = "") -> str:
        party_uuid = stable_uuid("organisation", key)
        if party_uuid not in self.parties:
            party: Json = {"uuid": party_uuid, "type": "organization", "name": _line(name)}
            if english.strip():
                party["short-name"] = _line(english)
            self.parties[party_uuid] = party
        return party_uuid

    def person(self, user: User) -> str:
        party_uuid = stable_uuid("user", user.pk)
        if party_uuid not in self.parties:
            party: Json = {"uuid": party_uuid, "type": "person", "name": _line(str(user))}
            organisation: Organisation | None = user.organisation
            if organisation is not None:
                party["member-of-organizations"] = [
                    self.organisation(
                        organisation.name, organisation.pk, english=organisation.name_en
                    )
                ]
            self.parties[party_uuid] = party
        return party_uuid

    def holds(self, role: str, party_uuid: str) -> None:
        holders = self.roles.setdefault(role, [])
        if party_uuid not in holders:
            holders.append(party_uuid)

    def metadata(self) -> Json:
        """``roles``, ``parties`` and ``responsible-parties`` of the metadata (only those used)."""
        found: Json = {}
        used = [role for role in ROLES if self.roles.get(role)]
        if used:
            found["roles"] = [
                {"id": role, "title": ROLES[role][0], "description": ROLES[role][1]}
                for role in used
            ]
        if self.parties:
            found["parties"] = list(self.parties.values())
        if used:
            found["responsible-parties"] = [
                {"role-id": role, "party-uuids": list(self.roles[role])} for role in used
            ]
        return found


# ----------------------------------------------------------------------------------------------
# An approved assessment


@dataclass(frozen=True)
class AssessmentData:
    """Everything one document reads, in a fixed number of queries."""

    assessment: Assessment
    result: ScoreResult
    indicators: list[Indicator]
    assignments: list[Assignment]  # current ones, in assignment order
    ratings: dict[int, list[Rating]]  # indicator id → the current assessors' ratings
    settlements: dict[int, Settlement]
    evidence: dict[int, list[Evidence]]  # indicator id → current, non-infected files
    vendors: list[Organisation]


def _current_evidence(assessment: Assessment) -> QuerySet[Evidence]:
    # A file found infected was removed from storage: no evidence a document can cite (as the
    # certified report). Superseded versions are not evidence any more.
    return (
        evidence_current(assessment=assessment)
        .exclude(scan_state=Evidence.ScanState.INFECTED)
        .order_by("indicator_id", "original_name", "version")
    )


def assessment_data(*, assessment: Assessment) -> AssessmentData:
    """The data of an approved assessment's document; NotExportable when it is not approved or
    its score is not computed yet. ``assessment`` comes with its campaign, framework, cloud and
    owner loaded (``assessments.selectors.assessment_get_for``)."""
    if assessment.state != Assessment.State.APPROVED:
        raise NotExportable(
            _("Only an approved assessment can be exported as OSCAL assessment results.")
        )
    result = score_result_current(assessment=assessment)
    if result is None:
        raise NotExportable(
            _("The score of this assessment is not computed yet; try again in a few minutes.")
        )
    assignments = list(
        assessment.assignments.filter(removed_at=None)
        .select_related("assessor", "assessor__organisation")
        .order_by("assigned_at", "pk")
    )
    ratings: dict[int, list[Rating]] = {}
    by_assignment = {a.pk: a for a in assignments}
    for rating in (
        # The ratings that count: a removed or replaced assessor's stay in the record only.
        Rating.objects.filter(
            assignment__assessment=assessment, assignment__removed_at=None
        ).order_by("assignment__assigned_at", "assignment_id")
    ):
        rating.assignment = by_assignment[rating.assignment_id]
        ratings.setdefault(rating.indicator_id, []).append(rating)
    settlements = {
        s.indicator_id: s
        for s in Settlement.objects.filter(assessment=assessment).select_related(
            "settled_by", "settled_by__organisation"
        )
    }
    evidence: dict[int, list[Evidence]] = {}
    for item in _current_evidence(assessment):
        evidence.setdefault(item.indicator_id, []).append(item)
    return AssessmentData(
        assessment=assessment,
        result=result,
        indicators=indicators_of(assessment=assessment),
        assignments=assignments,
        ratings=ratings,
        settlements=settlements,
        evidence=evidence,
        vendors=list(assessment.cloud.vendors.order_by("name")),
    )


def _score_rows(result: ScoreResult) -> dict[int, Json]:
    """Indicator id → its row of the stored breakdown (points, weight, satisfied)."""
    rows: dict[int, Json] = {}
    for dimension in (result.breakdown or {}).get("dimensions") or []:
        for row in dimension.get("indicators") or []:
            if row.get("id") is not None:
                rows[int(row["id"])] = row
    return rows


def _rating_text(rating: Rating, indicator: Indicator) -> str:
    if indicator.is_mandatory:
        if rating.met is None:
            return _line(str(rating.assignment.assessor)) + ": -"
        return f"{_line(str(rating.assignment.assessor))} (met: {_flag(rating.met)})"
    shown = "-" if rating.rating is None else str(rating.rating)
    return f"{_line(str(rating.assignment.assessor))} (rating {shown})"


def _finding(
    data: AssessmentData,
    indicator: Indicator,
    consolidated: Consolidated,
    row: Json,
    parties: _Parties,
    observation: str | None,
) -> Json:
    assessment = data.assessment
    settlement = data.settlements.get(indicator.pk)
    ratings = data.ratings.get(indicator.pk, [])
    rationales = [f"- {_rating_text(r, indicator)}: {r.rationale.strip() or '-'}" for r in ratings]
    if settlement is not None:
        description = (
            f"Settled by {_line(str(settlement.settled_by))}: {settlement.reason.strip() or '-'}"
        )
        if rationales:
            description += "\n\nThe assessors' rationales:\n\n" + "\n".join(rationales)
    elif rationales:
        description = "The assessors' rationales:\n\n" + "\n".join(rationales)
    else:
        description = "No rationale was recorded."
    shown = consolidated.rating_shown
    props = _props(
        ("indicator", indicator.code),
        ("dimension", indicator.dimension.code),
        ("requirement-type", indicator.requirement_type),
        ("key-indicator", "true" if indicator.is_key else None),
        ("weight", row.get("weight")),
        ("rating", shown),
        ("met", None if consolidated.met is None else _flag(consolidated.met)),
        ("settled", "true" if consolidated.settled else None),
        ("scored-rating", row.get("scored_rating")),
        ("points", row.get("points")),
    )
    actors = [
        {"type": "party", "actor-uuid": parties.person(a.assessor), "role-id": "assessor"}
        for a in data.assignments
        if any(r.assignment_id == a.pk for r in ratings)
    ]
    if settlement is not None:
        lead = parties.person(settlement.settled_by)
        parties.holds("assessment-lead", lead)
        actors.append({"type": "party", "actor-uuid": lead, "role-id": "assessment-lead"})
    satisfied = bool(row.get("satisfied"))
    finding: Json = {
        "uuid": stable_uuid("assessment", assessment.pk, "finding", indicator.pk),
        "title": _line(f"{indicator.code} {_bilingual(indicator.name_zh, indicator.name_en)}"),
        "description": description,
        "props": props,
        "target": {
            "type": "statement-id",
            "target-id": statement_id(indicator),
            "title": _line(_bilingual(indicator.name_zh, indicator.name_en)),
            "status": {"state": "satisfied" if satisfied else "not-satisfied"},
        },
    }
    if actors:
        finding["origins"] = [{"actors": actors}]
    if observation is not None:
        finding["related-observations"] = [{"observation-uuid": observation}]
    return finding


def _observation(assessment: Assessment, indicator: Indicator, files: list[Evidence]) -> Json:
    collected = max(f.uploaded_at for f in files)
    return {
        "uuid": stable_uuid("assessment", assessment.pk, "observation", indicator.pk),
        "title": _line(f"Evidence for {indicator.code}"),
        "description": f"The evidence files the vendor submitted for indicator {indicator.code}, "
        "examined by the assessors.",
        "props": _props(("indicator", indicator.code)),
        "methods": ["EXAMINE"],
        "types": ["control-objective"],
        "relevant-evidence": [
            {
                "href": "#" + stable_uuid("evidence", f.pk),
                "description": _line(f.original_name),
            }
            for f in files
        ],
        "collected": _when(collected),
    }


def _resource(item: Evidence, indicator: Indicator) -> Json:
    return {
        "uuid": stable_uuid("evidence", item.pk),
        "title": _line(item.original_name),
        "description": f"Evidence for indicator {indicator.code}, version {item.version}.",
        "props": _props(
            ("indicator", indicator.code),
            ("version", item.version),
            ("size", item.size),
            ("issued-on", item.issued_on.isoformat() if item.issued_on else None),
            ("valid-until", item.valid_until.isoformat() if item.valid_until else None),
        ),
        "rlinks": [
            {
                "href": _absolute(reverse("assessments:evidence_download", args=[item.pk])),
                "media-type": item.content_type or "application/octet-stream",
                "hashes": [{"algorithm": "SHA-256", "value": item.sha256}],
            }
        ],
    }


def assessment_results(*, data: AssessmentData) -> Json:
    """The OSCAL assessment-results document (``{"assessment-results": {...}}``) of an approved
    assessment."""
    assessment, result = data.assessment, data.result
    campaign, cloud = assessment.campaign, assessment.cloud
    framework = campaign.framework
    parties = _Parties()
    parties.holds(
        "cloud-owner",
        parties.organisation(cloud.owner.name, cloud.owner.pk, english=cloud.owner.name_en),
    )
    for vendor in data.vendors:
        parties.holds(
            "cloud-operator", parties.organisation(vendor.name, vendor.pk, english=vendor.name_en)
        )
    for assignment in data.assignments:
        parties.holds("assessor", parties.person(assignment.assessor))
    if assessment.approved_by is not None:
        parties.holds("approver", parties.person(assessment.approved_by))

    rows = _score_rows(result)
    observations: list[Json] = []
    findings: list[Json] = []
    resources: list[Json] = []
    for indicator in data.indicators:
        consolidated = consolidate(
            indicator=indicator,
            ratings=data.ratings.get(indicator.pk, []),
            settlement=data.settlements.get(indicator.pk),
        )
        files = data.evidence.get(indicator.pk, [])
        observation: str | None = None
        if files:
            found = _observation(assessment, indicator, files)
            observations.append(found)
            observation = found["uuid"]
            resources += [_resource(item, indicator) for item in files]
        findings.append(
            _finding(
                data, indicator, consolidated, rows.get(indicator.pk, {}), parties, observation
            )
        )

    breakdown: Json = result.breakdown or {}
    level: Json | None = breakdown.get("level")
    approved = assessment.approved_at or result.current_since
    started = assessment.submitted_at or campaign.opens_on
    result_props = _props(
        ("level", level.get("code") if level else None),
        ("level-name", _bilingual(level["name_zh"], level.get("name_en", "")) if level else None),
        ("total", result.total),
        ("total-share", breakdown.get("total_share")),
        ("passed", None if result.passed is None else _flag(result.passed)),
        ("vetoed", _flag(result.vetoed)),
        ("score-version", result.version),
        ("inputs-sha256", result.inputs_sha256),
        ("scoring-method", result.method),
    )
    document: Json = {
        "uuid": stable_uuid("assessment", assessment.pk),
        "metadata": {
            "title": _line(f"Assessment results: {cloud.name} · {campaign.name}"),
            "published": _when(approved),
            "last-modified": _when(approved),
            "version": str(result.version),
            "oscal-version": OSCAL_VERSION,
            "props": _props(
                ("assessment", assessment.pk),
                ("cloud", _bilingual(cloud.name, cloud.name_en)),
                ("campaign", campaign.name),
                ("year", campaign.year),
                ("framework", framework.code),
                ("framework-version", framework.version),
                ("demo", "true" if (campaign.is_demo or cloud.is_demo) else None),
            ),
            **parties.metadata(),
        },
        "import-ap": {
            "href": catalog_href(framework.code, framework.version),
            "remarks": "The portal keeps no OSCAL assessment plan: this points to the OSCAL "
            "catalog of the framework version the assessment was made against.",
        },
        "results": [
            {
                "uuid": stable_uuid("assessment", assessment.pk, "result"),
                "title": _line(f"{cloud.name} · {campaign.name}"),
                "description": (
                    f"The evaluation of {_bilingual(cloud.name, cloud.name_en)} in the campaign "
                    f"{campaign.name}, against {_bilingual(framework.name_zh, framework.name_en)} "
                    f"{framework.version}: one finding per indicator."
                ),
                "start": _when(started),
                "end": _when(approved),
                "props": result_props,
                "reviewed-controls": {
                    "description": "Every indicator of the framework version.",
                    "control-selections": [{"include-all": {}}],
                },
                **({"observations": observations} if observations else {}),
                "findings": findings,
            }
        ],
    }
    if resources:
        document["back-matter"] = {"resources": resources}
    return {"assessment-results": document}


def assessment_results_of(*, assessment: Assessment) -> Json:
    """``assessment_results`` of an assessment read now; NotExportable as ``assessment_data``."""
    return assessment_results(data=assessment_data(assessment=assessment))


# ----------------------------------------------------------------------------------------------
# A published ranking version


def _entries(snapshot: Snapshot) -> Iterable[tuple[str, SnapshotEntry, str | None]]:
    """(pool code, entry, award vendor) of every entry, in the snapshot's order."""
    for pool in snapshot.get("pools", []):
        for entry in pool["entries"]:
            yield pool["code"], entry, None
    for award in snapshot.get("awards", []):
        for entry in award["entries"]:
            yield entry["pool"], entry, award["vendor"]


def _entry_result(
    ranking: Ranking,
    snapshot: Snapshot,
    pool: str,
    entry: SnapshotEntry,
    vendor: str | None,
    parties: _Parties,
) -> Json:
    ranked = shows_scores(snapshot)
    owner = parties.organisation(entry["owner"], ("name", entry["owner"]))
    parties.holds("cloud-owner", owner)
    for name in entry.get("vendors", []):
        parties.holds("cloud-operator", parties.organisation(name, ("name", name)))
    level = entry.get("level")
    props = _props(
        ("assessment", entry["assessment_id"]),
        ("cloud", _bilingual(entry["cloud"], entry.get("cloud_en", ""))),
        ("owner", entry["owner"]),
        ("division-code", entry.get("division_code")),
        ("pool", pool),
        ("award-vendor", vendor),
        ("level", level["code"] if level else None),
        ("level-name", _bilingual(level["name_zh"], level["name_en"]) if level else None),
        ("listed-years", entry.get("listed_years")),
    )
    if ranked:
        # Only a list published with scores shows them (``public_view`` has removed them from
        # any other, but the rule is kept here too).
        props += _props(
            ("position", entry.get("position")),
            ("tied", "true" if entry.get("tied") else None),
            ("total", entry.get("total")),
            ("score-version", entry.get("score_version")),
            ("inputs-sha256", entry.get("inputs_sha256")),
        )
        for dimension in entry.get("dimensions", []):
            token = _token(dimension["code"])
            code = token if token[:1].isalpha() else f"d-{token}"
            if dimension.get("points") is not None:
                props.append(_prop("dimension-points", dimension["points"], group=code))
            if dimension.get("share") is not None:
                props.append(_prop("dimension-share", dimension["share"], group=code))
    key = (ranking.year, ranking.slug, ranking.version)
    published = snapshot["published_at"]
    return {
        "uuid": stable_uuid("ranking", *key, "assessment", entry["assessment_id"], vendor or ""),
        "title": _line(entry["cloud"]),
        "description": f"{_bilingual(entry['cloud'], entry.get('cloud_en', ''))}, owned by "
        f"{entry['owner']}, as listed in {snapshot['title']}.",
        "start": published,
        "end": published,
        "props": props,
        "reviewed-controls": {
            "description": "Every indicator of the framework version.",
            "control-selections": [{"include-all": {}}],
        },
    }


def ranking_results(*, ranking: Ranking) -> Json:
    """The OSCAL assessment-results document of a published ranking version: one result per
    listed cloud, from the public snapshot only (no query for a format-2 snapshot)."""
    snapshot = public_view(ranking)
    ranked = shows_scores(snapshot)
    parties = _Parties()
    key = (ranking.year, ranking.slug, ranking.version)
    results = [
        _entry_result(ranking, snapshot, pool, entry, vendor, parties)
        for pool, entry, vendor in _entries(snapshot)
    ]
    published = snapshot["published_at"]
    framework = snapshot["framework"]
    if not results:
        # The OSCAL model needs one result: a list that names no cloud says so.
        results = [
            {
                "uuid": stable_uuid("ranking", *key, "empty"),
                "title": "No cloud listed",
                "description": "This version of the list names no cloud.",
                "start": published,
                "end": published,
                "reviewed-controls": {"control-selections": [{"include-all": {}}]},
            }
        ]
    page = reverse(
        "rankings:public_version",
        kwargs={"year": ranking.year, "slug": ranking.slug, "version": ranking.version},
    )
    document: Json = {
        "uuid": stable_uuid("ranking", *key),
        "metadata": {
            "title": _line(_bilingual(snapshot["title"], snapshot.get("title_en", ""))),
            "published": published,
            "last-modified": published,
            "version": str(ranking.version),
            "oscal-version": OSCAL_VERSION,
            "props": _props(
                ("campaign", snapshot["campaign"]["name"]),
                ("year", snapshot["year"]),
                ("ranking-kind", snapshot["kind"]),
                ("public-form", snapshot["public_form"]),
                ("scores-shown", _flag(ranked)),
                ("framework", framework["code"]),
                ("framework-version", framework["version"]),
                ("listed", snapshot.get("listed")),
                ("demo", "true" if snapshot.get("demo") else None),
            ),
            **parties.metadata(),
        },
        "import-ap": {
            "href": catalog_href(framework["code"], framework["version"]),
            "remarks": "The portal keeps no OSCAL assessment plan: this points to the OSCAL "
            "catalog of the framework version the ranked assessments were made against.",
        },
        "results": results,
        "back-matter": {
            "resources": [
                {
                    "uuid": stable_uuid("ranking", *key, "page"),
                    "title": "The published list",
                    "rlinks": [{"href": _absolute(page), "media-type": "text/html"}],
                }
            ]
        },
    }
    return {"assessment-results": document}
