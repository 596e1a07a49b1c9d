"""Writes of the evaluation workflow: clouds, campaigns, answers, ratings and every transition.

Each function is atomic, validates before it writes (a ValidationError leaves nothing saved),
guards its state change so that two people clicking at once produce one transition, and writes
an audit record in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.divisions import AdminLevel, division_lookup
from accounts.models import Organisation, User
from accounts.policy import Action
from accounts.services import organisation_create
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
# Free text

# The longest text each kind of field takes, in characters: room for any real explanation or
# rationale, within what a spreadsheet cell holds (32,767: the score sheet carries rationales),
# and refused with a message beyond rather than cut.
EXPLANATION_MAX = 10_000
RATIONALE_MAX = 10_000
COMMENT_MAX = 5_000
REASON_MAX = 2_000


def text_within(text: str, *, limit: int, field: str) -> str:
    """``text`` when it is at most ``limit`` characters; ValidationError on ``field`` (naming
    the length and the limit) otherwise."""
    if len(text) > limit:
        raise ValidationError(
            {
                field: _(
                    "This text is %(length)s characters long; shorten it to %(max)s characters "
                    "or fewer."
                )
                % {"length": f"{len(text):,}", "max": f"{limit:,}"}
            }
        )
    return text


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


# Clouds in the browser: edit, archive, and the organisations a form or an import names.


@dataclass(frozen=True)
class CloudFacts:
    """What an admin says about a cloud, in the form or one row of an import.

    The owner is an existing government organisation (``owner``) or one to create in place
    (``new_owner_name`` with its GB/T 2260 ``new_owner_division_code``); the vendors are existing
    vendor organisations plus any ``new_vendor_names`` (an existing vendor of that name is used).
    """

    name: str
    level: str
    owner: Organisation | None = None
    new_owner_name: str = ""
    new_owner_division_code: str = ""
    vendors: tuple[Organisation, ...] = ()
    new_vendor_names: tuple[str, ...] = ()
    name_en: str = ""
    on_extranet: bool = True
    on_internet: bool = False


# The administrative level an owner's division must have for each level of cloud.
_OWNER_LEVEL = {
    Cloud.Level.PROVINCIAL: AdminLevel.PROVINCIAL,
    Cloud.Level.MUNICIPAL: AdminLevel.PREFECTURE,
}


def cloud_level_problem(*, level: str, division_code: str) -> str | None:
    """Why a cloud of ``level`` cannot be owned by a body of ``division_code``, or None: a
    provincial cloud needs a province-level code, a municipal one a prefecture-level code."""
    division = division_lookup(division_code)
    if division is None:
        return _("%(code)s is not a published GB/T 2260 administrative-division code.") % {
            "code": division_code or "—"
        }
    needed = _OWNER_LEVEL.get(Cloud.Level(level)) if level in Cloud.Level.values else None
    if needed is not None and division.level != needed:
        return _(
            "%(code)s (%(name)s) is %(actual)s; a %(cloud_level)s needs a %(needed)s code."
        ) % {
            "code": division.code,
            "name": division.name_zh,
            "actual": AdminLevel(division.level).label,
            "cloud_level": Cloud.Level(level).label,
            "needed": AdminLevel(needed).label,
        }
    return None


def cloud_facts_problems(*, facts: CloudFacts, cloud: Cloud | None = None) -> dict[str, str]:
    """Every problem with ``facts`` (for a new cloud, or for ``cloud``), by field name: "name",
    "level", "owner", "new_owner_name", "new_owner_division_code", "vendors",
    "new_vendor_names", "zones". Reads the database, writes nothing; empty when all is well."""
    problems: dict[str, str] = {}
    name = facts.name.strip()
    if not name:
        problems["name"] = _("Give the cloud's name.")
    else:
        taken = Cloud.objects.filter(name=name)
        if cloud is not None:
            taken = taken.exclude(pk=cloud.pk)
        if taken.exists():
            problems["name"] = _("A cloud named “%(name)s” already exists.") % {"name": name}
    if facts.level not in Cloud.Level.values:
        problems["level"] = _("Choose provincial or municipal.")
    new_owner = facts.new_owner_name.strip()
    if facts.owner is not None and new_owner:
        problems["owner"] = _("Choose an existing owner or name a new one, not both.")
    elif facts.owner is not None:
        if facts.owner.kind != Organisation.Kind.GOVERNMENT:
            problems["owner"] = _("A cloud is owned by a government organisation.")
        elif facts.level in Cloud.Level.values:
            problem = cloud_level_problem(
                level=facts.level, division_code=facts.owner.division_code
            )
            if problem:
                problems["owner"] = problem
    elif new_owner:
        if Organisation.objects.filter(name=new_owner).exists():
            problems["new_owner_name"] = _(
                "An organisation named “%(name)s” already exists: choose it as the owner."
            ) % {"name": new_owner}
        code = facts.new_owner_division_code.strip()
        if not code:
            problems["new_owner_division_code"] = _(
                "Give the new owner's six-digit administrative-division code (GB/T 2260)."
            )
        elif facts.level in Cloud.Level.values or division_lookup(code) is None:
            problem = cloud_level_problem(level=facts.level, division_code=code)
            if problem:
                problems["new_owner_division_code"] = problem
    else:
        problems["owner"] = _("Choose the owner, or name a new government organisation.")
    if any(v.kind != Organisation.Kind.VENDOR for v in facts.vendors):
        problems["vendors"] = _("Only cloud vendors can operate a cloud.")
    new_vendors = [n.strip() for n in facts.new_vendor_names if n.strip()]
    clashing = sorted(
        Organisation.objects.filter(name__in=new_vendors)
        .exclude(kind=Organisation.Kind.VENDOR)
        .values_list("name", flat=True)
    )
    if clashing:
        problems["new_vendor_names"] = _(
            "%(names)s: an organisation of that name exists and is not a cloud vendor."
        ) % {"names": "、".join(clashing)}
    if not facts.vendors and not new_vendors and "vendors" not in problems:
        problems["vendors"] = _("A cloud is operated by at least one vendor.")
    if not (facts.on_extranet or facts.on_internet):
        problems["zones"] = _("A cloud serves at least one network zone.")
    return problems


def _cloud_vendors_of(facts: CloudFacts, acting_user: User | None) -> list[Organisation]:
    """The existing vendors, then the named ones: found by name or created."""
    vendors = list(facts.vendors)
    for name in dict.fromkeys(n.strip() for n in facts.new_vendor_names if n.strip()):
        vendor = Organisation.objects.filter(name=name, kind=Organisation.Kind.VENDOR).first()
        if vendor is None:
            vendor = organisation_create(
                kind=Organisation.Kind.VENDOR,
                name=name,
                acting_user=acting_user,
                authority=Action.CLOUD_MANAGE,
            )
        if vendor not in vendors:
            vendors.append(vendor)
    return vendors


@transaction.atomic
def cloud_save(*, cloud: Cloud | None = None, facts: CloudFacts, acting_user: User | None) -> Cloud:
    """Creates a cloud (``cloud`` None) or changes ``cloud`` as ``facts`` say, creating the new
    owner and vendor organisations they name. Raises ValidationError keyed by the field names of
    ``cloud_facts_problems`` with nothing saved; re-running with the same facts changes nothing
    more."""
    policy.require(acting_user, Action.CLOUD_MANAGE)
    problems = cloud_facts_problems(facts=facts, cloud=cloud)
    if problems:
        raise ValidationError({field: [message] for field, message in problems.items()})
    owner = facts.owner
    if owner is None:
        owner = organisation_create(
            kind=Organisation.Kind.GOVERNMENT,
            name=facts.new_owner_name.strip(),
            division_code=facts.new_owner_division_code.strip(),
            acting_user=acting_user,
            authority=Action.CLOUD_MANAGE,
        )
    vendors = _cloud_vendors_of(facts, acting_user)
    name, name_en = facts.name.strip(), facts.name_en.strip()
    if cloud is None:
        return cloud_create(
            name=name,
            name_en=name_en,
            owner=owner,
            vendors=vendors,
            level=facts.level,
            on_extranet=facts.on_extranet,
            on_internet=facts.on_internet,
            acting_user=acting_user,
        )
    return cloud_update(
        cloud=cloud,
        name=name,
        name_en=name_en,
        owner=owner,
        vendors=vendors,
        level=facts.level,
        on_extranet=facts.on_extranet,
        on_internet=facts.on_internet,
        acting_user=acting_user,
    )


def cloud_running_campaigns(*, cloud: Cloud) -> list[Campaign]:
    """The campaigns not yet closed in which the cloud has an assessment still in its
    workflow (not excluded): where a change of owner or vendors changes who may act."""
    in_workflow = (
        Assessment.objects.filter(cloud=cloud)
        .exclude(state=Assessment.State.EXCLUDED)
        .exclude(campaign__state=Campaign.State.CLOSED)
        .values("campaign_id")
    )
    return list(Campaign.objects.filter(pk__in=in_workflow).order_by("-year", "name"))


@transaction.atomic
def cloud_update(
    *,
    cloud: Cloud,
    name: str,
    owner: Organisation,
    vendors: list[Organisation],
    level: str,
    name_en: str = "",
    on_extranet: bool = True,
    on_internet: bool = False,
    acting_user: User | None,
) -> Cloud:
    """Changes a cloud's facts, owner and vendors; audits every change with its value before
    and after (nothing when nothing changed).

    Access follows the cloud at once: the users of a vendor taken off no longer fill in its
    self-assessments (those of running campaigns included), the users of a vendor added do,
    and the owner's users read them; answers and evidence already given stay. Raises
    ValidationError with nothing saved."""
    policy.require(acting_user, Action.CLOUD_MANAGE)
    cloud = Cloud.objects.select_for_update().select_related("owner").get(pk=cloud.pk)
    if not vendors:
        raise ValidationError({"vendors": _("A cloud is operated by at least one vendor.")})
    if any(v.kind != Organisation.Kind.VENDOR for v in vendors):
        raise ValidationError({"vendors": _("Only cloud vendors can operate a cloud.")})
    before_vendors = sorted(cloud.vendors.values_list("name", flat=True))
    before = {
        "name": cloud.name,
        "name_en": cloud.name_en,
        "owner": cloud.owner.name,
        "level": cloud.level,
        "on_extranet": cloud.on_extranet,
        "on_internet": cloud.on_internet,
        "vendors": before_vendors,
    }
    cloud.name = name
    cloud.name_en = name_en
    cloud.owner = owner
    cloud.level = level
    cloud.on_extranet = on_extranet
    cloud.on_internet = on_internet
    cloud.full_clean()
    after = {
        "name": name,
        "name_en": name_en,
        "owner": owner.name,
        "level": level,
        "on_extranet": on_extranet,
        "on_internet": on_internet,
        "vendors": sorted(v.name for v in vendors),
    }
    changes: dict[str, object] = {
        key: [before[key], after[key]] for key in before if before[key] != after[key]
    }
    if not changes:
        return cloud
    cloud.save()
    cloud.vendors.set(vendors)
    if "owner" in changes or "vendors" in changes:
        running = cloud_running_campaigns(cloud=cloud)
        if running:
            changes["running_campaigns"] = [c.name for c in running]
    audit_record(
        action="assessments.cloud.updated",
        acting_user=acting_user,
        target=cloud,
        changes=changes,
    )
    return cloud


@transaction.atomic
def cloud_archive(*, cloud: Cloud, acting_user: User) -> Cloud:
    """Archives a cloud: it keeps its assessments and reports but can no longer be added to a
    campaign. Raises ValidationError when it is archived already (two clicks archive once)."""
    policy.require(acting_user, Action.CLOUD_MANAGE)
    now = timezone.now()
    if Cloud.objects.filter(pk=cloud.pk, archived_at__isnull=True).update(archived_at=now) != 1:
        raise ValidationError(_("%(cloud)s is archived already.") % {"cloud": cloud.name})
    cloud.archived_at = now
    audit_record(action="assessments.cloud.archived", acting_user=acting_user, target=cloud)
    return cloud


@transaction.atomic
def cloud_unarchive(*, cloud: Cloud, acting_user: User) -> Cloud:
    """Brings an archived cloud back: it can be added to campaigns again. Raises
    ValidationError when it is not archived."""
    policy.require(acting_user, Action.CLOUD_MANAGE)
    archived = Cloud.objects.filter(pk=cloud.pk, archived_at__isnull=False)
    was = archived.values_list("archived_at", flat=True).first()
    if archived.update(archived_at=None) != 1:
        raise ValidationError(_("%(cloud)s is not archived.") % {"cloud": cloud.name})
    cloud.archived_at = None
    audit_record(
        action="assessments.cloud.unarchived",
        acting_user=acting_user,
        target=cloud,
        changes={"archived_at": was.isoformat() if was else None},
    )
    return cloud


@transaction.atomic
def clouds_import(
    *, rows: list[tuple[Cloud | None, CloudFacts]], acting_user: User
) -> tuple[int, int]:
    """Creates or changes every cloud of an import, each row as ``cloud_save`` does, all or
    nothing: a ValidationError on any row leaves nothing saved. Returns (created, changed)."""
    policy.require(acting_user, Action.CLOUD_MANAGE)
    created = changed = 0
    for cloud, facts in rows:
        if facts.owner is None:
            # A new owner named on several rows is created by the first and found by the rest.
            created_owner = Organisation.objects.filter(
                kind=Organisation.Kind.GOVERNMENT,
                name=facts.new_owner_name.strip(),
                division_code=facts.new_owner_division_code.strip(),
            ).first()
            if created_owner is not None:
                facts = replace(
                    facts, owner=created_owner, new_owner_name="", new_owner_division_code=""
                )
        cloud_save(cloud=cloud, facts=facts, acting_user=acting_user)
        if cloud is None:
            created += 1
        else:
            changed += 1
    audit_record(
        action="assessments.cloud.imported",
        acting_user=acting_user,
        changes={"created": created, "changed": changed},
    )
    return created, changed


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
    scoring_due_on: datetime.date | None = None,
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
        scoring_due_on=scoring_due_on,
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


# What an admin may change of a campaign once it exists; the framework and the year stay.
CAMPAIGN_EDITABLE_FIELDS = (
    "name",
    "opens_on",
    "closes_on",
    "reference_date",
    "assessors_per_assessment",
    "scoring_due_on",
)


@transaction.atomic
def campaign_update(*, campaign: Campaign, acting_user: User, **values: object) -> Campaign:
    """Changes a campaign's name, dates or number of assessors (``CAMPAIGN_EDITABLE_FIELDS``),
    validated as a whole; a closed campaign never changes. Records what changed."""
    policy.require(acting_user, Action.CAMPAIGN_CREATE)
    unknown = set(values) - set(CAMPAIGN_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"campaign_update cannot change {sorted(unknown)}")
    campaign = Campaign.objects.select_for_update().select_related("framework").get(pk=campaign.pk)
    if campaign.state == Campaign.State.CLOSED:
        raise ValidationError(_("The campaign is closed; nothing in it changes any more."))
    changes: dict[str, list[str]] = {}
    for name, value in values.items():
        old = getattr(campaign, name)
        if old != value:
            changes[name] = [str(old) if old is not None else "", str(value or "")]
            setattr(campaign, name, value)
    if not changes:
        return campaign
    campaign.full_clean()
    campaign.save()
    audit_record(
        action="assessments.campaign.updated",
        acting_user=acting_user,
        target=campaign,
        changes=changes,
    )
    return campaign


@transaction.atomic
def campaign_add_clouds(
    *,
    campaign: Campaign,
    clouds: Iterable[Cloud],
    acting_user: User,
    due_on: datetime.date | None = None,
) -> list[Assessment]:
    """Adds one assessment per cloud. Clouds already in the campaign are left as they are.

    A cloud may join late, until the campaign closes: once the review has started its vendors
    need a deadline of their own, ``due_on`` (today or later), which becomes the new
    assessments' ``self_assessment_due_on``; before that ``due_on`` is optional (the campaign's
    ``closes_on`` applies without it).

    Returns the assessments created by this call. The campaign row is locked first, so that a
    review starting at the same moment sees the new clouds. Raises ValidationError, adding
    none, when any of the clouds is archived or the deadline is missing or past.
    """
    policy.require(acting_user, Action.CAMPAIGN_ADD_CLOUDS)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    policy.require(acting_user, Action.CAMPAIGN_ADD_CLOUDS, campaign)
    if due_on is None and campaign.state == Campaign.State.REVIEWING:
        raise ValidationError(
            {
                "due_on": _(
                    "The review has started: give the vendors of the clouds you add a deadline "
                    "for their self-assessment."
                )
            }
        )
    if due_on is not None and due_on < timezone.localdate():
        raise ValidationError({"due_on": _("The deadline cannot be in the past.")})
    existing = set(campaign.assessments.values_list("cloud_id", flat=True))
    clouds = list(clouds)
    # Archived clouds keep their history but join no campaign (read afresh: the picker's
    # list may be older than an archiving).
    archived = sorted(
        Cloud.objects.filter(pk__in=[c.pk for c in clouds], archived_at__isnull=False)
        .exclude(pk__in=existing)
        .values_list("name", flat=True)
    )
    if archived:
        raise ValidationError(
            _("%(clouds)s: archived clouds cannot be added to a campaign; unarchive them first.")
            % {"clouds": "、".join(archived)}
        )
    created = []
    for cloud in clouds:
        if cloud.pk in existing:
            continue
        assessment = Assessment(campaign=campaign, cloud=cloud, self_assessment_due_on=due_on)
        assessment.full_clean(validate_constraints=False)
        assessment.save()
        existing.add(cloud.pk)
        created.append(assessment)
        changes: dict[str, Any] = {"campaign": campaign.name, "cloud": cloud.name}
        if due_on is not None:
            changes["due_on"] = due_on.isoformat()
        audit_record(
            action="assessments.assessment.created",
            acting_user=acting_user,
            target=assessment,
            changes=changes,
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
    if state == Campaign.State.CLOSED:
        # Locked: an exclusion or a re-inclusion at this moment either waits or is seen here.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        unfinished = selectors.campaign_unfinished(campaign=campaign)
        if unfinished:
            raise ValidationError(
                _(
                    "Every assessment must be approved or excluded before the campaign closes. "
                    "Still open: %(clouds)s"
                )
                % {"clouds": "、".join(f"{u.assessment.cloud}" for u in unfinished)}
            )
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
    current = assessment.assignments.filter(removed_at__isnull=True)
    if current.filter(assessor=assessor).exists():
        raise ValidationError(_("%(user)s is already assigned.") % {"user": assessor})
    limit = assessment.campaign.assessors_per_assessment
    if current.count() >= limit:
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


@transaction.atomic
def assignment_remove(
    *,
    assignment: Assignment,
    reason: str,
    replacement: User | None = None,
    acting_user: User,
) -> Assignment | None:
    """Removes an assessor from an assessment, with a reason, and with ``replacement`` assigns
    another in their place (who must pass the conflict-of-interest rule of
    ``assignment_create``). The removed assessor's ratings stay in the record but no longer
    count, and they can no longer open or rate the assessment.

    The assessment follows its current assessors: a scored one with a new assessor goes back
    to review; one in review whose remaining assessors have all submitted becomes scored; a
    scored one is scored again when its consolidated ratings change. Returns the new
    assignment, or None for a removal."""
    policy.require(acting_user, Action.ASSIGNMENT_REPLACE)
    assessment = assessment_lock(assessment=assignment.assessment)
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    assignment.assessment = assessment
    policy.require(acting_user, Action.ASSIGNMENT_REPLACE, assignment)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the assessor is removed.")})
    text_within(reason.strip(), limit=REASON_MAX, field="reason")
    if replacement is not None:
        if replacement.pk == assignment.assessor_id:
            raise ValidationError(
                {"replacement": _("Choose someone other than the assessor being replaced.")}
            )
        if not policy.has_role_for(replacement, Action.RATING_SAVE) or not replacement.is_active:
            raise ValidationError(
                {"replacement": _("%(user)s is not an assessor.") % {"user": replacement}}
            )
        conflicts = selectors.assessor_conflicts(assessor=replacement, cloud=assessment.cloud)
        if conflicts:
            raise ValidationError(
                {
                    "replacement": _("Conflict of interest: %(reasons)s")
                    % {"reasons": " ".join(conflicts)}
                }
            )
        if assessment.assignments.filter(assessor=replacement, removed_at__isnull=True).exists():
            raise ValidationError(
                {"replacement": _("%(user)s is already assigned.") % {"user": replacement}}
            )
    before = selectors.consolidated_ratings(assessment=assessment)
    changed = Assignment.objects.filter(pk=assignment.pk, removed_at__isnull=True).update(
        removed_at=timezone.now(), removed_by=acting_user, removed_reason=reason.strip()
    )
    if changed != 1:
        raise ValidationError(_("This assessor was already removed."))
    new = None
    if replacement is not None:
        new = Assignment.objects.create(assessment=assessment, assessor=replacement)
        Assignment.objects.filter(pk=assignment.pk).update(replaced_by=new)
    audit_record(
        action="assessments.assignment.replaced" if new else "assessments.assignment.removed",
        acting_user=acting_user,
        target=assessment,
        changes={
            "assessor": assignment.assessor.username,
            "reason": reason.strip(),
            **({"replacement": replacement.username} if replacement is not None else {}),
        },
    )
    _follow_current_assessors(assessment, before=before, acting_user=acting_user)
    assignment.refresh_from_db()
    return new


def _follow_current_assessors(
    assessment: Assessment, *, before: dict[int, selectors.Consolidated], acting_user: User
) -> None:
    """Moves a scored or in-review assessment to where its current assessors leave it."""
    current = list(assessment.assignments.filter(removed_at__isnull=True))
    all_submitted = bool(current) and all(a.state == Assignment.State.SUBMITTED for a in current)
    if assessment.state == Assessment.State.SCORED and not all_submitted:
        transition(
            assessment,
            from_states=[Assessment.State.SCORED],
            to_state=Assessment.State.IN_REVIEW,
            action="assessments.assessment.review_reopened",
            acting_user=acting_user,
        )
    elif assessment.state == Assessment.State.IN_REVIEW and all_submitted:
        transition(
            assessment,
            from_states=[Assessment.State.IN_REVIEW],
            to_state=Assessment.State.SCORED,
            action="assessments.assessment.scored",
            acting_user=acting_user,
        )
        _score_after_commit(assessment)
    elif (
        assessment.state == Assessment.State.SCORED
        and selectors.consolidated_ratings(assessment=assessment) != before
    ):
        _score_after_commit(assessment)


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
    before = _answer_values(answer)
    answer.self_rating = self_rating
    answer.self_met = self_met
    answer.value = value
    answer.explanation = text_within(explanation, limit=EXPLANATION_MAX, field="explanation")
    answer.updated_by = acting_user
    # The related objects are the ones just checked; skip re-reading each from the database.
    answer.full_clean(validate_constraints=False, exclude=["assessment", "indicator", "updated_by"])
    answer.save()
    _audit_draft_change(
        action="assessments.answer.saved",
        acting_user=acting_user,
        assessment=assessment,
        indicator=indicator,
        before=before,
        after=_answer_values(answer),
    )
    return answer


def _answer_values(answer: Answer) -> dict[str, object]:
    return {
        "self_rating": answer.self_rating,
        "self_met": answer.self_met,
        "value": None if answer.value is None else str(answer.value),
        "explanation": answer.explanation,
    }


def _rating_values(rating: Rating) -> dict[str, object]:
    return {"rating": rating.rating, "met": rating.met, "rationale": rating.rationale}


def _audit_draft_change(
    *,
    action: str,
    acting_user: User,
    assessment: Assessment,
    indicator: Indicator,
    before: dict[str, object],
    after: dict[str, object],
    **extra: object,
) -> None:
    """Records what a save of a draft answer or rating changed, field by field, before and
    after; a save that changes nothing (an autosave of the same text) records nothing."""
    changed = [key for key in after if before.get(key) != after[key]]
    if not changed:
        return
    audit_record(
        action=action,
        acting_user=acting_user,
        target=assessment,
        changes={
            "indicator": indicator.code,
            **extra,
            "before": {key: before.get(key) for key in changed},
            "after": {key: after[key] for key in changed},
        },
    )


@transaction.atomic
def assessment_submit(*, assessment: Assessment, acting_user: User) -> Assessment:
    """Submits the self-assessment: draft or returned → submitted.

    Refused, naming every missing answer, unless each indicator is answered. Afterwards the
    vendor can no longer change answers or remove evidence (until it is returned).
    """
    policy.require(acting_user, Action.ASSESSMENT_SUBMIT, assessment)
    locked = assessment_lock(assessment=assessment)
    if locked.state in (Assessment.State.DRAFT, Assessment.State.RETURNED):
        # The vendor's window (campaign open or in review, deadline not past) applies to the
        # submission as to every answer.
        late = policy.refusal(acting_user, Action.ASSESSMENT_ANSWER, locked)
        if late:
            raise ValidationError(late, code="state")
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
    # Assessors re-score a resubmitted assessment (removed ones keep their record as it was).
    assessment.assignments.filter(removed_at__isnull=True).update(
        state=Assignment.State.SCORING, submitted_at=None
    )
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
    before = _rating_values(record)
    record.rating = rating
    record.met = met
    record.rationale = text_within(rationale, limit=RATIONALE_MAX, field="rationale")
    record.full_clean(validate_constraints=False, exclude=["assignment", "indicator"])
    record.save()
    _audit_draft_change(
        action="assessments.rating.saved",
        acting_user=acting_user,
        assessment=assessment,
        indicator=indicator,
        before=before,
        after=_rating_values(record),
    )
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
    if (
        not assessment.assignments.filter(removed_at__isnull=True)
        .exclude(state=Assignment.State.SUBMITTED)
        .exists()
    ):
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
    text_within(text.strip(), limit=COMMENT_MAX, field="text")
    if indicator is not None:
        _indicator_of(assessment, indicator)
    comment = ReviewComment(
        assessment=assessment, indicator=indicator, author=acting_user, text=text.strip()
    )
    comment.full_clean()
    comment.save()
    audit_record(
        action="assessments.comment.added",
        acting_user=acting_user,
        target=assessment,
        changes={"indicator": indicator.code if indicator else "", "comment": comment.text},
    )
    return comment


# ----------------------------------------------------------------------------------------------
# The lead: return, settle, approve


@transaction.atomic
def assessment_return(
    *,
    assessment: Assessment,
    comment: str,
    due_on: datetime.date | None = None,
    acting_user: User,
) -> Assessment:
    """Sends the assessment back to the vendor with the reviewers' comments and, with
    ``due_on``, a new deadline for the vendor. A new deadline is required when the current one
    (``Assessment.due_on``) has passed: otherwise the vendor could not change anything."""
    policy.require(acting_user, Action.ASSESSMENT_RETURN)
    locked = assessment_lock(assessment=assessment)
    policy.require(acting_user, Action.ASSESSMENT_RETURN, locked)
    if not comment.strip():
        raise ValidationError({"comment": _("Say why the assessment goes back to the vendor.")})
    text_within(comment.strip(), limit=COMMENT_MAX, field="comment")
    today = timezone.localdate()
    if due_on is None and locked.due_on < today:
        raise ValidationError(
            {
                "due_on": _("The vendor's deadline (%(date)s) has passed: give a new deadline.")
                % {"date": locked.due_on.isoformat()}
            }
        )
    _check_new_deadline(due_on, today)
    old = locked.state
    extra = {"self_assessment_due_on": due_on} if due_on is not None else {}
    transition(
        assessment,
        from_states=[old],
        to_state=Assessment.State.RETURNED,
        extra=extra,
    )
    ReviewComment.objects.create(assessment=assessment, author=acting_user, text=comment.strip())
    sent = assessment.review_comments.filter(returned_at__isnull=True).update(
        returned_at=timezone.now()
    )
    audit_record(
        action="assessments.assessment.returned",
        acting_user=acting_user,
        target=assessment,
        changes={
            "from": old,
            "to": "returned",
            "comment": comment.strip(),
            "comments": sent,
            **({"due_on": due_on.isoformat()} if due_on is not None else {}),
        },
    )
    return assessment


def _check_new_deadline(due_on: datetime.date | None, today: datetime.date) -> None:
    if due_on is not None and due_on < today:
        raise ValidationError({"due_on": _("The new deadline cannot be in the past.")})


@transaction.atomic
def assessment_reopen(
    *, assessment: Assessment, reason: str, due_on: datetime.date, acting_user: User
) -> Assessment:
    """Reopens a draft or returned self-assessment for the vendor with a new deadline (a vendor
    who missed the deadline, say, after the review started). The state stays; the vendor's form
    unlocks until ``due_on``, and the reason goes to the vendor as a comment."""
    policy.require(acting_user, Action.ASSESSMENT_REOPEN)
    locked = assessment_lock(assessment=assessment)
    policy.require(acting_user, Action.ASSESSMENT_REOPEN, locked)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the self-assessment is reopened.")})
    text_within(reason.strip(), limit=REASON_MAX, field="reason")
    if due_on is None:
        raise ValidationError({"due_on": _("Give the vendor a new deadline.")})
    _check_new_deadline(due_on, timezone.localdate())
    transition(
        assessment,
        from_states=[locked.state],
        to_state=locked.state,
        extra={"self_assessment_due_on": due_on},
        action="assessments.assessment.reopened",
        acting_user=acting_user,
        changes={
            "reason": reason.strip(),
            "due_on": due_on.isoformat(),
            "previous_due_on": locked.due_on.isoformat(),
        },
    )
    ReviewComment.objects.create(
        assessment=assessment,
        author=acting_user,
        text=reason.strip(),
        returned_at=timezone.now(),
    )
    return assessment


@transaction.atomic
def assessment_exclude(*, assessment: Assessment, reason: str, acting_user: User) -> Assessment:
    """Takes a cloud out of its campaign, with a reason: from any state except approved with a
    certified report in force (revoke the report first). An excluded assessment is kept in the
    record but is never scored, ranked, reported or counted as unfinished; nothing in it
    changes until it is re-included (``assessment_include``)."""
    policy.require(acting_user, Action.ASSESSMENT_EXCLUDE)
    locked = assessment_lock(assessment=assessment)
    policy.require(acting_user, Action.ASSESSMENT_EXCLUDE, locked)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the cloud is excluded.")})
    text_within(reason.strip(), limit=REASON_MAX, field="reason")
    return transition(
        assessment,
        from_states=[locked.state],
        to_state=Assessment.State.EXCLUDED,
        extra={
            "excluded_at": timezone.now(),
            "excluded_by": acting_user,
            "excluded_reason": reason.strip(),
        },
        action="assessments.assessment.excluded",
        acting_user=acting_user,
        changes={"reason": reason.strip()},
    )


@transaction.atomic
def assessment_include(*, assessment: Assessment, acting_user: User) -> Assessment:
    """Brings an excluded assessment back into its campaign, in the state it was excluded from
    (read from the audit trail; a draft, or submitted once it was submitted, if that record is
    missing). A scored one is scored again."""
    policy.require(acting_user, Action.ASSESSMENT_INCLUDE)
    locked = assessment_lock(assessment=assessment)
    policy.require(acting_user, Action.ASSESSMENT_INCLUDE, locked)
    state = selectors.state_before_exclusion(assessment=locked)
    transition(
        assessment,
        from_states=[Assessment.State.EXCLUDED],
        to_state=state,
        extra={"excluded_at": None, "excluded_by": None, "excluded_reason": ""},
        action="assessments.assessment.included",
        acting_user=acting_user,
        changes={"excluded_reason": locked.excluded_reason},
    )
    if state == Assessment.State.SCORED:
        _score_after_commit(assessment)
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
    text_within(reason.strip(), limit=REASON_MAX, field="reason")
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
