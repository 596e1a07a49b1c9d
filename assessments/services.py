"""Writes of the evaluation workflow: clouds, campaigns, answers, ratings and every transition.

Each function is atomic, validates before it writes (a ValidationError leaves nothing saved),
guards its state change so that two people clicking at once produce one transition, and writes
an audit record in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import Organisation, User
from accounts.policy import Action
from audit.services import audit_record
from audit.transitions import transition
from indicators.models import Framework, Indicator

from . import selectors
from .models import (
    Answer,
    Assessment,
    Assignment,
    Campaign,
    Cloud,
    ConflictDeclaration,
    Rating,
    ReviewComment,
    Settlement,
)
from .signals import scoring_inputs_changed


def _score_after_commit(assessment: Assessment) -> None:
    """Announces that the assessment's scoring inputs changed; the scoring engine listens and
    re-scores it once the transaction commits."""
    scoring_inputs_changed.send(sender=Assessment, assessment_id=assessment.pk)


def assessment_lock(*, assessment: Assessment) -> Assessment:
    """The assessment's row read afresh and locked until the surrounding transaction ends (call
    it inside one). Every write that depends on an assessment's state checks the state it
    locked, so that a transition at the same moment (an approval, say) either waits for the
    write or makes it refuse; a write never lands on an assessment that has just changed."""
    return (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("campaign__framework", "cloud")
        .get(pk=assessment.pk)
    )


# ----------------------------------------------------------------------------------------------
# Clouds and conflicts of interest


@transaction.atomic
def cloud_create(
    *,
    name: str,
    owner: Organisation,
    vendors: list[Organisation],
    level: str,
    name_en: str = "",
    on_extranet: bool = True,
    on_internet: bool = False,
    is_demo: bool = False,
    acting_user: User | None,
) -> Cloud:
    """Creates a cloud owned by a government organisation and operated by vendors. Admins
    only (or the system)."""
    policy.require(acting_user, Action.CLOUD_MANAGE)
    if not vendors:
        raise ValidationError({"vendors": _("A cloud is operated by at least one vendor.")})
    if any(v.kind != Organisation.Kind.VENDOR for v in vendors):
        raise ValidationError({"vendors": _("Only cloud vendors can operate a cloud.")})
    cloud = Cloud(
        name=name,
        name_en=name_en,
        owner=owner,
        level=level,
        on_extranet=on_extranet,
        on_internet=on_internet,
        is_demo=is_demo,
    )
    cloud.full_clean()
    cloud.save()
    cloud.vendors.set(vendors)
    audit_record(
        action="assessments.cloud.created",
        acting_user=acting_user,
        target=cloud,
        changes={"owner": owner.name, "vendors": [v.name for v in vendors], "level": level},
    )
    return cloud


@transaction.atomic
def conflict_declare(
    *, assessor: User, organisation: Organisation, reason: str, acting_user: User
) -> ConflictDeclaration:
    """Records an assessor's link with an organisation; such an assessor is then never assigned
    to that organisation's clouds."""
    policy.require(acting_user, Action.CONFLICT_DECLARE, assessor)
    if not policy.has_role_for(assessor, Action.RATING_SAVE):
        raise ValidationError(_("Only assessors declare conflicts of interest."))
    declaration = ConflictDeclaration(assessor=assessor, organisation=organisation, reason=reason)
    declaration.full_clean()
    declaration.save()
    audit_record(
        action="assessments.conflict.declared",
        acting_user=acting_user,
        target=declaration,
        changes={"organisation": organisation.name, "reason": reason},
    )
    return declaration


# ----------------------------------------------------------------------------------------------
# Campaigns


@transaction.atomic
def campaign_create(
    *,
    name: str,
    year: int,
    framework: Framework,
    opens_on: datetime.date,
    closes_on: datetime.date,
    reference_date: datetime.date | None = None,
    assessors_per_assessment: int = 2,
    is_demo: bool = False,
    acting_user: User,
) -> Campaign:
    """Creates a campaign in draft on a published framework version."""
    policy.require(acting_user, Action.CAMPAIGN_CREATE)
    campaign = Campaign(
        name=name,
        year=year,
        framework=framework,
        opens_on=opens_on,
        closes_on=closes_on,
        reference_date=reference_date,
        assessors_per_assessment=assessors_per_assessment,
        is_demo=is_demo,
        created_by=acting_user,
    )
    campaign.full_clean()
    campaign.save()
    audit_record(
        action="assessments.campaign.created",
        acting_user=acting_user,
        target=campaign,
        changes={"framework": f"{framework.code} {framework.version}", "year": year},
    )
    return campaign


