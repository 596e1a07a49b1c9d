"""The access policy: may this user do this action, on this object, in its current state?

Every access decision of the portal is written here, once, and everything asks this module:
services enforce it (``require``), views and API permissions ask it before they act, templates
ask it (``{% can %}``) to show or hide actions, selectors take their scopes from it (``scope``),
and ``docs/permissions.md`` is generated from it (``manage.py permissions_doc``). Adding a role
or an action is a change in this module only.

A rule grants an action to roles. Each grant may name a **relation** between the user and the
object (the cloud's vendor, the assigned assessor, ...) and **state conditions** on the object
(the campaign is open, the assessment is scored, ...). Refusals come in two kinds, raised the
same way everywhere:

- ``Denied`` (a ``PermissionDenied``): the user's role or relation never allows it. Views answer
  404 to such users, as if the object did not exist.
- ``ValidationError`` with code ``"state"``: the user may do it, but not now; the message says
  why (the page shows it).

The module reads objects by attribute (``assessment.cloud.owner_id``) and builds query filters
from lookup strings, so it imports no model of the apps above accounts: it sits in the bottom
layer and every app may use it. ``acting_user=None`` means the system (a management command or
the demo loader); only grants marked ``system`` allow it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, prefetch_related_objects
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from .models import User

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

# Whom the policy judges: a signed-in user, an anonymous visitor (``request.user`` of a public
# page), or None for the system.
Subject: TypeAlias = User | AnonymousUser | None

ADMIN = User.Role.ADMIN.value
ASSESSOR = User.Role.ASSESSOR.value
VENDOR = User.Role.VENDOR.value
OWNER = User.Role.OWNER.value
AUDITOR = User.Role.AUDITOR.value
SECURITY = User.Role.SECURITY.value
ROLES: tuple[str, ...] = (ADMIN, ASSESSOR, VENDOR, OWNER, AUDITOR, SECURITY)
# Three-role separation (三权分立, GB/T 22239-2019 level 3): the admin runs the evaluation, the
# security administrator manages the accounts, the auditor reads the audit trail. No rule below
# grants an action of one of them to another (tests/accounts/test_role_separation.py).
SEPARATED_ROLES: tuple[str, ...] = (ADMIN, SECURITY, AUDITOR)

# Object states read by the rules (the values of the apps' ``State`` choices).
CAMPAIGN_DRAFT, CAMPAIGN_OPEN = "draft", "open"
CAMPAIGN_REVIEWING, CAMPAIGN_CLOSED = "reviewing", "closed"
ASSESSMENT_DRAFT, ASSESSMENT_RETURNED = "draft", "returned"
ASSESSMENT_SUBMITTED, ASSESSMENT_IN_REVIEW = "submitted", "in_review"
ASSESSMENT_SCORED, ASSESSMENT_APPROVED = "scored", "approved"
ASSESSMENT_EXCLUDED = "excluded"
REPORT_IN_FORCE = "issued"  # ``reports.certified``'s status of a report in force
ASSIGNMENT_SCORING = "scoring"
FRAMEWORK_DRAFT = "draft"


class Action(enum.StrEnum):
    """Everything a person can do in the portal, named ``<thing>.<verb>``."""

    DASHBOARD_VIEW = "dashboard.view"
    ADMIN_SITE = "admin_site.use"
    ADMIN_RECORDS = "admin_site.records"
    AUDIT_VIEW = "audit.view"
    HISTORY_VIEW = "history.view"
    HEALTH_DETAILS = "health.details"
    USER_MANAGE = "user.manage"
    USER_UNLOCK = "user.unlock"
    ORGANISATION_MANAGE = "organisation.manage"
    CATALOG_VIEW = "catalog.view"
    CATALOG_VIEW_DRAFTS = "catalog.view_drafts"
    CATALOG_MANAGE = "catalog.manage"
    CLOUD_VIEW = "cloud.view"
    CLOUD_MANAGE = "cloud.manage"
    CONFLICT_DECLARE = "conflict.declare"
    CAMPAIGN_VIEW = "campaign.view"
    CAMPAIGN_CREATE = "campaign.create"
    CAMPAIGN_SET_STATE = "campaign.set_state"
    CAMPAIGN_ADD_CLOUDS = "campaign.add_clouds"
    ASSESSMENT_LIST = "assessment.list"
    ASSESSMENT_VIEW = "assessment.view"
    ASSESSMENT_ANSWER = "assessment.answer"
    ASSESSMENT_SUBMIT = "assessment.submit"
    EVIDENCE_VIEW = "evidence.view"
    EVIDENCE_PREVIEW = "evidence.preview"
    EVIDENCE_UPLOAD = "evidence.upload"
    EVIDENCE_DELETE = "evidence.delete"
    EVIDENCE_RESCAN = "evidence.rescan"
    ASSIGNMENT_CREATE = "assignment.create"
    ASSIGNMENT_REPLACE = "assignment.replace"
    SCORING_VIEW = "scoring.view"
    RATING_SAVE = "rating.save"
    ASSIGNMENT_SUBMIT = "assignment.submit"
    REVIEW_COMMENT_ADD = "review_comment.add"
    ASSESSMENT_REVIEW = "assessment.review"
    ASSESSMENT_SETTLE = "assessment.settle"
    ASSESSMENT_RETURN = "assessment.return"
    ASSESSMENT_APPROVE = "assessment.approve"
    ASSESSMENT_REOPEN = "assessment.reopen"
    ASSESSMENT_EXCLUDE = "assessment.exclude"
    ASSESSMENT_INCLUDE = "assessment.include"
    SCORE_VIEW = "score.view"
    VETO_MANAGE = "veto.manage"
    CAMPAIGN_SCORE = "campaign.score"
    REPORT_VIEW = "report.view"
    REPORT_ISSUE = "report.issue"
    REPORT_MANAGE = "report.manage"
    RANKING_MANAGE = "ranking.manage"
    OBJECTION_LODGE = "objection.lodge"
    OBJECTION_VIEW = "objection.view"
    OBJECTION_ANSWER = "objection.answer"
    RANKING_PUBLIC_VIEW = "ranking.public_view"
    REPORT_VERIFY = "report.verify"
    NOTIFICATION_VIEW = "notification.view"


# ----------------------------------------------------------------------------------------------
# Relations and conditions


@dataclass(frozen=True)
class Relation:
    """How the user must stand to the object; ``check(user, obj)`` reads the object."""

    name: str
    description: str
    check: Callable[[User, Any], bool]


@dataclass(frozen=True)
class Condition:
    """A state the object must be in; ``refusal(obj)`` says why not, for the user to read."""

    description: str
    holds: Callable[[Any], bool]
    refusal: Callable[[Any], str | Promise]


def _org(user: User) -> int | None:
    return user.organisation_id


def _vendor_of(user: User, cloud: Any) -> bool:
    org = _org(user)
    if org is None:
        return False
    # Read once per cloud object: a page asks this for every action it offers. Django's
    # prefetch cache, which ``cloud.vendors.set()`` and friends clear.
    if "vendors" not in getattr(cloud, "_prefetched_objects_cache", {}):
        prefetch_related_objects([cloud], "vendors")
    return any(v.pk == org for v in cloud.vendors.all())


def _assessment_of(obj: Any) -> Any:
    """The assessment an object belongs to: itself, or its ``assessment`` (evidence, an
    assignment, an objection)."""
    return getattr(obj, "assessment", obj)


def _not_draft_campaign(assessment: Any) -> bool:
    return assessment.campaign.state != CAMPAIGN_DRAFT


VENDOR_OF_CLOUD = Relation(
    "vendor_of_cloud",
    "a vendor of the assessment's cloud",
    lambda user, obj: _vendor_of(user, _assessment_of(obj).cloud),
)
OWNER_OF_CLOUD = Relation(
    "owner_of_cloud",
    "the owner of the assessment's cloud",
    lambda user, obj: _org(user) is not None and _assessment_of(obj).cloud.owner_id == _org(user),
)
# Only current assignments count: a removed (or replaced) assessor no longer opens or rates it.
ASSIGNED = Relation(
    "assigned",
    "an assessor assigned to the assessment (not removed)",
    lambda user, obj: (
        _assessment_of(obj)
        .assignments.filter(assessor_id=user.pk, removed_at__isnull=True)
        .exists()
    ),
)
OWN_ASSIGNMENT = Relation(
    "own_assignment",
    "the assessor of this assignment, while it is current",
    lambda user, assignment: assignment.assessor_id == user.pk and assignment.removed_at is None,
)
SELF = Relation("self", "the user concerned", lambda user, other: other.pk == user.pk)
RECIPIENT = Relation(
    "recipient",
    "the notification's recipient",
    lambda user, notification: notification.recipient_id == user.pk,
)
# What vendors, owners and assessors see of an assessment: nothing while its campaign is a draft.
VENDOR_VISIBLE = Relation(
    "vendor_of_cloud",
    "a vendor of the cloud, once the campaign is no longer a draft",
    lambda user, obj: _not_draft_campaign(_assessment_of(obj)) and VENDOR_OF_CLOUD.check(user, obj),
)
OWNER_VISIBLE = Relation(
    "owner_of_cloud",
    "the owner of the cloud, once the campaign is no longer a draft",
    lambda user, obj: _not_draft_campaign(_assessment_of(obj)) and OWNER_OF_CLOUD.check(user, obj),
)
ASSIGNED_VISIBLE = Relation(
    "assigned",
    "an assigned assessor, once the campaign is no longer a draft",
    lambda user, obj: _not_draft_campaign(_assessment_of(obj)) and ASSIGNED.check(user, obj),
)
VENDOR_APPROVED = Relation(
    "vendor_of_cloud",
    "a vendor of the cloud, once the assessment is approved",
    lambda user, obj: (
        _assessment_of(obj).state == ASSESSMENT_APPROVED and VENDOR_OF_CLOUD.check(user, obj)
    ),
)
OWNER_APPROVED = Relation(
    "owner_of_cloud",
    "the owner of the cloud, once the assessment is approved",
    lambda user, obj: (
        _assessment_of(obj).state == ASSESSMENT_APPROVED and OWNER_OF_CLOUD.check(user, obj)
    ),
)


def _state_in(*states: str) -> Callable[[Any], bool]:
    return lambda obj: _assessment_of(obj).state in states


def _vendor_window_open(obj: Any) -> bool:
    assessment = _assessment_of(obj)
    state = assessment.campaign.state
    return state == CAMPAIGN_OPEN or (
        state == CAMPAIGN_REVIEWING and timezone.localdate() <= assessment.due_on
    )


def _vendor_window_refusal(obj: Any) -> str | Promise:
    assessment = _assessment_of(obj)
    if assessment.campaign.state not in (CAMPAIGN_OPEN, CAMPAIGN_REVIEWING):
        return _("The campaign is not open for self-assessments.")
    return _(
        "The deadline for the self-assessment (%(date)s) has passed. The evaluation office can "
        "reopen it with a new deadline."
    ) % {"date": assessment.due_on.isoformat()}


# The vendor's window. While the campaign is open, the office still takes self-assessments
# (late ones are flagged overdue on the cockpit). Once the review has started, a draft or
# returned self-assessment stays editable only until its own deadline (``Assessment.due_on``:
# the campaign's closing day, or the new deadline given when it was returned or reopened): a
# review started early locks nobody, and a vendor past the deadline waits for the office to
# reopen the self-assessment (``assessment.reopen``), which says so instead of a silent lock.
CAMPAIGN_OPEN_FOR_VENDORS = Condition(
    "the campaign is open; or it is in review and the self-assessment's deadline has not "
    "passed (it was returned or reopened with a new one)",
    _vendor_window_open,
    _vendor_window_refusal,
)


def _excluded_or(message: Callable[[Any], str | Promise]) -> Callable[[Any], str | Promise]:
    def refusal(obj: Any) -> str | Promise:
        if _assessment_of(obj).state == ASSESSMENT_EXCLUDED:
            return _("The assessment is excluded from the campaign.")
        return message(obj)

    return refusal


ANSWERS_EDITABLE = Condition(
    "the self-assessment is a draft or returned",
    _state_in(ASSESSMENT_DRAFT, ASSESSMENT_RETURNED),
    _excluded_or(
        lambda obj: _("The self-assessment was submitted; it can change only if it is returned.")
    ),
)
EVIDENCE_ADDABLE = Condition(
    "the self-assessment is a draft or returned",
    _state_in(ASSESSMENT_DRAFT, ASSESSMENT_RETURNED),
    _excluded_or(
        lambda obj: _(
            "The self-assessment was submitted; evidence can be added only if it is returned."
        )
    ),
)
NEVER_SUBMITTED = Condition(
    "the self-assessment was never submitted",
    lambda evidence: evidence.assessment.submitted_at is None,
    lambda evidence: (
        _(
            "“%(name)s” cannot be deleted: the self-assessment has been submitted and its "
            "evidence is kept. Upload a file of the same name to add a new version."
        )
        % {"name": evidence.original_name}
    ),
)
OPEN_FOR_SCORING = Condition(
    "the assessment is submitted or in review",
    _state_in(ASSESSMENT_SUBMITTED, ASSESSMENT_IN_REVIEW),
    _excluded_or(lambda obj: _("This assessment is not open for scoring now.")),
)
STILL_SCORING = Condition(
    "the assessor has not submitted their scores",
    lambda assignment: assignment.state == ASSIGNMENT_SCORING,
    lambda assignment: _("You submitted your scores for this assessment."),
)
BEFORE_SCORED = Condition(
    "the assessment is not scored yet",
    lambda obj: _assessment_of(obj).state not in (ASSESSMENT_SCORED, ASSESSMENT_APPROVED),
    lambda obj: _("Assessors cannot be added after scoring."),
)
IN_REVIEW_OR_SCORED = Condition(
    "the assessment is in review or scored",
    _state_in(ASSESSMENT_IN_REVIEW, ASSESSMENT_SCORED),
    lambda obj: _("Ratings are settled during the review."),
)
RETURNABLE = Condition(
    "the assessment is submitted, in review or scored",
    _state_in(ASSESSMENT_SUBMITTED, ASSESSMENT_IN_REVIEW, ASSESSMENT_SCORED),
    lambda obj: _("Only a submitted assessment can go back to the vendor."),
)
SCORED = Condition(
    "the assessment is scored",
    _state_in(ASSESSMENT_SCORED),
    lambda obj: _("Only a scored assessment can be approved."),
)
NOT_APPROVED = Condition(
    "the assessment is not approved",
    lambda obj: _assessment_of(obj).state != ASSESSMENT_APPROVED,
    lambda obj: _("Approved assessments are read-only."),
)
NOT_EXCLUDED = Condition(
    "the assessment is not excluded",
    lambda obj: _assessment_of(obj).state != ASSESSMENT_EXCLUDED,
    lambda obj: _("The cloud is excluded from the campaign: re-include it first."),
)
APPROVED = Condition(
    "the assessment is approved",
    _state_in(ASSESSMENT_APPROVED),
    lambda obj: _("Only an approved assessment gets a report."),
)
CAMPAIGN_NOT_CLOSED = Condition(
    "the campaign is not closed",
    lambda obj: _assessment_of(obj).campaign.state != CAMPAIGN_CLOSED,
    lambda obj: _("The campaign is closed; nothing in it changes any more."),
)
ASSESSORS_CHANGEABLE = Condition(
    "the assessment is neither approved nor excluded",
    lambda obj: _assessment_of(obj).state not in (ASSESSMENT_APPROVED, ASSESSMENT_EXCLUDED),
    lambda obj: (
        _("Approved assessments are read-only.")
        if _assessment_of(obj).state == ASSESSMENT_APPROVED
        else _("The assessment is excluded from the campaign; re-include it first.")
    ),
)
ASSIGNMENT_CURRENT = Condition(
    "the assignment is current",
    lambda obj: getattr(obj, "removed_at", None) is None,
    lambda obj: _("This assessor was already removed."),
)
REOPENABLE = Condition(
    "the self-assessment is a draft or returned, in an open or reviewing campaign",
    lambda obj: (
        _assessment_of(obj).state in (ASSESSMENT_DRAFT, ASSESSMENT_RETURNED)
        and _assessment_of(obj).campaign.state in (CAMPAIGN_OPEN, CAMPAIGN_REVIEWING)
    ),
    lambda obj: (
        _("Only a draft or returned self-assessment can be reopened.")
        if _assessment_of(obj).state not in (ASSESSMENT_DRAFT, ASSESSMENT_RETURNED)
        else _("Self-assessments are reopened only while the campaign is open or in review.")
    ),
)


def _has_report_in_force(assessment: Any) -> bool:
    # The reverse relation of ``reports.certified.Report.assessment``, read by name: the policy
    # imports no model of the apps above it.
    return bool(assessment.certified_reports.filter(status=REPORT_IN_FORCE).exists())


EXCLUDABLE = Condition(
    "the assessment is not excluded yet and has no certified report in force",
    lambda obj: (
        _assessment_of(obj).state != ASSESSMENT_EXCLUDED
        and not (
            _assessment_of(obj).state == ASSESSMENT_APPROVED
            and _has_report_in_force(_assessment_of(obj))
        )
    ),
    lambda obj: (
        _("The assessment is already excluded.")
        if _assessment_of(obj).state == ASSESSMENT_EXCLUDED
        else _(
            "A certified report of this assessment is in force. Revoke the report first; "
            "then the assessment can be excluded."
        )
    ),
)
EXCLUDED = Condition(
    "the assessment is excluded",
    _state_in(ASSESSMENT_EXCLUDED),
    lambda obj: _("Only an excluded assessment can be re-included."),
)
TAKING_CLOUDS = Condition(
    "the campaign is not closed",
    lambda campaign: campaign.state in (CAMPAIGN_DRAFT, CAMPAIGN_OPEN, CAMPAIGN_REVIEWING),
    lambda campaign: _("Clouds cannot be added to a closed campaign."),
)


# ----------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class Grant:
    """One role's permission: with this relation to the object (or any object), in these
    states."""

    relation: Relation | None = None
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Rule:
    action: Action
    description: str
    grants: dict[str, Grant]
    # Anonymous visitors may do it (public pages).
    public: bool = False
    # The system (acting_user None: management commands, the demo loader) may do it.
    system: bool = False
    refusal: Promise = field(default=_("Your role may not do this."))


def _only(*roles: str, grant: Grant | None = None) -> dict[str, Grant]:
    return {role: grant or Grant() for role in roles}


EVERYONE = ROLES
# Those who read an assessment: every admin, its assigned assessors, the cloud's vendors and
# owner (the last three not while the campaign is a draft).
READERS: dict[str, Grant] = {
    ADMIN: Grant(),
    ASSESSOR: Grant(ASSIGNED_VISIBLE),
    VENDOR: Grant(VENDOR_VISIBLE),
    OWNER: Grant(OWNER_VISIBLE),
}

RULES: dict[Action, Rule] = {
    rule.action: rule
    for rule in [
        Rule(Action.DASHBOARD_VIEW, "See one's dashboard", _only(*EVERYONE)),
        Rule(Action.ADMIN_SITE, "Use the Django admin site", _only(ADMIN, SECURITY)),
        Rule(
            Action.ADMIN_RECORDS,
            "Correct catalogs, clouds, campaigns, results and reports in the Django admin site "
            "(not accounts or organisations)",
            _only(ADMIN),
        ),
        Rule(
            Action.AUDIT_VIEW,
            "Read the audit trail: search, filter and export every event",
            _only(AUDITOR),
        ),
        Rule(
            Action.HISTORY_VIEW,
            "Read the latest events of a campaign, assessment or report on its own page",
            _only(ADMIN),
        ),
        Rule(
            Action.HEALTH_DETAILS,
            "Read /healthz in full (versions, hosts, paths, errors; others see only ok or not)",
            _only(ADMIN),
        ),
        Rule(
            Action.USER_MANAGE,
            "Create and edit accounts (in the Django admin site)",
            _only(SECURITY),
            system=True,
        ),
        Rule(
            Action.USER_UNLOCK,
            "Unlock an account or address locked after repeated failed sign-ins",
            _only(SECURITY),
            system=True,
        ),
        Rule(
            Action.ORGANISATION_MANAGE,
            "Create and edit organisations (in the Django admin site)",
            _only(SECURITY),
            system=True,
        ),
        Rule(Action.CATALOG_VIEW, "Read published and retired catalogs", _only(*EVERYONE)),
        Rule(Action.CATALOG_VIEW_DRAFTS, "Read draft catalogs", _only(ADMIN)),
        Rule(
            Action.CATALOG_MANAGE,
            "Import, publish, retire and copy catalogs",
            _only(ADMIN),
            system=True,
        ),
        Rule(
            Action.CLOUD_VIEW,
            "Read the register of government clouds and each cloud's campaigns",
            _only(ADMIN, AUDITOR),
        ),
        Rule(
            Action.CLOUD_MANAGE,
            "Register, edit, archive, unarchive and import government clouds",
            _only(ADMIN),
            system=True,
        ),
        Rule(
            Action.CONFLICT_DECLARE,
            "Declare an assessor's conflict of interest",
            {ADMIN: Grant(), ASSESSOR: Grant(SELF)},
        ),
        Rule(Action.CAMPAIGN_VIEW, "See campaigns and their cockpit", _only(ADMIN)),
        Rule(Action.CAMPAIGN_CREATE, "Create a campaign", _only(ADMIN)),
        Rule(
            Action.CAMPAIGN_SET_STATE,
            "Open, review and close a campaign",
            _only(ADMIN),
        ),
        Rule(
            Action.CAMPAIGN_ADD_CLOUDS,
            "Add clouds to a campaign",
            _only(ADMIN, grant=Grant(conditions=(TAKING_CLOUDS,))),
        ),
        Rule(
            Action.ASSESSMENT_LIST,
            "List the assessments one may see",
            _only(ADMIN, ASSESSOR, VENDOR, OWNER),
        ),
        Rule(
            Action.ASSESSMENT_VIEW,
            "Read an assessment, its answers and evidence list",
            READERS,
        ),
        Rule(
            Action.ASSESSMENT_ANSWER,
            "Fill in the self-assessment",
            {VENDOR: Grant(VENDOR_OF_CLOUD, (ANSWERS_EDITABLE, CAMPAIGN_OPEN_FOR_VENDORS))},
            refusal=_("Only the cloud's vendors fill in its self-assessment."),
        ),
        Rule(
            Action.ASSESSMENT_SUBMIT,
            "Submit the self-assessment",
            {VENDOR: Grant(VENDOR_OF_CLOUD)},
            refusal=_("Only the cloud's vendors fill in its self-assessment."),
        ),
        Rule(
            Action.EVIDENCE_VIEW,
            "Download an evidence file",
            READERS,
        ),
        Rule(
            Action.EVIDENCE_PREVIEW,
            "Be offered in-browser previews of evidence (the vendor, who uploaded it, is offered "
            "downloads; the preview itself is open to whoever may download)",
            {
                ADMIN: Grant(),
                ASSESSOR: Grant(ASSIGNED_VISIBLE),
                OWNER: Grant(OWNER_VISIBLE),
            },
        ),
        Rule(
            Action.EVIDENCE_UPLOAD,
            "Upload evidence",
            {VENDOR: Grant(VENDOR_OF_CLOUD, (EVIDENCE_ADDABLE, CAMPAIGN_OPEN_FOR_VENDORS))},
            refusal=_("Only the cloud's vendors upload its evidence."),
        ),
        Rule(
            Action.EVIDENCE_DELETE,
            "Delete an evidence file",
            {
                VENDOR: Grant(
                    VENDOR_OF_CLOUD,
                    (NEVER_SUBMITTED, EVIDENCE_ADDABLE, CAMPAIGN_OPEN_FOR_VENDORS),
                )
            },
            refusal=_("Only the cloud's vendors delete its evidence."),
        ),
        Rule(
            Action.EVIDENCE_RESCAN,
            "Ask again for the malware scan of an evidence file whose scan failed or is stuck",
            _only(ADMIN),
            refusal=_("Only the evaluation office's admins ask for a new virus scan."),
        ),
        Rule(
            Action.ASSIGNMENT_CREATE,
            "Assign an assessor",
            _only(
                ADMIN,
                grant=Grant(conditions=(BEFORE_SCORED, ASSESSORS_CHANGEABLE, CAMPAIGN_NOT_CLOSED)),
            ),
        ),
        Rule(
            Action.ASSIGNMENT_REPLACE,
            "Replace or remove an assessor (the object is the assignment or its assessment); "
            "the ratings stay in the record but no longer count",
            _only(
                ADMIN,
                grant=Grant(
                    conditions=(CAMPAIGN_NOT_CLOSED, ASSESSORS_CHANGEABLE, ASSIGNMENT_CURRENT)
                ),
            ),
        ),
        Rule(
            Action.SCORING_VIEW,
            "Open one's scoring page and score sheet",
            {ASSESSOR: Grant(ASSIGNED_VISIBLE)},
        ),
        Rule(
            Action.RATING_SAVE,
            "Rate an indicator (the object is the assignment)",
            {ASSESSOR: Grant(OWN_ASSIGNMENT, (OPEN_FOR_SCORING, STILL_SCORING))},
            refusal=_("Only the assigned assessor scores this."),
        ),
        Rule(
            Action.ASSIGNMENT_SUBMIT,
            "Submit one's scores (the object is the assignment)",
            {ASSESSOR: Grant(OWN_ASSIGNMENT)},
            refusal=_("Only the assigned assessor scores this."),
        ),
        Rule(
            Action.REVIEW_COMMENT_ADD,
            "Comment on an indicator for the vendor, until the assessment is approved",
            {
                ADMIN: Grant(conditions=(NOT_APPROVED,)),
                ASSESSOR: Grant(ASSIGNED, (NOT_APPROVED,)),
            },
            refusal=_("Only assigned assessors and admins comment."),
        ),
        Rule(Action.ASSESSMENT_REVIEW, "Open the lead's review page", _only(ADMIN)),
        Rule(
            Action.ASSESSMENT_SETTLE,
            "Settle a disagreement between assessors",
            _only(ADMIN, grant=Grant(conditions=(IN_REVIEW_OR_SCORED,))),
        ),
        Rule(
            Action.ASSESSMENT_RETURN,
            "Return an assessment to the vendor",
            _only(ADMIN, grant=Grant(conditions=(RETURNABLE,))),
        ),
        Rule(
            Action.ASSESSMENT_APPROVE,
            "Approve a scored assessment",
            _only(ADMIN, grant=Grant(conditions=(SCORED,))),
        ),
        Rule(
            Action.ASSESSMENT_REOPEN,
            "Reopen a draft or returned self-assessment for the vendor with a new deadline",
            _only(ADMIN, grant=Grant(conditions=(REOPENABLE,))),
        ),
        Rule(
            Action.ASSESSMENT_EXCLUDE,
            "Exclude a cloud from its campaign, with a reason (never scored, ranked or "
            "reported; an approved one only once its certified report is revoked)",
            _only(ADMIN, grant=Grant(conditions=(CAMPAIGN_NOT_CLOSED, EXCLUDABLE))),
        ),
        Rule(
            Action.ASSESSMENT_INCLUDE,
            "Re-include an excluded cloud in its campaign",
            _only(ADMIN, grant=Grant(conditions=(CAMPAIGN_NOT_CLOSED, EXCLUDED))),
        ),
        Rule(
            Action.SCORE_VIEW,
            "Read an assessment's score",
            {
                ADMIN: Grant(),
                ASSESSOR: Grant(ASSIGNED_VISIBLE),
                VENDOR: Grant(VENDOR_APPROVED),
                OWNER: Grant(OWNER_APPROVED),
            },
        ),
        Rule(
            Action.VETO_MANAGE,
            "Record or withdraw a veto (一票否决)",
            _only(ADMIN, grant=Grant(conditions=(NOT_APPROVED, NOT_EXCLUDED))),
        ),
        Rule(Action.CAMPAIGN_SCORE, "Score a whole campaign", _only(ADMIN), system=True),
        Rule(
            Action.REPORT_VIEW,
            "Read and download an assessment's certified reports",
            {ADMIN: Grant(), VENDOR: Grant(VENDOR_VISIBLE), OWNER: Grant(OWNER_VISIBLE)},
        ),
        Rule(
            Action.REPORT_ISSUE,
            "Issue a certified report",
            _only(ADMIN, grant=Grant(conditions=(APPROVED,))),
        ),
        Rule(
            Action.REPORT_MANAGE,
            "Re-issue, revoke or render again a certified report",
            _only(ADMIN),
        ),
        Rule(
            Action.RANKING_MANAGE,
            "Prepare, decide ties in and publish a ranking",
            _only(ADMIN),
        ),
        Rule(
            Action.OBJECTION_LODGE,
            "Lodge an objection (异议) about one's cloud during the public notice",
            {OWNER: Grant(OWNER_OF_CLOUD)},
            refusal=_("Only the owner of a cloud in the campaign can lodge an objection."),
        ),
        Rule(
            Action.OBJECTION_VIEW,
            "Read an objection and its evidence",
            {ADMIN: Grant(), OWNER: Grant(OWNER_OF_CLOUD)},
        ),
        Rule(Action.OBJECTION_ANSWER, "Answer an objection", _only(ADMIN)),
        Rule(
            Action.RANKING_PUBLIC_VIEW,
            "Read published rankings and their exports",
            _only(*EVERYONE),
            public=True,
        ),
        Rule(
            Action.REPORT_VERIFY,
            "Verify a certified report by its code",
            _only(*EVERYONE),
            public=True,
        ),
        Rule(
            Action.NOTIFICATION_VIEW,
            "Read one's notifications and mark them read",
            _only(*EVERYONE, grant=Grant(RECIPIENT)),
        ),
    ]
}


# ----------------------------------------------------------------------------------------------
# Decisions


class Denied(PermissionDenied):
    """The user's role, or how they stand to the object, never allows the action."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # "role": no grant for the role; "relation": not related to the object as the grant
    # requires; "state": allowed, but not in the object's current state.
    kind: str = ""
    message: str = ""


