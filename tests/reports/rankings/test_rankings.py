"""Rankings: the pure rules (with property tests), the services (drafts, tie decisions,
publishing, corrections, objections) and the admin and owner pages."""

from __future__ import annotations

import datetime
import hashlib
import random
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict, Unpack

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_django import Settings
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from accounts.models import Organisation, User
from assessments import services as workflow
from assessments.models import Assessment, Assignment, Campaign, Cloud
from audit.models import AuditEvent
from demo.rankings import demo_rankings_publish
from indicators.models import Framework
from reports.models import Objection, Ranking, RankingAdjustment, ScoreResult
from reports.rankings import objections, selectors, services, snapshot
from reports.rankings import rules as rankings
from tests.assessments.conftest import answer_everything, rate_everything
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory

PROVINCES = ["110000", "310000", "420000", "440000", "430000", "640000", "140000", "320000"]
CITIES = ["370100", "330400", "321300", "361000", "330100", "320100", "430100", "420100"]
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


# ----------------------------------------------------------------------------------------------
# Test data: approved assessments with a given score


def make_campaign(admin: User, framework: Framework, year: int, name: str = "") -> Campaign:
    return workflow.campaign_create(
        name=name or f"{year}年政务云综合水平评估",
        year=year,
        framework=framework,
        opens_on=datetime.date(year, 3, 1),
        closes_on=datetime.date(year, 6, 30),
        acting_user=admin,
    )


def dims_for(total: Decimal) -> dict[str, Decimal]:
    return {
        "D1": (total * Decimal("0.25")).quantize(Decimal("0.01")),
        "D2": (total * Decimal("0.30")).quantize(Decimal("0.01")),
        "D3": (total * Decimal("0.20")).quantize(Decimal("0.01")),
        "D4": (total * Decimal("0.25")).quantize(Decimal("0.01")),
    }


WEIGHTS = {"D1": 25, "D2": 30, "D3": 20, "D4": 25}


def breakdown(total: Decimal, dims: dict[str, Decimal], level: str | None) -> dict[str, Any]:
    return {
        "total": str(total),
        "level": {"code": level} if level else None,
        "dimensions": [
            {
                "code": code,
                "name_zh": f"维度{code}",
                "name_en": f"Dimension {code}",
                "points": str(points),
                "share": str((points * 100 / WEIGHTS[code]).quantize(Decimal("0.01"))),
            }
            for code, points in dims.items()
        ],
    }


def add_cloud(
    campaign: Campaign,
    name: str,
    *,
    pool: str = Cloud.Level.PROVINCIAL,
    total: str | None = "85.00",
    level: str | None = "advanced",
    dims: dict[str, str] | None = None,
    vetoed: bool = False,
    state: str = Assessment.State.APPROVED,
    owner: Organisation | None = None,
    admin: User | None = None,
) -> Assessment:
    """An assessment of a new cloud in ``campaign``, in ``state``, with a current score result
    (None ``total``: not scored). Test set-up only: the workflow is exercised elsewhere."""
    codes = PROVINCES if pool == Cloud.Level.PROVINCIAL else CITIES
    cloud = Cloud.objects.filter(name=name).first()
    if cloud is None:
        cloud_owner = owner or OrganisationFactory.create(
            kind=Organisation.Kind.GOVERNMENT,
            name=f"{name}主管部门",
            division_code=random.Random(name).choice(codes),
        )
        cloud = Cloud.objects.create(name=name, owner=cloud_owner, level=pool)
        cloud.vendors.add(
            Organisation.objects.get_or_create(
                name=f"{name}服务商", defaults={"kind": Organisation.Kind.VENDOR}
            )[0]
        )
    found = Assessment.objects.create(campaign=campaign, cloud=cloud, state=state)
    if total is not None:
        value = Decimal(total)
        points = {k: Decimal(v) for k, v in (dims or {}).items()} or dims_for(value)
        ScoreResult.objects.create(
            assessment=found,
            version=1,
            inputs_sha256=hashlib.sha256(name.encode()).hexdigest(),
            framework=campaign.framework,
            method="1",
            total=value,
            level_code=level or "",
            vetoed=vetoed,
            breakdown=breakdown(value, points, level),
            current_since=timezone.now(),
        )
    return found


class RankingSettings(TypedDict, total=False):
    """What ``services.ranking_settings_save`` takes besides the ranking and the user."""

    quotas: dict[str, int]
    min_level: str
    tie_break: list[str]
    public_form: str
    notice_starts_on: datetime.date | None
    notice_ends_on: datetime.date | None


class Acknowledgement(TypedDict):
    """What ``services.ranking_publish`` takes about the campaign's unfinished assessments."""

    unfinished_acknowledged: list[int]
    unfinished_reason: str


def acknowledged(campaign: Campaign) -> Acknowledgement:
    """The admin's acknowledgement of every unfinished assessment of ``campaign``, with a reason
    (test set-up: the guard itself is tested on its own)."""
    ids = list(
        campaign.assessments.exclude(state=Assessment.State.APPROVED).values_list("pk", flat=True)
    )
    return {
        "unfinished_acknowledged": ids,
        "unfinished_reason": "（测试）未完成的评估不影响本名单。" if ids else "",
    }


