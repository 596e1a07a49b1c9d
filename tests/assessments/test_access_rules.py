"""The access policy on real assessments: relations, states and the scopes of each role."""

from __future__ import annotations

import datetime

from django.utils import timezone

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from assessments.models import Assessment


def test_the_vendor_of_the_cloud_answers_only_while_the_campaign_is_open(
    assessment: Assessment, vendor: User, outsider_vendor: User
) -> None:
    assert policy.can(vendor, Action.ASSESSMENT_ANSWER, assessment)
    assert policy.decide(outsider_vendor, Action.ASSESSMENT_ANSWER, assessment).kind == "relation"
    # In review, a draft stays open to its vendor only until its deadline (closes_on here).
    assessment.campaign.state = "reviewing"
    assert policy.can(vendor, Action.ASSESSMENT_ANSWER, assessment)
    assessment.campaign.closes_on = timezone.localdate() - datetime.timedelta(days=1)
    decision = policy.decide(vendor, Action.ASSESSMENT_ANSWER, assessment)
    assert (decision.allowed, decision.kind) == (False, "state")
    assessment.campaign.state = "closed"
    decision = policy.decide(vendor, Action.ASSESSMENT_ANSWER, assessment)
    assert (decision.allowed, decision.kind) == (False, "state")


def test_the_scopes_give_each_role_its_rows(
    assessment: Assessment, users_by_role: dict[str, User], outsider_vendor: User
) -> None:
    def visible(user: User) -> list[int]:
        scope = policy.assessment_scope(user)
        if scope.is_empty:
            return []
        return list(Assessment.objects.filter(scope.q).values_list("pk", flat=True))

    assert visible(users_by_role["admin"]) == [assessment.pk]
    assert visible(users_by_role["vendor"]) == [assessment.pk]
    assert visible(users_by_role["owner"]) == [assessment.pk]
    assert visible(outsider_vendor) == []
    assert visible(users_by_role["auditor"]) == []
    # Not assigned yet: the assessor sees nothing of it.
    assert visible(users_by_role["assessor"]) == []