@transaction.atomic
def campaign_add_clouds(
    *, campaign: Campaign, clouds: Iterable[Cloud], acting_user: User
) -> list[Assessment]:
    """Adds one assessment per cloud. Clouds already in the campaign are left as they are.

    Returns the assessments created by this call. The campaign row is locked first, so that a
    review starting at the same moment either sees the new clouds or refuses them.
    """
    policy.require(acting_user, Action.CAMPAIGN_ADD_CLOUDS)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    policy.require(acting_user, Action.CAMPAIGN_ADD_CLOUDS, campaign)
    existing = set(campaign.assessments.values_list("cloud_id", flat=True))
    created = []
    for cloud in clouds:
        if cloud.pk in existing:
            continue
        assessment = Assessment(campaign=campaign, cloud=cloud)
        assessment.full_clean(validate_constraints=False)
        assessment.save()
        existing.add(cloud.pk)
        created.append(assessment)
        audit_record(
            action="assessments.assessment.created",
            acting_user=acting_user,
            target=assessment,
            changes={"campaign": campaign.name, "cloud": cloud.name},
        )
    return created


# Keyed by str too, so that any posted state can be looked up.
_CAMPAIGN_FLOW: dict[str, list[Campaign.State]] = {
    Campaign.State.OPEN: [Campaign.State.DRAFT],
    Campaign.State.REVIEWING: [Campaign.State.OPEN],
    Campaign.State.CLOSED: [Campaign.State.REVIEWING],
}


@transaction.atomic
def campaign_set_state(*, campaign: Campaign, state: str, acting_user: User) -> Campaign:
    """draft → open → reviewing → closed, one step at a time."""
    policy.require(acting_user, Action.CAMPAIGN_SET_STATE)
    if state not in _CAMPAIGN_FLOW:
        raise ValidationError(_("Unknown campaign state."))
    if (
        state == Campaign.State.CLOSED
        and campaign.assessments.exclude(state=Assessment.State.APPROVED).exists()
    ):
        raise ValidationError(_("Every assessment must be approved before the campaign closes."))
    return transition(
        campaign,
        from_states=_CAMPAIGN_FLOW[state],
        to_state=state,
        action=f"assessments.campaign.{state}",
        acting_user=acting_user,
    )


@transaction.atomic
def assignment_create(*, assessment: Assessment, assessor: User, acting_user: User) -> Assignment:
    """Assigns an assessor, refusing conflicts of interest and more assessors than the campaign
    allows. Raises ValidationError saying why."""
    policy.require(acting_user, Action.ASSIGNMENT_CREATE)
    if not policy.has_role_for(assessor, Action.RATING_SAVE):
        raise ValidationError(_("%(user)s is not an assessor.") % {"user": assessor})
    assessment = (
        Assessment.objects.select_for_update()
        .select_related("campaign", "cloud")
        .get(pk=assessment.pk)
    )
    policy.require(acting_user, Action.ASSIGNMENT_CREATE, assessment)
    reasons = selectors.assessor_conflicts(assessor=assessor, cloud=assessment.cloud)
    if reasons:
        raise ValidationError(
            _("Conflict of interest: %(reasons)s") % {"reasons": " ".join(reasons)}
        )
    if assessment.assignments.filter(assessor=assessor).exists():
        raise ValidationError(_("%(user)s is already assigned.") % {"user": assessor})
    limit = assessment.campaign.assessors_per_assessment
    if assessment.assignments.count() >= limit:
        raise ValidationError(
            _("This cloud already has %(n)s assessors, the campaign's number.") % {"n": limit}
        )
    assignment = Assignment.objects.create(assessment=assessment, assessor=assessor)
    audit_record(
        action="assessments.assignment.created",
        acting_user=acting_user,
        target=assessment,
        changes={"assessor": assessor.username},
    )
    return assignment


# ----------------------------------------------------------------------------------------------
# The vendor's self-assessment


def _indicator_of(assessment: Assessment, indicator: Indicator) -> Indicator:
    if indicator.framework_id != assessment.campaign.framework_id:
        raise ValidationError(_("This indicator is not in the campaign's framework."))
    return indicator


def _check_rating(framework: Framework, rating: int | None) -> None:
    maximum = framework.max_rating
    if rating is not None and not 0 <= rating <= maximum:
        raise ValidationError(
            {"rating": _("A rating is a whole number from 0 to %(max)s.") % {"max": maximum}}
        )