ALLOWED = Decision(True)


def _is_signed_in(user: Subject) -> TypeGuard[User]:
    # Only a ``User`` is ever authenticated (an ``AnonymousUser`` never is): past this check
    # the type checker, like the code, may read the user's role.
    return user is not None and bool(getattr(user, "is_authenticated", False))


def decide(user: Subject, action: Action | str, obj: Any = None) -> Decision:
    """The decision on ``user`` doing ``action`` on ``obj``.

    With ``obj`` None, only the role is judged: could a user of this role ever do it? (Menus
    and per-row buttons ask this; the page behind them asks again with the object.)
    """
    rule = RULES[Action(action)]
    if user is None:
        if rule.system:
            return ALLOWED
        return Decision(False, "role", str(rule.refusal))
    if not _is_signed_in(user):
        return ALLOWED if rule.public else Decision(False, "role", str(rule.refusal))
    if not user.is_active:
        return Decision(False, "role", str(rule.refusal))
    grant = rule.grants.get(user.role)
    if grant is None:
        return Decision(False, "role", str(rule.refusal))
    if obj is None:
        return ALLOWED
    if grant.relation is not None and not grant.relation.check(user, obj):
        return Decision(False, "relation", str(rule.refusal))
    for condition in grant.conditions:
        if not condition.holds(obj):
            return Decision(False, "state", str(condition.refusal(obj)))
    return ALLOWED