def publish(
    campaign: Campaign, admin: User, note: str = "", **settings_kwargs: Unpack[RankingSettings]
) -> Ranking:
    """Publishes the campaign's draft, saving ``settings_kwargs`` over its settings first and
    acknowledging the campaign's unfinished assessments."""
    draft = services.ranking_draft_get_or_create(campaign=campaign, acting_user=admin)
    if settings_kwargs:
        values: RankingSettings = {
            "quotas": draft.quotas,
            "min_level": draft.min_level,
            "tie_break": draft.tie_break,
            "public_form": draft.public_form,
            "notice_starts_on": draft.notice_starts_on,
            "notice_ends_on": draft.notice_ends_on,
        }
        values.update(settings_kwargs)
        services.ranking_settings_save(ranking=draft, acting_user=admin, **values)
    return services.ranking_publish(
        ranking=draft, change_note=note, acting_user=admin, **acknowledged(campaign)
    )


@pytest.fixture
def year_campaign(admin: User, comprehensive: Framework) -> Campaign:
    return make_campaign(admin, comprehensive, 2026)


@pytest.fixture
def filled(year_campaign: Campaign) -> Campaign:
    """Eight provincial and five municipal clouds: one vetoed, one basic, one not approved."""
    for n, total in enumerate(["95.00", "91.50", "90.00", "88.00", "86.00", "84.00", "80.00"]):
        add_cloud(
            year_campaign, f"省级云{n}", total=total, level="excellent" if n < 2 else "advanced"
        )
    add_cloud(year_campaign, "否决省级云", total="92.00", level="basic", vetoed=True)
    add_cloud(year_campaign, "基础省级云", total="70.00", level="basic")
    add_cloud(year_campaign, "未批准省级云", total="93.00", state=Assessment.State.SCORED)
    for n, total in enumerate(["89.00", "87.00", "85.00", "79.00", "77.00"]):
        add_cloud(year_campaign, f"市级云{n}", pool=Cloud.Level.MUNICIPAL, total=total)
    add_cloud(
        year_campaign,
        "未评分市级云",
        pool=Cloud.Level.MUNICIPAL,
        total=None,
        state=Assessment.State.IN_REVIEW,
    )
    return year_campaign


# ----------------------------------------------------------------------------------------------
# The pure rules

LEVELS = ("basic", "advanced", "excellent")


def cand(
    n: int,
    total: str,
    pool: str = "provincial",
    *,
    approved: bool = True,
    level: str | None = "advanced",
    vetoed: bool = False,
    points: Mapping[str, Decimal] | None = None,
) -> rankings.Candidate:
    return rankings.Candidate(
        assessment_id=n,
        name=f"云{n:03d}",
        pool=pool,
        approved=approved,
        total=Decimal(total),
        level=level,
        vetoed=vetoed,
        dimension_points=points or dims_for(Decimal(total)),
    )


def rank(
    cands: list[rankings.Candidate],
    *,
    quotas: Mapping[str, int] | None = None,
    tie_break: Sequence[str] = rankings.DEFAULT_TIE_BREAK,
    adjustments: Mapping[int, str] | None = None,
) -> rankings.RankingResult:
    return rankings.rank(
        cands,
        quotas=quotas if quotas is not None else {"provincial": 6, "municipal": 4},
        level_order=LEVELS,
        min_level="advanced",
        tie_break=tie_break,
        adjustments=adjustments,
    )


def pool_in(result: rankings.RankingResult | None, code: str) -> rankings.PoolResult:
    assert result is not None, "no ranking result"
    found = result.pool(code)
    assert found is not None, f"no pool {code!r}"
    return found


def test_entries_are_ordered_by_total_and_the_quota_lists_the_first() -> None:
    result = rank([cand(n, f"{80 + n}.00") for n in range(8)])
    pool = pool_in(result, "provincial")
    assert [e.candidate.assessment_id for e in pool.entries] == [7, 6, 5, 4, 3, 2, 1, 0]
    assert [e.candidate.assessment_id for e in pool.selected] == [7, 6, 5, 4, 3, 2]
    assert [e.position for e in pool.entries] == [1, 2, 3, 4, 5, 6, 7, 8]


def test_equal_totals_are_broken_by_d2_then_d4_then_d1() -> None:
    same = {"D1": Decimal("20"), "D2": Decimal("25"), "D3": Decimal("20"), "D4": Decimal("20")}
    better_d4 = {**same, "D4": Decimal("21"), "D3": Decimal("19")}
    better_d2 = {**same, "D2": Decimal("26"), "D3": Decimal("19")}
    result = rank(
        [
            cand(1, "85.00", points=same),
            cand(2, "85.00", points=better_d4),
            cand(3, "85.00", points=better_d2),
        ]
    )
    assert [e.candidate.assessment_id for e in pool_in(result, "provincial").entries] == [3, 2, 1]
    assert not any(e.tied for e in pool_in(result, "provincial").entries)


def test_the_tie_break_order_is_a_setting() -> None:
    a = {"D1": Decimal("25"), "D2": Decimal("20"), "D3": Decimal("20"), "D4": Decimal("20")}
    b = {"D1": Decimal("20"), "D2": Decimal("25"), "D3": Decimal("20"), "D4": Decimal("20")}
    by_default = rank([cand(1, "85.00", points=a), cand(2, "85.00", points=b)])
    by_d1 = rank([cand(1, "85.00", points=a), cand(2, "85.00", points=b)], tie_break=["D1"])
    assert pool_in(by_default, "provincial").entries[0].candidate.assessment_id == 2
    assert pool_in(by_d1, "provincial").entries[0].candidate.assessment_id == 1