@transaction.atomic
def answer_save(
    *,
    assessment: Assessment,
    indicator: Indicator,
    self_rating: int | None = None,
    self_met: bool | None = None,
    value: Decimal | None = None,
    explanation: str = "",
    acting_user: User,
) -> Answer:
    """Saves (creates or replaces) the vendor's draft answer to one indicator.

    Allowed while the assessment is a draft or returned; partial answers are fine (drafts).
    """
    assessment = assessment_lock(assessment=assessment)
    policy.require(acting_user, Action.ASSESSMENT_ANSWER, assessment)
    _indicator_of(assessment, indicator)
    _check_rating(assessment.campaign.framework, self_rating)
    answer, _created = Answer.objects.get_or_create(assessment=assessment, indicator=indicator)
    answer.self_rating = self_rating
    answer.self_met = self_met
    answer.value = value
    answer.explanation = explanation
    answer.updated_by = acting_user
    # The related objects are the ones just checked; skip re-reading each from the database.
    answer.full_clean(validate_constraints=False, exclude=["assessment", "indicator", "updated_by"])
    answer.save()
    return answer


@transaction.atomic
def assessment_submit(*, assessment: Assessment, acting_user: User) -> Assessment:
    """Submits the self-assessment: draft or returned → submitted.

    Refused, naming every missing answer, unless each indicator is answered. Afterwards the
    vendor can no longer change answers or remove evidence (until it is returned).
    """
    policy.require(acting_user, Action.ASSESSMENT_SUBMIT, assessment)
    missing = selectors.answers_missing(assessment=assessment)
    if missing:
        raise ValidationError(
            [
                _("%(code)s %(name)s: %(what)s")
                % {
                    "code": m.indicator.code,
                    "name": m.indicator.name_zh,
                    "what": "、".join(m.problems),
                }
                for m in missing
            ]
        )
    transition(
        assessment,
        from_states=[Assessment.State.DRAFT, Assessment.State.RETURNED],
        to_state=Assessment.State.SUBMITTED,
        extra={"submitted_at": timezone.now()},
        action="assessments.assessment.submitted",
        acting_user=acting_user,
    )
    # Assessors re-score a resubmitted assessment.
    assessment.assignments.update(state=Assignment.State.SCORING, submitted_at=None)
    return assessment


# ----------------------------------------------------------------------------------------------
# Assessors


def assignment_check_may_score(*, assignment: Assignment, acting_user: User) -> None:
    """Raises unless ``acting_user`` is the assigned assessor and scoring is open for them:
    PermissionDenied for anyone else, ValidationError once the assessment is not open for
    scoring or the assessor has submitted. Writes nothing."""
    policy.require(acting_user, Action.RATING_SAVE, assignment)


@transaction.atomic
def rating_save(
    *,
    assignment: Assignment,
    indicator: Indicator,
    rating: int | None = None,
    met: bool | None = None,
    rationale: str = "",
    acting_user: User,
) -> Rating:
    """Saves an assessor's draft rating of one indicator. The first rating of a submitted
    assessment moves it into review."""
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("assessment__campaign__framework")
        .get(pk=assignment.pk)
    )
    assignment_check_may_score(assignment=assignment, acting_user=acting_user)
    assessment = assignment.assessment
    _indicator_of(assessment, indicator)
    _check_rating(assessment.campaign.framework, rating)
    if assessment.state == Assessment.State.SUBMITTED:
        transition(
            assessment,
            from_states=[Assessment.State.SUBMITTED],
            to_state=Assessment.State.IN_REVIEW,
            action="assessments.assessment.review_started",
            acting_user=acting_user,
        )
    record, _created = Rating.objects.get_or_create(assignment=assignment, indicator=indicator)
    record.rating = rating
    record.met = met
    record.rationale = rationale
    record.full_clean(validate_constraints=False, exclude=["assignment", "indicator"])
    record.save()
    return record


@transaction.atomic
def assignment_submit(*, assignment: Assignment, acting_user: User) -> Assignment:
    """Submits an assessor's scores once every indicator has a rating and a rationale. When the
    last assessor submits, the assessment becomes scored."""
    policy.require(acting_user, Action.ASSIGNMENT_SUBMIT, assignment)
    missing = selectors.ratings_missing(assignment=assignment)
    if missing:
        raise ValidationError(
            [
                _("%(code)s %(name)s: a rating and its rationale")
                % {"code": i.code, "name": i.name_zh}
                for i in missing
            ]
        )
    transition(
        assignment,
        from_states=[Assignment.State.SCORING],
        to_state=Assignment.State.SUBMITTED,
        extra={"submitted_at": timezone.now()},
    )
    assessment = assignment.assessment
    audit_record(
        action="assessments.assignment.submitted",
        acting_user=acting_user,
        target=assessment,
        changes={"assessor": acting_user.username},
    )
    if not assessment.assignments.exclude(state=Assignment.State.SUBMITTED).exists():
        transition(
            assessment,
            from_states=[Assessment.State.IN_REVIEW],
            to_state=Assessment.State.SCORED,
            action="assessments.assessment.scored",
            acting_user=acting_user,
        )
        _score_after_commit(assessment)
    return assignment