def can(user: Subject, action: Action | str, obj: Any = None) -> bool:
    """True when ``decide`` allows it."""
    return decide(user, action, obj).allowed


def require(user: Subject, action: Action | str, obj: Any = None) -> None:
    """Raises unless ``user`` may do ``action`` on ``obj`` now: ``Denied`` for the role or the
    relation, ``ValidationError`` (code ``"state"``) when only the object's state stands in the
    way. Services call it before they write; it writes nothing."""
    decision = decide(user, action, obj)
    if decision.allowed:
        return
    if decision.kind == "state":
        raise ValidationError(decision.message, code="state")
    raise Denied(decision.message)


def refusal(user: Subject, action: Action | str, obj: Any = None) -> str | None:
    """Why ``user`` may not do ``action`` on ``obj`` now, or None when they may."""
    decision = decide(user, action, obj)
    return None if decision.allowed else decision.message


def roles_for(action: Action | str) -> frozenset[str]:
    """The roles granted ``action`` (to pick, say, the users who can be assigned to score)."""
    return frozenset(RULES[Action(action)].grants)


def has_role_for(user: User, action: Action | str) -> bool:
    """Whether ``user``'s role is granted ``action`` at all (whatever the object)."""
    return user.role in RULES[Action(action)].grants


# ----------------------------------------------------------------------------------------------
# Scopes: which rows a user may read, as query filters