def test_entries_equal_in_every_tie_break_are_tied_and_share_a_position() -> None:
    result = rank([cand(1, "90.00"), cand(2, "85.00"), cand(3, "85.00"), cand(4, "80.00")])
    entries = pool_in(result, "provincial").entries
    assert [(e.position, e.tied) for e in entries] == [(1, False), (2, True), (2, True), (4, False)]


def test_a_tie_across_the_quota_line_waits_for_the_admin() -> None:
    cands = [cand(n, f"{90 - n}.00") for n in range(5)] + [cand(10, "80.00"), cand(11, "80.00")]
    result = rank(cands)
    pool = pool_in(result, "provincial")
    assert [e.candidate.assessment_id for e in pool.boundary_tie] == [10, 11]
    assert pool.undecided
    decided = rank(cands, adjustments={11: rankings.IN})
    assert not pool_in(decided, "provincial").undecided
    assert [e.candidate.assessment_id for e in pool_in(decided, "provincial").selected] == [
        0,
        1,
        2,
        3,
        4,
        10,
        11,
    ]
    out = rank(cands, adjustments={10: rankings.OUT})
    assert [e.candidate.assessment_id for e in pool_in(out, "provincial").selected] == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_a_decision_on_an_entry_not_tied_across_the_line_is_ignored() -> None:
    result = rank([cand(1, "90.00"), cand(2, "80.00")], adjustments={2: rankings.OUT})
    assert [e.selected for e in pool_in(result, "provincial").entries] == [True, True]


def test_every_exclusion_says_why() -> None:
    result = rank(
        [
            cand(1, "90.00", approved=False),
            cand(2, "92.00", vetoed=True, level="basic"),
            cand(3, "70.00", level="basic"),
            cand(4, "60.00", level=None),
            rankings.Candidate(5, "云005", "provincial", approved=False, scored=False),
        ]
    )
    reasons = {x.candidate.assessment_id: x.reasons for x in result.excluded}
    assert reasons == {
        1: (rankings.NOT_APPROVED,),
        2: (rankings.VETOED, rankings.LEVEL_TOO_LOW),
        3: (rankings.LEVEL_TOO_LOW,),
        4: (rankings.LEVEL_TOO_LOW,),
        5: (rankings.NOT_APPROVED, rankings.NOT_SCORED),
    }
    assert pool_in(result, "provincial").entries == ()


def test_awards_list_the_passing_results_by_vendor() -> None:
    found = rankings.awards(
        [
            rankings.Candidate(
                1, "乙云", "provincial", True, passed=True, vendors=("浪潮", "曙光")
            ),
            rankings.Candidate(2, "甲云", "municipal", True, passed=True, vendors=("浪潮",)),
            rankings.Candidate(3, "丙云", "municipal", True, passed=False, vendors=("京东",)),
        ]
    )
    # Names in code-point order (乙 U+4E59 before 甲 U+7532; 曙 before 浪).
    assert [(a.vendor, [c.name for c in a.candidates]) for a in found.vendors] == [
        ("曙光", ["乙云"]),
        ("浪潮", ["乙云", "甲云"]),
    ]
    assert [x.reasons for x in found.excluded] == [(rankings.NOT_PASSED,)]


# Property tests: few distinct values, so that ties and quota lines are common.
TOTALS = st.sampled_from(["75.00", "80.00", "80.01", "85.00", "90.00"])
POINTS = st.sampled_from([Decimal("20.00"), Decimal("21.00"), Decimal("22.50")])


@st.composite
def candidates(draw: st.DrawFn) -> list[rankings.Candidate]:
    count = draw(st.integers(min_value=0, max_value=24))
    found = []
    for n in range(count):
        found.append(
            rankings.Candidate(
                assessment_id=n + 1,
                name=draw(st.sampled_from(["甲", "乙", "丙"])) + f"{n:02d}",
                pool=draw(st.sampled_from(["provincial", "municipal"])),
                approved=draw(st.booleans().filter(lambda _: True)) or draw(st.booleans()),
                total=Decimal(draw(TOTALS)),
                level=draw(st.sampled_from([None, "basic", "advanced", "excellent"])),
                vetoed=draw(st.integers(0, 9)) == 0,
                dimension_points={code: draw(POINTS) for code in ("D1", "D2", "D4")},
            )
        )
    return found


QUOTAS = st.fixed_dictionaries({"provincial": st.integers(0, 8), "municipal": st.integers(0, 6)})


@given(cands=candidates(), quotas=QUOTAS)
def test_property_the_top_list_is_a_prefix_of_the_full_order(
    cands: list[rankings.Candidate], quotas: dict[str, int]
) -> None:
    result = rank(cands, quotas=quotas)
    for pool in result.pools:
        assert pool.selected == pool.entries[: pool.quota]


@given(cands=candidates(), quotas=QUOTAS, seed=st.integers(0, 10_000))
def test_property_the_input_order_never_changes_the_result(
    cands: list[rankings.Candidate], quotas: dict[str, int], seed: int
) -> None:
    shuffled = list(cands)
    random.Random(seed).shuffle(shuffled)
    assert rank(shuffled, quotas=quotas) == rank(cands, quotas=quotas)