@transaction.atomic
def review_comment_add(
    *, assessment: Assessment, indicator: Indicator | None, text: str, acting_user: User
) -> ReviewComment:
    """A comment for the vendor, sent when the assessment is returned."""
    policy.require(acting_user, Action.REVIEW_COMMENT_ADD, assessment)
    if not text.strip():
        raise ValidationError({"text": _("Write the comment.")})
    if indicator is not None:
        _indicator_of(assessment, indicator)
    comment = ReviewComment(
        assessment=assessment, indicator=indicator, author=acting_user, text=text.strip()
    )
    comment.full_clean()
    comment.save()
    return comment


# ----------------------------------------------------------------------------------------------
# The lead: return, settle, approve


@transaction.atomic
def assessment_return(*, assessment: Assessment, comment: str, acting_user: User) -> Assessment:
    """Sends the assessment back to the vendor with the reviewers' comments."""
    policy.require(acting_user, Action.ASSESSMENT_RETURN)
    locked = assessment_lock(assessment=assessment)
    policy.require(acting_user, Action.ASSESSMENT_RETURN, locked)
    if not comment.strip():
        raise ValidationError({"comment": _("Say why the assessment goes back to the vendor.")})
    old = locked.state
    transition(
        assessment,
        from_states=[old],
        to_state=Assessment.State.RETURNED,
    )
    ReviewComment.objects.create(assessment=assessment, author=acting_user, text=comment.strip())
    sent = assessment.review_comments.filter(returned_at__isnull=True).update(
        returned_at=timezone.now()
    )
    audit_record(
        action="assessments.assessment.returned",
        acting_user=acting_user,
        target=assessment,
        changes={"from": old, "to": "returned", "comment": comment.strip(), "comments": sent},
    )
    return assessment


@transaction.atomic
def settlement_save(
    *,
    assessment: Assessment,
    indicator: Indicator,
    rating: int | None = None,
    met: bool | None = None,
    reason: str,
    acting_user: User,
) -> Settlement:
    """The lead's rating where assessors disagree; it replaces the mean. Refused once the
    assessment is approved, even by an approval at the same moment (the row is locked)."""
    policy.require(acting_user, Action.ASSESSMENT_SETTLE)
    assessment = assessment_lock(assessment=assessment)
    policy.require(acting_user, Action.ASSESSMENT_SETTLE, assessment)
    _indicator_of(assessment, indicator)
    _check_rating(assessment.campaign.framework, rating)
    if (met is None) if indicator.is_mandatory else (rating is None):
        raise ValidationError(_("Choose the settled rating."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the settled rating.")})
    try:
        with transaction.atomic():
            settlement, created = Settlement.objects.update_or_create(
                assessment=assessment,
                indicator=indicator,
                defaults={
                    "rating": rating,
                    "met": met,
                    "reason": reason.strip(),
                    "settled_by": acting_user,
                },
            )
    except IntegrityError as exc:  # a concurrent settle of the same indicator
        raise ValidationError(_("Someone settled this at the same time; reload.")) from exc
    if assessment.state == Assessment.State.SCORED:
        _score_after_commit(assessment)
    audit_record(
        action="assessments.rating.settled",
        acting_user=acting_user,
        target=assessment,
        changes={
            "indicator": indicator.code,
            "rating": rating,
            "met": met,
            "reason": reason.strip(),
        },
    )
    return settlement


@transaction.atomic
def assessment_approve(*, assessment: Assessment, acting_user: User) -> Assessment:
    """scored → approved, once every disagreement is settled. Approved assessments never change.
    The row is locked first: a settlement or veto saved at the same moment is either in the
    approved assessment or refused."""
    policy.require(acting_user, Action.ASSESSMENT_APPROVE)
    locked = assessment_lock(assessment=assessment)
    policy.require(acting_user, Action.ASSESSMENT_APPROVE, locked)
    unsettled = selectors.unsettled_disagreements(assessment=locked)
    if unsettled:
        codes = Indicator.objects.filter(pk__in=unsettled).values_list("code", flat=True)
        raise ValidationError(
            _("Settle the disagreements first: %(codes)s") % {"codes": ", ".join(codes)}
        )
    return transition(
        assessment,
        from_states=[Assessment.State.SCORED],
        to_state=Assessment.State.APPROVED,
        extra={"approved_at": timezone.now(), "approved_by": acting_user},
        action="assessments.assessment.approved",
        acting_user=acting_user,
    )
