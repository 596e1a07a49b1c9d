"""Writes of the evaluation workflow: clouds, campaigns, answers, ratings and every transition.

Each function is atomic, validates before it writes (a ValidationError leaves nothing saved),
guards its state change so that two people clicking at once produce one transition, and writes
an audit record in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from audit.services import audit_record
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


def _require_role(user: User, *roles: str) -> None:
    if user is None or user.role not in roles:
        raise PermissionDenied(_("Your role may not do this."))


def _transition(
    model: type[Assessment] | type[Campaign] | type[Assignment],
    obj: Assessment | Campaign | Assignment,
    *,
    from_states: Iterable[str],
    to_state: str,
    extra: dict[str, object] | None = None,
) -> None:
    """Moves ``obj`` to ``to_state`` only if it is still in one of ``from_states``.

    The conditional UPDATE makes concurrent requests safe: exactly one of them changes the row,
    the others get a ValidationError naming the state the object is really in.
    """
    from_states = list(from_states)
    changed = model.objects.filter(pk=obj.pk, state__in=from_states).update(
        state=to_state, **(extra or {})
    )
    if changed != 1:
        current = model.objects.filter(pk=obj.pk).values_list("state", flat=True).first()
        raise ValidationError(
            _("This cannot be done now: it is %(state)s.")
            % {"state": model.State(current).label if current else _("gone")}
        )
    obj.state = to_state
    for key, value in (extra or {}).items():
        setattr(obj, key, value)


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
    """Creates a cloud owned by a government organisation and operated by vendors."""
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
    if assessor.role != User.Role.ASSESSOR:
        raise ValidationError(_("Only assessors declare conflicts of interest."))
    if acting_user.pk != assessor.pk and acting_user.role != User.Role.ADMIN:
        raise PermissionDenied(_("Your role may not do this."))
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
    _require_role(acting_user, User.Role.ADMIN)
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

    Returns the assessments created by this call.
    """
    _require_role(acting_user, User.Role.ADMIN)
    if campaign.state not in (Campaign.State.DRAFT, Campaign.State.OPEN):
        raise ValidationError(_("Clouds can be added only before the review starts."))
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


_CAMPAIGN_FLOW = {
    Campaign.State.OPEN: [Campaign.State.DRAFT],
    Campaign.State.REVIEWING: [Campaign.State.OPEN],
    Campaign.State.CLOSED: [Campaign.State.REVIEWING],
}


@transaction.atomic
def campaign_set_state(*, campaign: Campaign, state: str, acting_user: User) -> Campaign:
    """draft → open → reviewing → closed, one step at a time."""
    _require_role(acting_user, User.Role.ADMIN)
    if state not in _CAMPAIGN_FLOW:
        raise ValidationError(_("Unknown campaign state."))
    if (
        state == Campaign.State.CLOSED
        and campaign.assessments.exclude(state=Assessment.State.APPROVED).exists()
    ):
        raise ValidationError(_("Every assessment must be approved before the campaign closes."))
    old = campaign.state
    _transition(Campaign, campaign, from_states=_CAMPAIGN_FLOW[state], to_state=state)
    audit_record(
        action=f"assessments.campaign.{state}",
        acting_user=acting_user,
        target=campaign,
        changes={"from": old, "to": state},
    )
    return campaign


@transaction.atomic
def assignment_create(*, assessment: Assessment, assessor: User, acting_user: User) -> Assignment:
    """Assigns an assessor, refusing conflicts of interest and more assessors than the campaign
    allows. Raises ValidationError saying why."""
    _require_role(acting_user, User.Role.ADMIN)
    if assessor.role != User.Role.ASSESSOR:
        raise ValidationError(_("%(user)s is not an assessor.") % {"user": assessor})
    assessment = (
        Assessment.objects.select_for_update()
        .select_related("campaign", "cloud")
        .get(pk=assessment.pk)
    )
    if assessment.state in (Assessment.State.SCORED, Assessment.State.APPROVED):
        raise ValidationError(_("Assessors cannot be added after scoring."))
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