@dataclass(frozen=True)
class Scope:
    """A filter of the rows a user may read. ``relation`` names why (``"all"``, ``"none"``,
    or the relation of the grant), which pages use to describe the list."""

    q: Q
    relation: str

    @property
    def is_empty(self) -> bool:
        return self.relation == "none"


_ALL = Scope(Q(), "all")
_NONE = Scope(Q(pk__in=[]), "none")


def _assessment_filter(user: User, prefix: str) -> Scope:
    """Assessments (reached by ``prefix``) the user may read under ``ASSESSMENT_VIEW``."""
    if not can(user, Action.ASSESSMENT_VIEW):
        return _NONE
    grant = RULES[Action.ASSESSMENT_VIEW].grants[user.role]
    if grant.relation is None:
        return _ALL
    not_draft = ~Q(**{f"{prefix}campaign__state": CAMPAIGN_DRAFT})
    org = _org(user)
    if grant.relation is ASSIGNED_VISIBLE:
        # One Q: the assessor and "not removed" are read from the same assignment row.
        current = Q(
            **{f"{prefix}assignments__assessor": user.pk, f"{prefix}assignments__removed_at": None}
        )
        return Scope(not_draft & current, "assigned")
    if org is None:
        return _NONE
    if grant.relation is VENDOR_VISIBLE:
        return Scope(not_draft & Q(**{f"{prefix}cloud__vendors": org}), "vendor_of_cloud")
    if grant.relation is OWNER_VISIBLE:
        return Scope(not_draft & Q(**{f"{prefix}cloud__owner": org}), "owner_of_cloud")
    raise AssertionError(f"no filter for relation {grant.relation.name}")


