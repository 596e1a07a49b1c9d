"""A campaign of many scored assessments, written with bulk_create.

For the tests and the benchmark that are about scoring, not about the workflow: going through
the workflow services (answer, submit, rate, submit, for every indicator of every assessment)
would take minutes for 400 assessments. The rows written here are the ones those services would
leave behind when every assessor has submitted: assessments in ``scored``, submitted assignments,
a complete rating with a rationale per assessor and indicator, and the vendor's answers with
measured values.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from accounts.models import Organisation, User
from assessments import services as workflow
from assessments.models import Answer, Assessment, Assignment, Campaign, Cloud, Rating
from indicators.models import Framework, Indicator


def bulk_scored_campaign(
    *,
    framework: Framework,
    size: int,
    assessors: list[User],
    admin: User,
    name: str,
    seed: int = 2018,
    owner: Organisation | None = None,
    vendor: Organisation | None = None,
) -> Campaign:
    """``owner`` and ``vendor`` default to organisations named after the campaign; pass them
    to put the clouds of several campaigns under the same owner and vendor."""
    rng = random.Random(seed)
    today = datetime.date.today()
    if owner is None:
        owner, _ = Organisation.objects.get_or_create(
            name=f"{name} 主管单位",
            defaults={
                "kind": Organisation.Kind.GOVERNMENT,
                "division_code": "370100",
                "admin_level": "prefecture",
            },
        )
    if vendor is None:
        vendor, _ = Organisation.objects.get_or_create(
            name=f"{name} 云服务商", defaults={"kind": Organisation.Kind.VENDOR}
        )
    campaign = workflow.campaign_create(
        name=name,
        year=today.year,
        framework=framework,
        opens_on=today - datetime.timedelta(days=30),
        closes_on=today + datetime.timedelta(days=30),
        assessors_per_assessment=len(assessors),
        acting_user=admin,
    )
    clouds = Cloud.objects.bulk_create(
        Cloud(name=f"{name} 政务云 {n:04d}", owner=owner, level=Cloud.Level.MUNICIPAL)
        for n in range(size)
    )
    Cloud.vendors.through.objects.bulk_create(
        Cloud.vendors.through(cloud_id=c.pk, organisation_id=vendor.pk) for c in clouds
    )
    assessments = Assessment.objects.bulk_create(
        Assessment(campaign=campaign, cloud=c, state=Assessment.State.SCORED) for c in clouds
    )
    now = datetime.datetime.now(datetime.UTC)
    assignments = Assignment.objects.bulk_create(
        Assignment(assessment=a, assessor=u, state=Assignment.State.SUBMITTED, submitted_at=now)
        for a in assessments
        for u in assessors
    )
    indicators = list(Indicator.objects.filter(framework=framework).prefetch_related("rubric"))
    answers = []
    for a in assessments:
        for i in indicators:
            anchors = sorted(r.anchor for r in i.rubric.all() if r.anchor is not None)
            value = None
            if anchors:
                value = Decimal(rng.randint(int(anchors[0]), int(anchors[-1]) + 1))
            answers.append(
                Answer(
                    assessment=a,
                    indicator=i,
                    self_rating=None if i.is_mandatory else 2,
                    self_met=True if i.is_mandatory else None,
                    value=value,
                    explanation="自评说明。",
                )
            )
    Answer.objects.bulk_create(answers, batch_size=2000)
    Rating.objects.bulk_create(
        (
            Rating(
                assignment=assignment,
                indicator=i,
                rating=None if i.is_mandatory else rng.randint(1, framework.max_rating),
                met=(rng.random() > 0.1) if i.is_mandatory else None,
                rationale="依据佐证材料核实。",
            )
            for assignment in assignments
            for i in indicators
        ),
        batch_size=2000,
    )
    return campaign


# The states a campaign under way spreads its assessments over, in turn.
UNDER_WAY = (
    Assessment.State.DRAFT,
    Assessment.State.SUBMITTED,
    Assessment.State.IN_REVIEW,
    Assessment.State.RETURNED,
    Assessment.State.SCORED,
    Assessment.State.APPROVED,
)


def bulk_spread_states(*, campaign: Campaign) -> None:
    """Turns a ``bulk_scored_campaign`` into one under way, with a few updates: the campaign in
    review, its assessments spread over the workflow's states in turn (``UNDER_WAY``), the
    ratings of those not yet rated (draft, submitted, returned) removed, and half of the drafts'
    answers (every other indicator) removed."""
    from django.db.models import Case, IntegerField, Value, When
    from django.db.models.functions import Mod

    Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.REVIEWING)
    ours = Assessment.objects.filter(campaign=campaign)
    ours.annotate(slot=Mod("pk", Value(len(UNDER_WAY)), output_field=IntegerField())).update(
        state=Case(
            *[When(slot=n, then=Value(s)) for n, s in enumerate(UNDER_WAY)],
            default=Value(Assessment.State.SCORED),
        )
    )
    unrated = [Assessment.State.DRAFT, Assessment.State.SUBMITTED, Assessment.State.RETURNED]
    Rating.objects.filter(assignment__assessment__in=ours.filter(state__in=unrated)).delete()
    Assignment.objects.filter(assessment__in=ours.filter(state__in=unrated)).update(
        state=Assignment.State.SCORING, submitted_at=None
    )
    every_other = Indicator.objects.filter(framework_id=campaign.framework_id).order_by("order")
    Answer.objects.filter(
        assessment__in=ours.filter(state=Assessment.State.DRAFT),
        indicator__in=list(every_other)[::2],
    ).delete()
    campaign.refresh_from_db()


def bulk_approved_campaign_finish(
    *,
    campaign: Campaign,
    admin: User,
    rationale: str | None = None,
    evidence_per_indicator: int = 0,
) -> None:
    """Takes a ``bulk_scored_campaign`` on to where the workflow leaves it at approval, so that
    its certified reports can be issued: every assessment approved by ``admin``, with its
    current score result (computed by ``reports.scoring.results.assessments_score``, in
    batches). ``rationale`` replaces every rating's rationale (the builder writes a short one);
    ``evidence_per_indicator`` adds that many evidence files to every answer, as rows only: no
    file is stored (a report lists their names and SHA-256, it never reads them)."""
    from django.utils import timezone

    from assessments.models import Evidence
    from reports.scoring.results import assessments_score

    ours = Assessment.objects.filter(campaign=campaign)
    if rationale is not None:
        Rating.objects.filter(assignment__assessment__campaign=campaign).update(rationale=rationale)
    if evidence_per_indicator:
        indicators = list(Indicator.objects.filter(framework=campaign.framework).order_by("pk"))
        Evidence.objects.bulk_create(
            (
                Evidence(
                    assessment_id=pk,
                    indicator=i,
                    file=f"bench/{pk}/{i.pk}-{n}.pdf",
                    original_name=f"{i.code}-佐证材料{n + 1}.pdf",
                    size=1_234_567,
                    sha256=f"{pk:08x}{i.pk:08x}{n:02x}".ljust(64, "e"),
                    content_type="application/pdf",
                    uploaded_by=admin,
                )
                for pk in ours.values_list("pk", flat=True)
                for i in indicators
                for n in range(evidence_per_indicator)
            ),
            batch_size=2000,
        )
    ours.update(state=Assessment.State.APPROVED, approved_at=timezone.now(), approved_by=admin)
    ids = list(ours.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 50):
        assessments_score(assessment_ids=ids[start : start + 50], acting_user=admin)