@given(cands=candidates(), quotas=QUOTAS)
def test_property_ties_are_detected_exactly(
    cands: list[rankings.Candidate], quotas: dict[str, int]
) -> None:
    result = rank(cands, quotas=quotas)

    def key(c: rankings.Candidate) -> tuple[Decimal | None, Decimal, Decimal, Decimal]:
        return (
            c.total,
            c.dimension_points["D2"],
            c.dimension_points["D4"],
            c.dimension_points["D1"],
        )

    for pool in result.pools:
        for e in pool.entries:
            others = [o.candidate for o in pool.entries if o is not e]
            assert e.tied == any(key(o) == key(e.candidate) for o in others)
            assert e.position == 1 + sum(1 for o in others if key(o) > key(e.candidate))
        line = pool.entries[: pool.quota]
        below = pool.entries[pool.quota :]
        straddles = bool(line and below) and key(line[-1].candidate) == key(below[0].candidate)
        assert bool(pool.boundary_tie) == straddles


@given(cands=candidates(), quotas=QUOTAS)
def test_property_every_candidate_is_ranked_or_excluded_once(
    cands: list[rankings.Candidate], quotas: dict[str, int]
) -> None:
    result = rank(cands, quotas=quotas)
    ranked = [e.candidate.assessment_id for p in result.pools for e in p.entries]
    excluded = [x.candidate.assessment_id for x in result.excluded]
    assert sorted(ranked + excluded) == sorted(c.assessment_id for c in cands)
    for e in (e for p in result.pools for e in p.entries):
        assert e.candidate.approved and not e.candidate.vetoed
        assert e.candidate.level in ("advanced", "excellent")


# ----------------------------------------------------------------------------------------------
# The provisional ranking and publishing


def test_the_provisional_ranking_fills_each_pool_and_explains_every_exclusion(
    filled: Campaign, admin: User
) -> None:
    draft, _ = services.ranking_defaults(campaign=filled)
    provisional = selectors.ranking_provisional(ranking=draft)
    provincial = pool_in(provisional.result, "provincial")
    municipal = pool_in(provisional.result, "municipal")
    assert [e.candidate.name for e in provincial.selected] == [f"省级云{n}" for n in range(6)]
    assert [e.candidate.name for e in municipal.selected] == [f"市级云{n}" for n in range(4)]
    reasons = {x.candidate.name: x.reasons for x in provisional.excluded}
    assert reasons["否决省级云"] == (rankings.VETOED, rankings.LEVEL_TOO_LOW)
    assert reasons["基础省级云"] == (rankings.LEVEL_TOO_LOW,)
    assert reasons["未批准省级云"] == (rankings.NOT_APPROVED,)
    assert reasons["未评分市级云"] == (rankings.NOT_APPROVED, rankings.NOT_SCORED)


def test_the_defaults_come_from_constants_and_the_draft_keeps_its_own_settings(
    filled: Campaign, admin: User
) -> None:
    draft = services.ranking_draft_get_or_create(campaign=filled, acting_user=admin)
    assert (draft.quotas, draft.min_level, draft.tie_break) == (
        {"provincial": 6, "municipal": 4},
        "advanced",
        ["D2", "D4", "D1"],
    )
    draft = services.ranking_settings_save(
        ranking=draft,
        quotas={"provincial": 3, "municipal": 2},
        min_level="excellent",
        tie_break=["D1"],
        public_form=Ranking.PublicForm.RANKED,
        notice_starts_on=None,
        notice_ends_on=None,
        acting_user=admin,
    )
    provisional = selectors.ranking_provisional(ranking=draft)
    assert [e.candidate.name for e in pool_in(provisional.result, "provincial").selected] == [
        "省级云0",
        "省级云1",
    ]
    assert AuditEvent.objects.filter(action="reports.ranking.settings_changed").count() == 1
    assert services.ranking_draft_get_or_create(campaign=filled, acting_user=admin) == draft


@pytest.mark.parametrize(
    "change",
    [
        {"min_level": "legendary"},
        {"tie_break": ["D9"]},
        {"tie_break": ["D2", "D2"]},
        {"quotas": {"provincial": -1, "municipal": 4}},
        {"notice_starts_on": datetime.date(2026, 5, 1), "notice_ends_on": None},
        {
            "notice_starts_on": datetime.date(2026, 5, 9),
            "notice_ends_on": datetime.date(2026, 5, 1),
        },
    ],
)
def test_settings_are_checked(filled: Campaign, admin: User, change: dict[str, Any]) -> None:
    draft = services.ranking_draft_get_or_create(campaign=filled, acting_user=admin)
    values = {
        "quotas": draft.quotas,
        "min_level": draft.min_level,
        "tie_break": draft.tie_break,
        "public_form": draft.public_form,
        "notice_starts_on": None,
        "notice_ends_on": None,
        **change,
    }
    with pytest.raises(ValidationError):
        services.ranking_settings_save(ranking=draft, acting_user=admin, **values)


def test_only_admins_prepare_a_ranking(filled: Campaign, users_by_role: dict[str, User]) -> None:
    for role, user in users_by_role.items():
        if role == User.Role.ADMIN:
            continue
        with pytest.raises(PermissionDenied):
            services.ranking_draft_get_or_create(campaign=filled, acting_user=user)


def test_publishing_freezes_a_snapshot_named_by_its_sha256_and_is_audited(
    filled: Campaign, admin: User
) -> None:
    published = publish(filled, admin, public_form=Ranking.PublicForm.RANKED)
    published.refresh_from_db()
    assert published.state == Ranking.State.FINAL
    assert published.version == 1
    assert published.snapshot is not None
    assert published.snapshot_sha256 == snapshot.snapshot_sha256(published.snapshot)
    assert published.snapshot["listed"] == 10
    names = [e["cloud"] for e in published.snapshot["pools"][0]["entries"]]
    assert names == [f"省级云{n}" for n in range(6)]
    event = AuditEvent.objects.get(action="reports.ranking.published")
    assert event.changes["snapshot_sha256"] == published.snapshot_sha256
    assert event.actor == admin