def assessment_scope(user: User) -> Scope:
    """The assessments ``user`` may read: all for admins, those assigned to an assessor, their
    organisation's clouds' for vendors and owners (not while a campaign is a draft), none
    otherwise. Each row matches at most once (assignments and cloud vendors are unique pairs),
    so no DISTINCT is needed."""
    return _assessment_filter(user, "")


def evidence_scope(user: User) -> Scope:
    """The evidence files ``user`` may download: those of the assessments they may read."""
    if not can(user, Action.EVIDENCE_VIEW):
        return _NONE
    return _assessment_filter(user, "assessment__")


def campaign_scope(user: User) -> Scope:
    return _ALL if can(user, Action.CAMPAIGN_VIEW) else _NONE


def framework_scope(user: Subject) -> Scope:
    """Catalog versions ``user`` may read: every one for admins, no drafts for other roles,
    none for anonymous visitors."""
    if user is None or not can(user, Action.CATALOG_VIEW):
        return _NONE
    if can(user, Action.CATALOG_VIEW_DRAFTS):
        return _ALL
    return Scope(~Q(state=FRAMEWORK_DRAFT), "published")


def audit_scope(user: User) -> Scope:
    return _ALL if can(user, Action.AUDIT_VIEW) else _NONE


def history_scope(user: User) -> Scope:
    """The audit events ``user`` may read on an object's own page (its history tab)."""
    return _ALL if can(user, Action.HISTORY_VIEW) else _NONE


