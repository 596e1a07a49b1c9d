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
) -> Campaign:
    rng = random.Random(seed)
    today = datetime.date.today()
    owner, _ = Organisation.objects.get_or_create(
        name=f"{name} 主管单位",
        defaults={
            "kind": Organisation.Kind.GOVERNMENT,
            "division_code": "370100",
            "admin_level": "prefecture",
        },
    )
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