def test_a_draft_is_published_once_however_often_it_is_clicked(
    filled: Campaign, admin: User
) -> None:
    draft = services.ranking_draft_get_or_create(campaign=filled, acting_user=admin)
    services.ranking_publish(ranking=draft, acting_user=admin, **acknowledged(draft.campaign))
    with pytest.raises(ValidationError):
        services.ranking_publish(ranking=draft, acting_user=admin, **acknowledged(draft.campaign))
    assert Ranking.objects.filter(campaign=filled).count() == 1


def test_a_tie_across_the_quota_line_blocks_publishing_until_an_entry_is_moved(
    year_campaign: Campaign, admin: User
) -> None:
    for n, total in enumerate(["90.00", "89.00", "88.00"]):
        add_cloud(year_campaign, f"市{n}", pool=Cloud.Level.MUNICIPAL, total=total)
    tied = [
        add_cloud(year_campaign, f"并列市{n}", pool=Cloud.Level.MUNICIPAL, total="85.00")
        for n in range(2)
    ]
    draft = services.ranking_draft_get_or_create(campaign=year_campaign, acting_user=admin)
    services.ranking_settings_save(
        ranking=draft,
        quotas=draft.quotas,
        min_level=draft.min_level,
        tie_break=draft.tie_break,
        public_form=Ranking.PublicForm.RANKED,
        notice_starts_on=None,
        notice_ends_on=None,
        acting_user=admin,
    )
    with pytest.raises(ValidationError, match="并列"):
        services.ranking_publish(ranking=draft, acting_user=admin)
    with pytest.raises(ValidationError):
        services.ranking_adjustment_save(
            ranking=draft, assessment=tied[1], move="in", reason="", acting_user=admin
        )
    not_tied = Assessment.objects.get(cloud__name="市0", campaign=year_campaign)
    with pytest.raises(ValidationError, match="并列"):
        services.ranking_adjustment_save(
            ranking=draft, assessment=not_tied, move="out", reason="理由", acting_user=admin
        )
    services.ranking_adjustment_save(
        ranking=draft,
        assessment=tied[1],
        move="in",
        reason="并列第四，办公室会议决定两者均入选。",
        acting_user=admin,
    )
    published = services.ranking_publish(ranking=draft, acting_user=admin)
    assert published.snapshot is not None
    entries = published.snapshot["pools"][1]["entries"]
    assert [e["cloud"] for e in entries] == ["市0", "市1", "市2", "并列市0", "并列市1"]
    assert [e["position"] for e in entries] == [1, 2, 3, 4, 4]
    assert entries[4]["adjusted"] == "in"
    assert entries[4]["adjustment_reason"].startswith("并列第四")
    assert AuditEvent.objects.filter(action="reports.ranking.adjusted").count() == 1


def test_a_correction_is_a_new_version_that_says_what_changed(
    filled: Campaign, admin: User
) -> None:
    first = publish(filled, admin, public_form=Ranking.PublicForm.RANKED)
    draft = services.ranking_draft_get_or_create(campaign=filled, acting_user=admin)
    with pytest.raises(ValidationError, match="变更"):
        services.ranking_publish(ranking=draft, acting_user=admin, **acknowledged(draft.campaign))
    # A corrected score moves a cloud up.
    result = ScoreResult.objects.get(assessment__cloud__name="省级云5", is_current=True)
    result.total = Decimal("99.00")
    result.breakdown = breakdown(Decimal("99.00"), dims_for(Decimal("99.00")), "excellent")
    result.save()
    second = services.ranking_publish(
        ranking=draft,
        change_note="省级云5的评分经复核更正。",
        acting_user=admin,
        **acknowledged(draft.campaign),
    )
    assert second.version == 2
    assert second.supersedes == first
    assert second.snapshot is not None and first.snapshot is not None
    assert second.snapshot["changes"]["moved"][0] == {"cloud": "省级云5", "from": 6, "to": 1}
    first.refresh_from_db()
    assert first.snapshot["pools"][0]["entries"][5]["cloud"] == "省级云5"
    assert first.snapshot_sha256 == snapshot.snapshot_sha256(first.snapshot)