def objection_scope(user: User) -> Scope:
    """Objections ``user`` may read: all for admins, their own clouds' for owners."""
    if not can(user, Action.OBJECTION_VIEW):
        return _NONE
    grant = RULES[Action.OBJECTION_VIEW].grants[user.role]
    if grant.relation is None:
        return _ALL
    org = _org(user)
    if org is None:
        return _NONE
    return Scope(Q(assessment__cloud__owner=org), "owner_of_cloud")


def objection_assessment_scope(user: User) -> Scope:
    """The assessments ``user`` may lodge objections about: their organisation's clouds', for
    owners."""
    if not can(user, Action.OBJECTION_LODGE):
        return _NONE
    org = _org(user)
    if org is None:
        return _NONE
    return Scope(Q(cloud__owner=org), "owner_of_cloud")


def score_scope(user: User) -> Scope:
    """The assessments whose score and level ``user`` may read (``score.view``), as one filter
    for lists: all for admins, the assigned ones for assessors, and for vendors and owners their
    clouds' once approved."""
    if not has_role_for(user, Action.SCORE_VIEW):
        return _NONE
    grant = RULES[Action.SCORE_VIEW].grants[user.role]
    if grant.relation is None:
        return _ALL
    seen = _assessment_filter(user, "")
    if grant.relation in (VENDOR_APPROVED, OWNER_APPROVED) and not seen.is_empty:
        return Scope(seen.q & Q(state=ASSESSMENT_APPROVED), seen.relation)
    return seen