def _vendor_may_edit(user: User, assessment: Assessment) -> None:
    if (
        user.role != User.Role.VENDOR
        or not assessment.cloud.vendors.filter(pk=user.organisation_id).exists()
    ):
        raise PermissionDenied(_("Only the cloud's vendors fill in its self-assessment."))


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
    assessment = (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("campaign__framework")
        .get(pk=assessment.pk)
    )
    _vendor_may_edit(acting_user, assessment)
    if not assessment.vendor_can_edit:
        raise ValidationError(
            _("The self-assessment was submitted; it can change only if it is returned.")
        )
    if assessment.campaign.state != Campaign.State.OPEN:
        raise ValidationError(_("The campaign is not open for self-assessments."))
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
    _vendor_may_edit(acting_user, assessment)
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
    old = assessment.state
    _transition(
        Assessment,
        assessment,
        from_states=[Assessment.State.DRAFT, Assessment.State.RETURNED],
        to_state=Assessment.State.SUBMITTED,
        extra={"submitted_at": timezone.now()},
    )
    # Assessors re-score a resubmitted assessment.
    assessment.assignments.update(state=Assignment.State.SCORING, submitted_at=None)
    audit_record(
        action="assessments.assessment.submitted",
        acting_user=acting_user,
        target=assessment,
        changes={"from": old, "to": Assessment.State.SUBMITTED},
    )
    return assessment


# ----------------------------------------------------------------------------------------------
# Assessors


def assignment_check_may_score(*, assignment: Assignment, acting_user: User) -> None:
    """Raises unless ``acting_user`` is the assigned assessor and scoring is open for them:
    PermissionDenied for anyone else, ValidationError once the assessment is not open for
    scoring or the assessor has submitted. Writes nothing."""
    if acting_user.pk != assignment.assessor_id:
        raise PermissionDenied(_("Only the assigned assessor scores this."))
    if not assignment.assessment.assessors_can_score:
        raise ValidationError(_("This assessment is not open for scoring now."))
    if assignment.state != Assignment.State.SCORING:
        raise ValidationError(_("You submitted your scores for this assessment."))


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
        _transition(
            Assessment,
            assessment,
            from_states=[Assessment.State.SUBMITTED],
            to_state=Assessment.State.IN_REVIEW,
        )
        audit_record(
            action="assessments.assessment.review_started",
            acting_user=acting_user,
            target=assessment,
            changes={"from": "submitted", "to": "in_review"},
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
    if acting_user.pk != assignment.assessor_id:
        raise PermissionDenied(_("Only the assigned assessor scores this."))
    missing = selectors.ratings_missing(assignment=assignment)
    if missing:
        raise ValidationError(
            [
                _("%(code)s %(name)s: a rating and its rationale")
                % {"code": i.code, "name": i.name_zh}
                for i in missing
            ]
        )
    _transition(
        Assignment,
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
        _transition(
            Assessment,
            assessment,
            from_states=[Assessment.State.IN_REVIEW],
            to_state=Assessment.State.SCORED,
        )
        audit_record(
            action="assessments.assessment.scored",
            acting_user=acting_user,
            target=assessment,
            changes={"from": "in_review", "to": "scored"},
        )
        _score_after_commit(assessment)
    return assignment


@transaction.atomic
def review_comment_add(
    *, assessment: Assessment, indicator: Indicator | None, text: str, acting_user: User
) -> ReviewComment:
    """A comment for the vendor, sent when the assessment is returned."""
    is_assigned = assessment.assignments.filter(assessor=acting_user).exists()
    if acting_user.role != User.Role.ADMIN and not is_assigned:
        raise PermissionDenied(_("Only assigned assessors and admins comment."))
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
    _require_role(acting_user, User.Role.ADMIN)
    if not comment.strip():
        raise ValidationError({"comment": _("Say why the assessment goes back to the vendor.")})
    old = assessment.state
    _transition(
        Assessment,
        assessment,
        from_states=[
            Assessment.State.SUBMITTED,
            Assessment.State.IN_REVIEW,
            Assessment.State.SCORED,
        ],
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
    """The lead's rating where assessors disagree; it replaces the mean."""
    _require_role(acting_user, User.Role.ADMIN)
    if assessment.state not in (Assessment.State.IN_REVIEW, Assessment.State.SCORED):
        raise ValidationError(_("Ratings are settled during the review."))
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
    """scored → approved, once every disagreement is settled. Approved assessments never change."""
    _require_role(acting_user, User.Role.ADMIN)
    unsettled = selectors.unsettled_disagreements(assessment=assessment)
    if unsettled:
        codes = Indicator.objects.filter(pk__in=unsettled).values_list("code", flat=True)
        raise ValidationError(
            _("Settle the disagreements first: %(codes)s") % {"codes": ", ".join(codes)}
        )
    _transition(
        Assessment,
        assessment,
        from_states=[Assessment.State.SCORED],
        to_state=Assessment.State.APPROVED,
        extra={"approved_at": timezone.now(), "approved_by": acting_user},
    )
    audit_record(
        action="assessments.assessment.approved",
        acting_user=acting_user,
        target=assessment,
        changes={"from": "scored", "to": "approved"},
    )
    return assessment