@pytest.fixture
def published(filled: Campaign, admin: User) -> Ranking:
    return publish(filled, admin)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.lists(
        st.tuples(
            st.integers(0, 12),
            st.sampled_from(["55.00", "76.00", "99.99"]),
            st.sampled_from([None, "basic", "excellent"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_property_a_published_snapshot_is_unchanged_after_its_scores_change(
    published: Ranking, changes: list[tuple[int, str, str | None, bool]]
) -> None:
    before = Ranking.objects.get(pk=published.pk)
    results = list(ScoreResult.objects.filter(assessment__campaign=published.campaign))
    for index, total, level, vetoed in changes:
        result = results[index % len(results)]
        ScoreResult.objects.filter(pk=result.pk).update(
            total=Decimal(total),
            level_code=level or "",
            vetoed=vetoed,
            breakdown=breakdown(Decimal(total), dims_for(Decimal(total)), level),
        )
    after = Ranking.objects.get(pk=published.pk)
    assert after.snapshot is not None
    assert after.snapshot == before.snapshot
    assert (
        after.snapshot_sha256 == before.snapshot_sha256 == snapshot.snapshot_sha256(after.snapshot)
    )


def two_years(admin: User, framework: Framework, last_form: str, this_form: str) -> Ranking:
    last = make_campaign(admin, framework, 2025)
    add_cloud(last, "甲省云", total="90.00")
    add_cloud(last, "乙省云", total="88.00")
    add_cloud(last, "丙省云", total="86.00")
    publish(last, admin, public_form=last_form)
    this = make_campaign(admin, framework, 2026)
    add_cloud(this, "乙省云", total="91.00")
    add_cloud(this, "甲省云", total="89.50")
    add_cloud(this, "丁省云", total="87.00")
    return publish(this, admin, public_form=this_form)


def test_two_years_that_show_scores_compare_positions_and_totals(
    admin: User, comprehensive: Framework
) -> None:
    current = two_years(admin, comprehensive, "ranked", "ranked")
    assert current.snapshot is not None
    entries = {e["cloud"]: e for e in current.snapshot["pools"][0]["entries"]}
    assert entries["乙省云"]["previous_year"]["position"] == 2
    assert entries["甲省云"]["previous_year"]["total"] == "90.00"
    assert entries["丁省云"]["previous_year"] is None
    assert [entries[c]["listed_years"] for c in ("乙省云", "甲省云", "丁省云")] == [2, 2, 1]
    assert current.snapshot["previous_year"] == {
        "year": 2025,
        "slug": "top-ten",
        "version": 1,
        "public_form": "ranked",
    }


@pytest.mark.parametrize(
    ("last_form", "this_form"),
    [("grouped", "ranked"), ("ranked", "grouped"), ("grouped", "grouped")],
)
def test_a_year_that_hid_its_scores_is_compared_only_by_the_years_listed_in_a_row(
    admin: User, comprehensive: Framework, last_form: str, this_form: str
) -> None:
    current = two_years(admin, comprehensive, last_form, this_form)
    assert current.snapshot is not None
    entries = {e["cloud"]: e for e in current.snapshot["pools"][0]["entries"]}
    assert all(e["previous_year"] is None for e in entries.values())
    assert [entries[c]["listed_years"] for c in ("乙省云", "甲省云", "丁省云")] == [2, 2, 1]
    assert current.snapshot["previous_year"]["public_form"] == last_form


def test_the_real_workflow_feeds_the_ranking(
    assessment: Assessment,
    vendor: User,
    assignments: list[Assignment],
    admin: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    answer_everything(assessment, vendor)
    workflow.assessment_submit(assessment=assessment, acting_user=vendor)
    with django_capture_on_commit_callbacks(execute=True):
        for assignment in assignments:
            rate_everything(assignment, rating=3)
            workflow.assignment_submit(assignment=assignment, acting_user=assignment.assessor)
    workflow.assessment_approve(assessment=assessment, acting_user=admin)
    ranking = publish(assessment.campaign, admin, public_form=Ranking.PublicForm.RANKED)
    assert ranking.snapshot is not None
    (entry,) = ranking.snapshot["pools"][1]["entries"]
    assert entry["cloud"] == "济南政务云计算中心"
    assert entry["total"] == "100.00"
    assert entry["level"]["code"] == "excellent"
    assert entry["division_code"] == "370100"


def test_trusted_platform_awards_are_published_by_vendor(admin: User, trusted: Framework) -> None:
    campaign = make_campaign(admin, trusted, 2026, name="2026年可信政务云评估")
    passed = add_cloud(campaign, "甲政务云平台", total=None)
    failed = add_cloud(campaign, "乙政务云平台", total=None)
    for found, ok in ((passed, True), (failed, False)):
        ScoreResult.objects.create(
            assessment=found,
            version=1,
            inputs_sha256=hashlib.sha256(str(found.pk).encode()).hexdigest(),
            framework=trusted,
            method="1",
            passed=ok,
            breakdown={"total": None, "dimensions": []},
            current_since=timezone.now(),
        )
    ranking = publish(campaign, admin)
    assert ranking.kind == Ranking.Kind.AWARDS and ranking.slug == "awards"
    assert ranking.snapshot is not None
    (award,) = ranking.snapshot["awards"]
    assert award["vendor"] == "甲政务云平台服务商"
    assert [e["cloud"] for e in award["entries"]] == ["甲政务云平台"]
    text = client_for(None).get("/rankings/2026/awards/").content.decode()
    assert "甲政务云平台服务商" in text and "乙政务云平台" not in text
    admin_page = client_for(admin).get(f"/campaigns/{campaign.pk}/ranking/").content.decode()
    assert "乙政务云平台" in admin_page  # with the reason it is not listed


# ----------------------------------------------------------------------------------------------
# Objections during the public notice


@pytest.fixture
def on_notice(filled: Campaign, admin: User, owner: User) -> Ranking:
    # The owner fixture's organisation owns one of the ranked clouds.
    cloud = Cloud.objects.get(name="市级云3")
    assert owner.organisation is not None
    cloud.owner = owner.organisation
    cloud.save()
    today = timezone.localdate()
    return publish(
        filled,
        admin,
        notice_starts_on=today,
        notice_ends_on=today + datetime.timedelta(days=6),
    )


def owned(on_notice: Ranking) -> Assessment:
    return Assessment.objects.get(campaign=on_notice.campaign, cloud__name="市级云3")


def test_a_list_with_a_notice_period_is_published_for_public_notice(on_notice: Ranking) -> None:
    assert on_notice.state == Ranking.State.NOTICE
    assert on_notice.snapshot is not None and on_notice.notice_ends_on is not None
    assert on_notice.snapshot["notice"]["ends_on"] == on_notice.notice_ends_on.isoformat()


def test_the_owner_lodges_an_objection_with_evidence(
    on_notice: Ranking,
    owner: User,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    objection = objections.objection_lodge(
        ranking=on_notice,
        assessment=owned(on_notice),
        reason="我市云平台的上云率数据有误，附更正后的统计报告。",
        evidence=SimpleUploadedFile("统计报告.pdf", PDF, content_type="application/pdf"),
        acting_user=owner,
    )
    assert objection.state == Objection.State.OPEN
    assert objection.evidence_name == "统计报告.pdf"
    assert objection.evidence_sha256 == hashlib.sha256(PDF).hexdigest()
    assert objection.evidence.read() == PDF
    assert objection.evidence.name is not None
    assert "统计报告" not in objection.evidence.name  # stored under a random name
    assert AuditEvent.objects.filter(action="reports.objection.lodged").count() == 1


def test_evidence_that_is_not_a_pdf_or_an_image_is_refused(
    on_notice: Ranking,
    owner: User,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    scripted = b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (x) >> >> endobj\n%%EOF"
    for name, content in [
        ("报告.pdf", b"not a pdf at all"),
        ("报告.docx", b"PK\x03\x04xx"),
        ("脚本.pdf", scripted),
    ]:
        with pytest.raises(ValidationError):
            objections.objection_lodge(
                ranking=on_notice,
                assessment=owned(on_notice),
                reason="理由",
                evidence=SimpleUploadedFile(name, content),
                acting_user=owner,
            )
    assert not Objection.objects.exists()
    assert not list(tmp_path.rglob("*.*"))


def test_only_the_clouds_owner_objects_and_only_during_the_notice(
    on_notice: Ranking, owner: User, vendor: User, admin: User
) -> None:
    other_owner = UserFactory.create(
        role=User.Role.OWNER,
        organisation=OrganisationFactory.create(
            kind=Organisation.Kind.GOVERNMENT, division_code="330100", name="杭州市某局"
        ),
    )
    for user in (other_owner, vendor, admin):
        with pytest.raises(PermissionDenied):
            objections.objection_lodge(
                ranking=on_notice, assessment=owned(on_notice), reason="理由", acting_user=user
            )
    Ranking.objects.filter(pk=on_notice.pk).update(
        notice_starts_on=datetime.date(2020, 1, 1), notice_ends_on=datetime.date(2020, 1, 8)
    )
    on_notice.refresh_from_db()
    with pytest.raises(ValidationError):
        objections.objection_lodge(
            ranking=on_notice, assessment=owned(on_notice), reason="理由", acting_user=owner
        )


def test_the_final_list_follows_the_notice_once_every_objection_is_answered(
    on_notice: Ranking, owner: User, admin: User
) -> None:
    objection = objections.objection_lodge(
        ranking=on_notice, assessment=owned(on_notice), reason="排名有误。", acting_user=owner
    )
    draft = services.ranking_draft_get_or_create(campaign=on_notice.campaign, acting_user=admin)
    assert draft.notice_ends_on == on_notice.notice_ends_on  # a correction keeps the period
    services.ranking_settings_save(
        ranking=draft,
        quotas=draft.quotas,
        min_level=draft.min_level,
        tie_break=draft.tie_break,
        public_form=draft.public_form,
        notice_starts_on=None,
        notice_ends_on=None,
        acting_user=admin,
    )
    with pytest.raises(ValidationError, match="公示"):
        services.ranking_publish(
            ranking=draft,
            change_note="最终名单。",
            acting_user=admin,
            **acknowledged(draft.campaign),
        )
    Ranking.objects.filter(pk=on_notice.pk).update(
        notice_starts_on=timezone.localdate() - datetime.timedelta(days=10),
        notice_ends_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    with pytest.raises(ValidationError, match="异议"):
        services.ranking_publish(
            ranking=draft,
            change_note="最终名单。",
            acting_user=admin,
            **acknowledged(draft.campaign),
        )
    with pytest.raises(ValidationError):
        objections.objection_answer(
            objection=objection, state="upheld", answer="", acting_user=admin
        )
    objections.objection_answer(
        objection=objection, state="rejected", answer="经复核，评分无误。", acting_user=admin
    )
    with pytest.raises(ValidationError, match="已答复"):
        objections.objection_answer(
            objection=objection, state="upheld", answer="再次答复", acting_user=admin
        )
    final = services.ranking_publish(
        ranking=draft,
        change_note="公示期满，发布最终名单。",
        acting_user=admin,
        **acknowledged(draft.campaign),
    )
    assert final.state == Ranking.State.FINAL
    assert final.version == 2
    assert final.snapshot is not None
    assert final.snapshot["changes"] == {"from_version": 1, "added": [], "removed": [], "moved": []}
    assert AuditEvent.objects.filter(action="reports.objection.answered").count() == 1


# ----------------------------------------------------------------------------------------------
# Pages for admins and owners


def test_the_admin_page_shows_the_provisional_ranking_and_why_clouds_are_not_ranked(
    filled: Campaign, admin: User
) -> None:
    response = client_for(admin).get(f"/campaigns/{filled.pk}/ranking/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "省级云0" in text and "否决省级云" in text
    assert not Ranking.objects.exists()  # looking saves nothing


@pytest.mark.parametrize("chosen", ["abc", "-1", "1e3", "99999999999999999999", "", "0"])
def test_a_malformed_or_unknown_cloud_in_a_ranking_decision_is_answered_400_and_nothing_saved(
    filled: Campaign, admin: User, chosen: str
) -> None:
    response = client_for(admin).post(
        f"/campaigns/{filled.pk}/ranking/adjustments/",
        {"assessment": chosen, "move": "in", "reason": "理由"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "请选择本评估批次中的政务云。" in page or "Choose a cloud of this campaign." in page
    assert not RankingAdjustment.objects.exists()


@pytest.mark.parametrize("role", ["assessor", "vendor", "owner", "auditor"])
def test_others_get_404_from_the_admin_pages(
    filled: Campaign, users_by_role: dict[str, User], role: str
) -> None:
    client = client_for(users_by_role[role])
    assert client.get(f"/campaigns/{filled.pk}/ranking/").status_code == 404
    assert (
        client.post(f"/campaigns/{filled.pk}/ranking/publish/", {"confirm": "yes"}).status_code
        == 404
    )
    assert not Ranking.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(filled: Campaign) -> None:
    response = client_for(None).get(f"/campaigns/{filled.pk}/ranking/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_admin_publishes_from_the_page(filled: Campaign, admin: User) -> None:
    client = client_for(admin)
    response = client.post(
        f"/campaigns/{filled.pk}/ranking/settings/",
        {
            "quota_provincial": 3,
            "quota_municipal": 2,
            "min_level": "advanced",
            "tie_break": "D2，D4, D1",
            "public_form": "ranked",
        },
    )
    assert response.status_code == 302
    unfinished = acknowledged(filled)
    client.post(
        f"/campaigns/{filled.pk}/ranking/publish/",
        {
            "confirm": "yes",
            "acknowledge_unfinished": "yes",
            "unfinished": unfinished["unfinished_acknowledged"],
            "unfinished_reason": unfinished["unfinished_reason"],
        },
    )
    ranking = Ranking.objects.get(campaign=filled)
    assert ranking.state == Ranking.State.FINAL
    assert ranking.snapshot is not None
    assert ranking.snapshot["listed"] == 5
    assert ranking.tie_break == ["D2", "D4", "D1"]


def test_the_owner_lodges_an_objection_on_the_page_and_reads_the_answer(
    on_notice: Ranking,
    owner: User,
    admin: User,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    url = f"/rankings/{on_notice.year}/{on_notice.slug}/objections/"
    client = client_for(owner)
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "assessment": owned(on_notice).pk,
            "reason": "数据有误",
            "evidence": SimpleUploadedFile("证明.pdf", PDF),
        },
    )
    assert response.status_code == 302
    objection = Objection.objects.get()
    evidence_url = f"/rankings/objections/{objection.pk}/evidence/"
    assert client.get(evidence_url).status_code == 200
    assert client_for(admin).get(evidence_url).status_code == 200
    client_for(admin).post(
        f"/campaigns/{on_notice.campaign_id}/ranking/objections/{objection.pk}/answer/",
        {"state": "answered", "answer": "已核实，排名不变。"},
    )
    assert "已核实，排名不变。" in client.get(url).content.decode()


def test_outsiders_get_404_from_the_objection_pages(
    on_notice: Ranking,
    owner: User,
    vendor: User,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    objection = objections.objection_lodge(
        ranking=on_notice,
        assessment=owned(on_notice),
        reason="理由",
        evidence=SimpleUploadedFile("证明.pdf", PDF),
        acting_user=owner,
    )
    other_owner = UserFactory.create(
        role=User.Role.OWNER,
        organisation=OrganisationFactory.create(
            kind=Organisation.Kind.GOVERNMENT, division_code="330100", name="杭州市某局"
        ),
    )
    for user in (vendor, other_owner):
        client = client_for(user)
        assert client.get(f"/rankings/objections/{objection.pk}/evidence/").status_code == 404
        url = f"/rankings/{on_notice.year}/{on_notice.slug}/objections/"
        assert client.get(url).status_code == 404


# ----------------------------------------------------------------------------------------------
# Demo


def test_the_demo_publishes_two_years_with_a_visible_change(db: None) -> None:
    from demo.accounts import load_demo_accounts

    load_demo_accounts()
    last, this = demo_rankings_publish()
    assert (last.year + 1, last.state, this.state) == (this.year, "final", "notice")
    assert this.snapshot is not None
    assert last.is_demo and this.is_demo and "演示" in this.snapshot["title"]
    # Last year hid its scores: this year's list says only how long each cloud has been listed.
    entries = [e for p in this.snapshot["pools"] for e in p["entries"]]
    assert this.snapshot["previous_year"]["public_form"] == "grouped"
    assert all(e["previous_year"] is None for e in entries)
    assert {e["listed_years"] for e in entries} == {1, 2}
    assert this.published_at is not None
    assert this.notice_starts_on == timezone.localdate(this.published_at)
    event = AuditEvent.objects.get(action="reports.ranking.published", target_id=str(this.pk))
    assert (
        event.changes["unfinished"]["count"] > 0 and "演示" in event.changes["unfinished"]["reason"]
    )
    assert demo_rankings_publish() == [last, this]  # idempotent
    # Last year's list comes from a finished demo campaign: every assessment approved, closed.
    assert last.campaign.state == "closed"
    assert set(last.campaign.assessments.values_list("state", flat=True)) == {"approved"}
    assert last.campaign.opens_on.year == last.campaign.closes_on.year == last.year
