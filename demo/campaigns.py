"""The demo campaign: clouds, vendors and owners from DOMAIN.md, run through the real workflow.

Everything here is demo data: organisations and clouds are flagged ``is_demo`` and named
"（演示）" where they are invented; every rating and self-assessment is invented too. The 2018
top-ten clouds and their award-winning vendors are real names from the public record; which
invented scores they get means nothing.

Nothing is inserted by hand: each step calls the same services the pages call, so the demo also
exercises the workflow end to end.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import random
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.divisions import division_lookup
from accounts.models import Organisation, User
from assessments import selectors, services
from assessments.evidence.services import evidence_upload
from assessments.models import Assessment, Campaign, Cloud
from indicators.models import Framework, Indicator
from indicators.services import default_catalogs_load

DEMO_CAMPAIGN_NAME = "{year}年政务云综合水平评估（演示）"


@dataclass(frozen=True)
class DemoCloud:
    name: str
    division_code: str
    owner: str
    vendor: str
    level: str
    outcome: str  # the state the demo leaves the assessment in
    quality: float  # 0..1: how well the invented ratings come out


# Vendors: the eight 2018 trusted-platform award winners (real names) and three invented ones.
TELECOM = "中国电信集团有限公司"
CHUTIANYUN = "湖北省楚天云有限公司"
DIGITAL_GD = "数字广东网络建设有限公司"
CLOUD_TIMES = "山西云时代技术有限公司"
INSPUR = "浪潮软件集团有限公司"  # vendor1's organisation (accounts.demo)
JD = "北京京东叁佰陆拾度电子商务有限公司"  # vendor2's organisation (accounts.demo)
SUGON = "曙光云计算集团有限公司"
DEMO_A, DEMO_B, DEMO_C = (
    "演示云服务商甲（演示）",
    "演示云服务商乙（演示）",
    "演示云服务商丙（演示）",
)

VENDORS = [TELECOM, CHUTIANYUN, DIGITAL_GD, CLOUD_TIMES, INSPUR, JD, SUGON, DEMO_A, DEMO_B, DEMO_C]

P, M = Cloud.Level.PROVINCIAL, Cloud.Level.MUNICIPAL
S = Assessment.State

# The 2018 top ten first (seed order), then invented clouds for a realistic campaign.
DEMO_CLOUDS: list[DemoCloud] = [
    DemoCloud(
        "上海市电子政务云平台（电信）",
        "310000",
        "上海市政务云主管部门（演示）",
        TELECOM,
        P,
        S.APPROVED,
        0.95,
    ),
    DemoCloud(
        "数字广东政务云", "440000", "广东省政务云主管部门（演示）", DIGITAL_GD, P, S.APPROVED, 0.93
    ),
    DemoCloud(
        "湖北省政务云楚天云平台",
        "420000",
        "湖北省政务云主管部门（演示）",
        CHUTIANYUN,
        P,
        S.APPROVED,
        0.9,
    ),
    DemoCloud(
        "湖南省省级电子政务外网统一云平台",
        "430000",
        "湖南省政务云主管部门（演示）",
        DEMO_A,
        P,
        S.APPROVED,
        0.86,
    ),
    DemoCloud(
        "宁夏电子政务公共云平台",
        "640000",
        "宁夏回族自治区政务云主管部门（演示）",
        TELECOM,
        P,
        S.APPROVED,
        0.84,
    ),
    DemoCloud(
        "山西省政务云平台", "140000", "山西省政务云主管部门（演示）", CLOUD_TIMES, P, S.SCORED, 0.82
    ),
    DemoCloud("济南政务云计算中心", "370100", "济南市大数据局", INSPUR, M, S.DRAFT, 0.9),
    DemoCloud(
        "抚州政务云平台", "361000", "抚州市政务云主管部门（演示）", SUGON, M, S.APPROVED, 0.85
    ),
    DemoCloud("嘉兴政务云", "330400", "嘉兴市政务云主管部门（演示）", TELECOM, M, S.APPROVED, 0.83),
    DemoCloud("宿迁政务云", "321300", "宿迁市政务云主管部门（演示）", JD, M, S.SUBMITTED, 0.8),
    DemoCloud(
        "北京市政务云（演示）",
        "110000",
        "北京市政务云主管部门（演示）",
        DEMO_B,
        P,
        S.APPROVED,
        0.78,
    ),
    DemoCloud(
        "天津市政务云（演示）", "120000", "天津市政务云主管部门（演示）", DEMO_C, P, S.APPROVED, 0.6
    ),
    DemoCloud(
        "河北省政务云（演示）",
        "130000",
        "河北省政务云主管部门（演示）",
        DEMO_A,
        P,
        S.IN_REVIEW,
        0.55,
    ),
    DemoCloud(
        "江苏省政务云（演示）", "320000", "江苏省政务云主管部门（演示）", DEMO_B, P, S.APPROVED, 0.8
    ),
    DemoCloud(
        "浙江省政务云（演示）", "330000", "浙江省政务云主管部门（演示）", DEMO_C, P, S.SCORED, 0.88
    ),
    DemoCloud(
        "福建省政务云（演示）",
        "350000",
        "福建省政务云主管部门（演示）",
        DEMO_A,
        P,
        S.RETURNED,
        0.65,
    ),
    DemoCloud(
        "四川省政务云（演示）",
        "510000",
        "四川省政务云主管部门（演示）",
        DEMO_B,
        P,
        S.IN_REVIEW,
        0.7,
    ),
    DemoCloud(
        "贵州省政务云（演示）",
        "520000",
        "贵州省政务云主管部门（演示）",
        DEMO_C,
        P,
        S.SUBMITTED,
        0.75,
    ),
    DemoCloud(
        "重庆市政务云（演示）", "500000", "重庆市政务云主管部门（演示）", DEMO_A, P, S.DRAFT, 0.7
    ),
    DemoCloud(
        "陕西省政务云（演示）", "610000", "陕西省政务云主管部门（演示）", DEMO_B, P, S.DRAFT, 0.6
    ),
    DemoCloud(
        "广西壮族自治区政务云（演示）",
        "450000",
        "广西壮族自治区政务云主管部门（演示）",
        DEMO_C,
        P,
        S.SUBMITTED,
        0.62,
    ),
    DemoCloud(
        "云南省政务云（演示）", "530000", "云南省政务云主管部门（演示）", DEMO_A, P, S.DRAFT, 0.5
    ),
    DemoCloud(
        "甘肃省政务云（演示）", "620000", "甘肃省政务云主管部门（演示）", DEMO_B, P, S.DRAFT, 0.45
    ),
    DemoCloud(
        "安徽省政务云（演示）", "340000", "安徽省政务云主管部门（演示）", DEMO_C, P, S.SCORED, 0.72
    ),
    DemoCloud(
        "河南省政务云（演示）", "410000", "河南省政务云主管部门（演示）", DEMO_A, P, S.DRAFT, 0.58
    ),
    DemoCloud(
        "杭州市政务云（演示）",
        "330100",
        "杭州市政务云主管部门（演示）",
        DEMO_B,
        M,
        S.APPROVED,
        0.87,
    ),
    DemoCloud(
        "南京市政务云（演示）",
        "320100",
        "南京市政务云主管部门（演示）",
        DEMO_C,
        M,
        S.APPROVED,
        0.74,
    ),
    DemoCloud(
        "成都市政务云（演示）",
        "510100",
        "成都市政务云主管部门（演示）",
        DEMO_A,
        M,
        S.IN_REVIEW,
        0.79,
    ),
    DemoCloud(
        "武汉市政务云（演示）",
        "420100",
        "武汉市政务云主管部门（演示）",
        DEMO_B,
        M,
        S.RETURNED,
        0.68,
    ),
    DemoCloud(
        "青岛市政务云（演示）",
        "370200",
        "青岛市政务云主管部门（演示）",
        DEMO_C,
        M,
        S.SUBMITTED,
        0.73,
    ),
    DemoCloud(
        "厦门市政务云（演示）", "350200", "厦门市政务云主管部门（演示）", DEMO_A, M, S.SCORED, 0.81
    ),
    DemoCloud(
        "深圳市政务云（演示）",
        "440300",
        "深圳市政务云主管部门（演示）",
        DEMO_B,
        M,
        S.IN_REVIEW,
        0.9,
    ),
    DemoCloud(
        "苏州市政务云（演示）", "320500", "苏州市政务云主管部门（演示）", DEMO_C, M, S.DRAFT, 0.77
    ),
    DemoCloud(
        "合肥市政务云（演示）", "340100", "合肥市政务云主管部门（演示）", DEMO_A, M, S.DRAFT, 0.66
    ),
    DemoCloud(
        "长沙市政务云（演示）", "430100", "长沙市政务云主管部门（演示）", DEMO_B, M, S.APPROVED, 0.7
    ),
    DemoCloud(
        "贵阳市政务云（演示）", "520100", "贵阳市政务云主管部门（演示）", DEMO_C, M, S.DRAFT, 0.69
    ),
    DemoCloud(
        "无锡市政务云（演示）", "320200", "无锡市政务云主管部门（演示）", DEMO_A, M, S.EXCLUDED, 0.6
    ),
]


def _organisation(name: str, kind: str, division_code: str = "") -> Organisation:
    existing = Organisation.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return account_services.organisation_create(
        kind=kind, name=name, division_code=division_code, is_demo=True, acting_user=None
    )


def _demo_rating(rng: random.Random, quality: float, maximum: int) -> int:
    """An invented rating around ``quality`` × maximum."""
    value = quality * maximum + rng.uniform(-0.9, 0.9)
    return max(0, min(maximum, round(value)))


def _demo_value(indicator: Indicator, rating: int) -> Decimal | None:
    """An invented measured value that sits at the anchor of the invented rating."""
    if not indicator.is_quantitative:
        return None
    anchors = {level.rating: level.anchor for level in indicator.rubric.all()}
    value = anchors.get(rating) or anchors.get(1) or Decimal("0")
    return Decimal(value)


def _answer(
    assessment: Assessment, vendor: User, rng: random.Random, quality: float, share: float = 1.0
) -> None:
    maximum = assessment.campaign.framework.max_rating
    for indicator in selectors.indicators_of(assessment=assessment):
        if rng.random() > share:
            continue
        rating = _demo_rating(rng, quality + 0.05, maximum)
        services.answer_save(
            assessment=assessment,
            indicator=indicator,
            self_rating=None if indicator.is_mandatory else rating,
            self_met=True if indicator.is_mandatory else None,
            value=_demo_value(indicator, rating),
            explanation=f"（演示）{indicator.name_zh}：本平台自评为“{rating}”，详见所附佐证材料。",
            acting_user=vendor,
        )


def _rate(
    assessment: Assessment,
    rng: random.Random,
    quality: float,
    *,
    submit: bool,
    split_on: str | None = None,
) -> None:
    maximum = assessment.campaign.framework.max_rating
    for number, assignment in enumerate(assessment.assignments.select_related("assessor")):
        for indicator in selectors.indicators_of(assessment=assessment):
            rating = _demo_rating(rng, quality, maximum)
            if split_on == indicator.code:  # a disagreement for the lead to settle
                rating = 1 if number == 0 else 3
            services.rating_save(
                assignment=assignment,
                indicator=indicator,
                rating=None if indicator.is_mandatory else rating,
                met=True if indicator.is_mandatory else None,
                rationale=f"（演示）依据自评说明与佐证材料，评为“{rating}”。",
                acting_user=assignment.assessor,
            )
        if submit:
            services.assignment_submit(assignment=assignment, acting_user=assignment.assessor)


def _settle_and_approve(assessment: Assessment, admin: User) -> None:
    indicators = {i.pk: i for i in selectors.indicators_of(assessment=assessment)}
    for indicator_id in selectors.unsettled_disagreements(assessment=assessment):
        services.settlement_save(
            assessment=assessment,
            indicator=indicators[indicator_id],
            rating=2,
            reason="（演示）专家组合议后确定。",
            acting_user=admin,
        )
    services.assessment_approve(assessment=assessment, acting_user=admin)


@transaction.atomic
def load_demo_campaign(*, year: int | None = None, final: bool = False) -> Campaign:
    """Creates the demo organisations, clouds and the demo comprehensive campaign, and moves each
    assessment to its demo state through the workflow services. Idempotent: an existing demo
    campaign is returned untouched.

    ``final``: a finished campaign of an earlier year, every assessment approved and the campaign
    closed (what a previous year's ranking is built from).
    """
    year = year or timezone.localdate().year
    name = DEMO_CAMPAIGN_NAME.format(year=year)
    existing = Campaign.objects.filter(name=name).first()
    if existing is not None:
        return existing

    default_catalogs_load(acting_user=None)
    framework = Framework.objects.get(
        kind=Framework.Kind.COMPREHENSIVE,
        code="comprehensive-model",
        state=Framework.State.PUBLISHED,
    )
    users = {u.username: u for u in User.objects.filter(is_demo=True)}
    admin, assessor1, assessor2 = users["admin"], users["assessor1"], users["assessor2"]
    vendor_users = {
        INSPUR: users["vendor1"],
        JD: users["vendor2"],
    }

    vendors = {name: _organisation(name, Organisation.Kind.VENDOR) for name in VENDORS}
    for vendor_name, organisation in vendors.items():
        if vendor_name not in vendor_users:
            vendor_users[vendor_name] = User.objects.filter(
                username=f"demo-vendor-{VENDORS.index(vendor_name)}"
            ).first() or account_services.user_create(
                username=f"demo-vendor-{VENDORS.index(vendor_name)}",
                password=_random_password(),
                role=User.Role.VENDOR,
                organisation=organisation,
                display_name=f"{vendor_name}填报人（演示）",
                is_demo=True,
                acting_user=None,
            )

    today = timezone.localdate()
    opens_on, closes_on = (
        (datetime.date(year, 3, 1), datetime.date(year, 6, 30))
        if final
        else (today - datetime.timedelta(days=40), today + datetime.timedelta(days=20))
    )
    campaign = services.campaign_create(
        name=name,
        year=year,
        framework=framework,
        opens_on=opens_on,
        closes_on=closes_on,
        is_demo=True,
        acting_user=admin,
    )
    services.campaign_set_state(campaign=campaign, state=Campaign.State.OPEN, acting_user=admin)

    rng = random.Random(f"govcloud-eval-demo-{year}")
    for spec in DEMO_CLOUDS:
        division = division_lookup(spec.division_code)
        assert division is not None, f"demo division code {spec.division_code} is not published"
        owner = _organisation(spec.owner, Organisation.Kind.GOVERNMENT, spec.division_code)
        cloud = Cloud.objects.filter(name=spec.name).first() or services.cloud_create(
            name=spec.name,
            owner=owner,
            vendors=[vendors[spec.vendor]],
            level=spec.level,
            on_internet=spec.level == P,
            is_demo=True,
            acting_user=None,
        )
        (assessment,) = services.campaign_add_clouds(
            campaign=campaign, clouds=[cloud], acting_user=admin
        )
        for assessor in (assessor1, assessor2):
            services.assignment_create(assessment=assessment, assessor=assessor, acting_user=admin)
        vendor = vendor_users[spec.vendor]
        if final:
            spec = dataclasses.replace(spec, outcome=S.APPROVED)
        _advance(assessment, spec, vendor, admin, rng)
    if final:
        services.campaign_set_state(
            campaign=campaign, state=Campaign.State.REVIEWING, acting_user=admin
        )
        services.campaign_set_state(
            campaign=campaign, state=Campaign.State.CLOSED, acting_user=admin
        )
    return campaign


def _advance(
    assessment: Assessment, spec: DemoCloud, vendor: User, admin: User, rng: random.Random
) -> None:
    if spec.outcome == S.DRAFT:
        # Half-filled: the vendor has something left to do when it signs in.
        _answer(assessment, vendor, rng, spec.quality, share=0.5)
        return
    _answer(assessment, vendor, rng, spec.quality)
    attach_demo_evidence(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    if spec.outcome == S.EXCLUDED:
        # Submitted, then taken out of the campaign by the office.
        services.assessment_exclude(
            assessment=assessment,
            reason="（演示）该云平台本年度迁移整合，退出本批次评估。",
            acting_user=admin,
        )
        return
    if spec.outcome == S.SUBMITTED:
        return
    if spec.outcome == S.RETURNED:
        _rate(assessment, rng, spec.quality, submit=False)
        first = selectors.indicators_of(assessment=assessment)[0]
        assignment = assessment.assignments.first()
        assert assignment is not None, "load_demo_campaign assigns assessors before _advance"
        services.review_comment_add(
            assessment=assessment,
            indicator=first,
            text="（演示）请补充近12个月的可用性监测报告。",
            acting_user=assignment.assessor,
        )
        services.assessment_return(
            assessment=assessment,
            comment="（演示）佐证材料不完整，请补充后重新提交。",
            acting_user=admin,
        )
        return
    if spec.outcome == S.IN_REVIEW:
        _rate(assessment, rng, spec.quality, submit=False)
        return
    split = "2.3" if spec.outcome == S.SCORED else None
    _rate(assessment, rng, spec.quality, submit=True, split_on=split)
    if spec.outcome == S.APPROVED:
        _settle_and_approve(assessment, admin)


# Two invented evidence files per submitted self-assessment: a PDF report and a CSV table.
DEMO_EVIDENCE_INDICATORS = {"1.2": "pdf", "2.1": "csv"}


@functools.cache
def _demo_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(
        string=(
            '<html lang="zh-CN"><body style="font-family: \'Noto Sans CJK SC\'">'
            "<h1>平台可用性监测报告（演示）</h1><p>本文件为演示数据，内容系虚构。</p>"
            "<p>统计周期内平台可用性：99.95%。</p></body></html>"
        )
    ).write_pdf()


def attach_demo_evidence(assessment: Assessment, vendor: User) -> None:
    """Uploads two small invented evidence files through the real upload service."""
    today = timezone.localdate()
    for indicator in selectors.indicators_of(assessment=assessment):
        kind = DEMO_EVIDENCE_INDICATORS.get(indicator.code)
        if kind == "pdf":
            upload = SimpleUploadedFile(
                "可用性监测报告（演示）.pdf", _demo_pdf(), content_type="application/pdf"
            )
        elif kind == "csv":
            rows = "部门,是否上云\n" + "".join(
                f"演示部门{n},{'是' if n % 5 else '否'}\n" for n in range(1, 41)
            )
            upload = SimpleUploadedFile(
                "部门上云清单（演示）.csv", rows.encode("utf-8"), content_type="text/csv"
            )
        else:
            continue
        evidence_upload(
            assessment=assessment,
            indicator=indicator,
            upload=upload,
            issued_on=today - datetime.timedelta(days=90),
            valid_until=today + datetime.timedelta(days=275),
            acting_user=vendor,
        )


def _random_password() -> str:
    return secrets.token_urlsafe(24)