def is_staff_role(role: str) -> bool:
    """Whether users of ``role`` get into the Django admin site (``is_staff``). Nobody is a
    Django superuser: the admin site asks this policy too."""
    return role in RULES[Action.ADMIN_SITE].grants


# ----------------------------------------------------------------------------------------------
# The permissions document


def _cell(rule: Rule, role: str) -> str:
    grant = rule.grants.get(role)
    if grant is None:
        return "—"
    parts = []
    if grant.relation is not None:
        parts.append(f"as {grant.relation.description}")
    if grant.conditions:
        parts.append("when " + "; ".join(c.description for c in grant.conditions))
    return "yes" + (" (" + ", ".join(parts) + ")" if parts else "")


def permissions_markdown() -> str:
    """``docs/permissions.md``: every action by every role, generated from ``RULES``."""
    header = [
        "# Permissions",
        "",
        "Generated from `accounts/policy.py` by `python manage.py permissions_doc`; do not edit",
        "by hand (a test fails when this file and the policy differ).",
        "",
        "Who may do what. *yes* alone means on any object; *as …* names how the user must stand",
        "to the object, *when …* the states the object must be in. A user refused by role or",
        "relation gets 404 (the page does not exist for them); a user refused by state is told",
        "why. *Anonymous* visitors may do only what the last column allows. *System* means",
        "management commands and the demo loader (no signed-in user).",
        "",
    ]
    roles = ROLES
    head = "| action | what | " + " | ".join(roles) + " | anonymous | system |"
    rule_line = "|" + "---|" * (len(roles) + 4)
    lines = [head, rule_line]
    for action in Action:
        rule = RULES[action]
        cells = [_cell(rule, role) for role in roles]
        lines.append(
            f"| `{action.value}` | {rule.description} | "
            + " | ".join(cells)
            + f" | {'yes' if rule.public else '—'} | {'yes' if rule.system else '—'} |"
        )
    return "\n".join(header + lines) + "\n"


def actions() -> Iterable[Action]:
    return iter(Action)


# ----------------------------------------------------------------------------------------------
# Views

View = Callable[..., Any]


def requires(action: Action) -> Callable[[View], View]:
    """A view decorator: anonymous visitors go to the sign-in page (unless the action is
    public), and users whose role is never granted ``action`` get 404, for every method, as if
    the page did not exist. The view still asks about the object itself."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            user = request.user
            if not _is_signed_in(user) and not RULES[action].public:
                return redirect_to_login(request.get_full_path())
            if not can(user, action):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


# ----------------------------------------------------------------------------------------------
# The REST API


def api_permission(action: Action) -> type[BasePermission]:
    """A DRF permission class for views about ``action``: anonymous requests get 401/403 unless
    the action is public, roles never granted it get 403; the view's queryset, from a selector
    scoped by this policy, decides about each object (404 for the others)."""

    class Allowed(BasePermission):
        def has_permission(self, request: Request, view: APIView) -> bool:
            return can(request.user, action)

    Allowed.__name__ = f"Allowed_{action.name}"
    return Allowed
