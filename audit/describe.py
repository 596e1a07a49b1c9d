"""The audit trail in words: each action code as a sentence, and its ``changes`` as before → after.

``ACTIONS`` maps every dotted code the portal records to a sentence template (``%(actor)s`` and
``%(object)s``) and a short verb for the filter; the Django admin site's
``<app>.<model>.admin_<verb>`` codes are described from the model's verbose name. A code not in
the registry (an old one, or one added without a sentence) is never an error: it reads as its
kind and verb, "Evidence file: uploaded again". ``tests/audit/test_describe.py`` reads the
source and fails when a recorded code has no sentence.

Nothing here touches the database: a page of events costs the same whatever is described.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from .models import AuditEvent


@dataclass(frozen=True)
class ActionText:
    sentence: Promise  # "%(actor)s returned the self-assessment of %(object)s"
    verb: Promise  # "Returned": the action within its kind, for the filter


# The kinds of object actions are about: the ``<app>.<thing>`` of a code.
KINDS: dict[str, Promise] = {
    "accounts.organisation": gettext_lazy("Organisation"),
    "accounts.user": gettext_lazy("Account"),
    "accounts.api_token": gettext_lazy("API token"),
    "assessments.cloud": gettext_lazy("Government cloud"),
    "assessments.conflict": gettext_lazy("Conflict of interest"),
    "assessments.campaign": gettext_lazy("Campaign"),
    "assessments.assessment": gettext_lazy("Assessment"),
    "assessments.assignment": gettext_lazy("Assessor assignment"),
    "assessments.rating": gettext_lazy("Rating"),
    "assessments.answer": gettext_lazy("Self-assessment answer"),
    "assessments.comment": gettext_lazy("Review comment"),
    "assessments.evidence": gettext_lazy("Evidence file"),
    "assessments.score_sheet": gettext_lazy("Score sheet"),
    "indicators.framework": gettext_lazy("Catalog"),
    "reports.scoring_run": gettext_lazy("Campaign scoring"),
    "reports.score": gettext_lazy("Score"),
    "reports.veto": gettext_lazy("Veto"),
    "reports.report": gettext_lazy("Certified report"),
    "reports.ranking": gettext_lazy("Ranking"),
    "reports.objection": gettext_lazy("Objection"),
    "reports.sweep": gettext_lazy("Maintenance"),
}

ACTIONS: dict[str, ActionText] = {
    # accounts
    "accounts.organisation.created": ActionText(
        gettext_lazy("%(actor)s created the organisation %(object)s"), gettext_lazy("Created")
    ),
    "accounts.user.created": ActionText(
        gettext_lazy("%(actor)s created the account %(object)s"), gettext_lazy("Created")
    ),
    "accounts.user.logged_in": ActionText(
        gettext_lazy("%(actor)s signed in"), gettext_lazy("Signed in")
    ),
    "accounts.user.logged_out": ActionText(
        gettext_lazy("%(actor)s signed out"), gettext_lazy("Signed out")
    ),
    # Login security: failed sign-ins, lockouts and unlocking (accounts.signals, lockout_clear)
    # Personal API tokens (accounts.api_tokens)
    "accounts.api_token.created": ActionText(
        gettext_lazy("%(actor)s created an API token for %(object)s"),
        gettext_lazy("API token created"),
    ),
    "accounts.api_token.revoked": ActionText(
        gettext_lazy("%(actor)s revoked an API token of %(object)s"),
        gettext_lazy("API token revoked"),
    ),
    "accounts.user.timed_out": ActionText(
        gettext_lazy("%(actor)s was signed out after a time without activity"),
        gettext_lazy("Signed out for inactivity"),
    ),
    "accounts.user.login_failed": ActionText(
        gettext_lazy("A sign-in as %(object)s failed"), gettext_lazy("Sign-in failed")
    ),
    "accounts.user.locked_out": ActionText(
        gettext_lazy("Signing in was locked after repeated failures (account %(object)s)"),
        gettext_lazy("Locked out"),
    ),
    "accounts.user.unlocked": ActionText(
        gettext_lazy("%(actor)s unlocked signing in (account %(object)s)"),
        gettext_lazy("Unlocked"),
    ),
    # Two-factor sign-in (accounts.twofactor): never a secret or a code, only what happened.
    "accounts.user.otp_enrolled": ActionText(
        gettext_lazy("%(actor)s set up two-factor authentication"),
        gettext_lazy("Two-factor set up"),
    ),
    "accounts.user.otp_failed": ActionText(
        gettext_lazy("%(actor)s typed a wrong two-factor code"),
        gettext_lazy("Wrong two-factor code"),
    ),
    "accounts.user.recovery_code_used": ActionText(
        gettext_lazy("%(actor)s signed in with a recovery code"),
        gettext_lazy("Recovery code used"),
    ),
    "accounts.user.recovery_codes_regenerated": ActionText(
        gettext_lazy("%(actor)s generated new recovery codes"),
        gettext_lazy("Recovery codes regenerated"),
    ),
    "accounts.user.otp_reset": ActionText(
        gettext_lazy("%(actor)s reset the two-factor authentication of %(object)s"),
        gettext_lazy("Two-factor reset"),
    ),
    # clouds and conflicts
    "assessments.cloud.created": ActionText(
        gettext_lazy("%(actor)s registered the government cloud %(object)s"),
        gettext_lazy("Registered"),
    ),
    "assessments.cloud.imported": ActionText(
        gettext_lazy("%(actor)s imported government clouds from a spreadsheet"),
        gettext_lazy("Imported"),
    ),
    "assessments.cloud.updated": ActionText(
        gettext_lazy("%(actor)s edited the government cloud %(object)s"), gettext_lazy("Edited")
    ),
    "assessments.cloud.edited": ActionText(
        gettext_lazy("%(actor)s edited the government cloud %(object)s"), gettext_lazy("Edited")
    ),
    "assessments.cloud.archived": ActionText(
        gettext_lazy("%(actor)s archived the government cloud %(object)s"), gettext_lazy("Archived")
    ),
    "assessments.cloud.unarchived": ActionText(
        gettext_lazy("%(actor)s took the government cloud %(object)s out of the archive"),
        gettext_lazy("Taken out of the archive"),
    ),
    "assessments.conflict.declared": ActionText(
        gettext_lazy("%(actor)s declared a conflict of interest: %(object)s"),
        gettext_lazy("Declared"),
    ),
    # campaigns
    "assessments.campaign.created": ActionText(
        gettext_lazy("%(actor)s created the campaign %(object)s"), gettext_lazy("Created")
    ),
    "assessments.campaign.updated": ActionText(
        gettext_lazy("%(actor)s edited the campaign %(object)s"), gettext_lazy("Edited")
    ),
    "assessments.campaign.open": ActionText(
        gettext_lazy("%(actor)s opened the campaign %(object)s"), gettext_lazy("Opened")
    ),
    "assessments.campaign.reviewing": ActionText(
        gettext_lazy("%(actor)s moved the campaign %(object)s to review"),
        gettext_lazy("Moved to review"),
    ),
    "assessments.campaign.closed": ActionText(
        gettext_lazy("%(actor)s closed the campaign %(object)s"), gettext_lazy("Closed")
    ),
    # assessments
    "assessments.assessment.created": ActionText(
        gettext_lazy("%(actor)s added %(object)s to the campaign"),
        gettext_lazy("Added to the campaign"),
    ),
    "assessments.assessment.submitted": ActionText(
        gettext_lazy("%(actor)s submitted the self-assessment of %(object)s"),
        gettext_lazy("Self-assessment submitted"),
    ),
    "assessments.assessment.review_started": ActionText(
        gettext_lazy("%(actor)s started scoring %(object)s"), gettext_lazy("Scoring started")
    ),
    "assessments.assessment.scored": ActionText(
        gettext_lazy("%(actor)s handed in the last scores of %(object)s: scoring is complete"),
        gettext_lazy("Scoring complete"),
    ),
    "assessments.assessment.returned": ActionText(
        gettext_lazy("%(actor)s returned the self-assessment of %(object)s"),
        gettext_lazy("Returned"),
    ),
    "assessments.assessment.approved": ActionText(
        gettext_lazy("%(actor)s approved the assessment of %(object)s"), gettext_lazy("Approved")
    ),
    "assessments.assessment.excluded": ActionText(
        gettext_lazy("%(actor)s excluded %(object)s from the campaign"), gettext_lazy("Excluded")
    ),
    "assessments.assessment.included": ActionText(
        gettext_lazy("%(actor)s brought %(object)s back into the campaign"),
        gettext_lazy("Brought back"),
    ),
    "assessments.assessment.reincluded": ActionText(
        gettext_lazy("%(actor)s brought %(object)s back into the campaign"),
        gettext_lazy("Brought back"),
    ),
    "assessments.assessment.review_reopened": ActionText(
        gettext_lazy("%(actor)s reopened the scoring of %(object)s"),
        gettext_lazy("Scoring reopened"),
    ),
    "assessments.assessment.reopened": ActionText(
        gettext_lazy("%(actor)s reopened the self-assessment of %(object)s"),
        gettext_lazy("Reopened"),
    ),
    "assessments.assignment.created": ActionText(
        gettext_lazy("%(actor)s assigned an assessor to %(object)s"),
        gettext_lazy("Assessor assigned"),
    ),
    "assessments.assignment.submitted": ActionText(
        gettext_lazy("%(actor)s handed in their scores for %(object)s"),
        gettext_lazy("Scores handed in"),
    ),
    "assessments.assignment.removed": ActionText(
        gettext_lazy("%(actor)s removed an assessor from %(object)s"),
        gettext_lazy("Assessor removed"),
    ),
    "assessments.assignment.replaced": ActionText(
        gettext_lazy("%(actor)s replaced an assessor of %(object)s"),
        gettext_lazy("Assessor replaced"),
    ),
    "assessments.rating.settled": ActionText(
        gettext_lazy("%(actor)s settled a disputed rating of %(object)s"), gettext_lazy("Settled")
    ),
    "assessments.answer.saved": ActionText(
        gettext_lazy("%(actor)s changed an answer in the self-assessment of %(object)s"),
        gettext_lazy("Changed"),
    ),
    "assessments.rating.saved": ActionText(
        gettext_lazy("%(actor)s changed a rating of %(object)s"), gettext_lazy("Changed")
    ),
    "assessments.comment.added": ActionText(
        gettext_lazy("%(actor)s commented on %(object)s for the vendor"),
        gettext_lazy("Commented"),
    ),
    "assessments.evidence.downloaded": ActionText(
        gettext_lazy("%(actor)s downloaded the evidence file %(object)s"),
        gettext_lazy("Downloaded"),
    ),
    "assessments.evidence.previewed": ActionText(
        gettext_lazy("%(actor)s opened the evidence file %(object)s in the browser"),
        gettext_lazy("Opened in the browser"),
    ),
    "assessments.evidence.uploaded": ActionText(
        gettext_lazy("%(actor)s uploaded the evidence file %(object)s"), gettext_lazy("Uploaded")
    ),
    "assessments.evidence.deleted": ActionText(
        gettext_lazy("%(actor)s deleted the evidence file %(object)s"), gettext_lazy("Deleted")
    ),
    # Malware scan of evidence (issue 15, hardening: the scan hook)
    "assessments.evidence.scanned": ActionText(
        gettext_lazy("The evidence file %(object)s was scanned for malware"),
        gettext_lazy("Scanned for malware"),
    ),
    "assessments.evidence.infected": ActionText(
        gettext_lazy(
            "Malicious code was found in the evidence file %(object)s; its content was deleted"
        ),
        gettext_lazy("Malicious code found"),
    ),
    "assessments.evidence.rescan_requested": ActionText(
        gettext_lazy("%(actor)s asked for a new virus scan of the evidence file %(object)s"),
        gettext_lazy("Scan requested again"),
    ),
    "assessments.score_sheet.imported": ActionText(
        gettext_lazy("%(actor)s imported a score sheet for %(object)s"), gettext_lazy("Imported")
    ),
    # catalogs
    "indicators.framework.imported": ActionText(
        gettext_lazy("%(actor)s imported the catalog %(object)s"), gettext_lazy("Imported")
    ),
    "indicators.framework.replaced": ActionText(
        gettext_lazy("%(actor)s replaced the draft catalog %(object)s with a new file"),
        gettext_lazy("Replaced by a new file"),
    ),
    "indicators.framework.drafted": ActionText(
        gettext_lazy("%(actor)s started the new draft catalog %(object)s"),
        gettext_lazy("New draft"),
    ),
    "indicators.framework.edited": ActionText(
        gettext_lazy("%(actor)s edited the draft catalog %(object)s"), gettext_lazy("Edited")
    ),
    "indicators.framework.published": ActionText(
        gettext_lazy("%(actor)s published the catalog %(object)s"), gettext_lazy("Published")
    ),
    "indicators.framework.retired": ActionText(
        gettext_lazy("%(actor)s retired the catalog %(object)s"), gettext_lazy("Retired")
    ),
    # scoring
    "reports.scoring_run.started": ActionText(
        gettext_lazy("%(actor)s started scoring the campaign %(object)s"), gettext_lazy("Started")
    ),
    "reports.scoring_run.resumed": ActionText(
        gettext_lazy("%(actor)s resumed scoring the campaign %(object)s"), gettext_lazy("Resumed")
    ),
    "reports.score.computed": ActionText(
        gettext_lazy("%(actor)s computed the score of %(object)s"), gettext_lazy("Score computed")
    ),
    "reports.score.reinstated": ActionText(
        gettext_lazy("%(actor)s reinstated an earlier score of %(object)s"),
        gettext_lazy("Reinstated"),
    ),
    "reports.veto.recorded": ActionText(
        gettext_lazy("%(actor)s recorded a veto against %(object)s"), gettext_lazy("Recorded")
    ),
    "reports.veto.withdrawn": ActionText(
        gettext_lazy("%(actor)s withdrew a veto against %(object)s"), gettext_lazy("Withdrawn")
    ),
    # certified reports
    "reports.report.issued": ActionText(
        gettext_lazy("%(actor)s issued the report %(object)s"), gettext_lazy("Report issued")
    ),
    "reports.report.superseded": ActionText(
        gettext_lazy("%(actor)s replaced the report %(object)s with a new issue"),
        gettext_lazy("Superseded"),
    ),
    "reports.report.revoked": ActionText(
        gettext_lazy("%(actor)s revoked the report %(object)s"), gettext_lazy("Revoked")
    ),
    "reports.report.rendered": ActionText(
        gettext_lazy("The PDF of the report %(object)s was generated"),
        gettext_lazy("PDF generated"),
    ),
    "reports.report.render_failed": ActionText(
        gettext_lazy("The PDF of the report %(object)s could not be generated"),
        gettext_lazy("PDF failed"),
    ),
    "reports.report.render_retried": ActionText(
        gettext_lazy("%(actor)s generated the PDF of the report %(object)s again"),
        gettext_lazy("PDF generated again"),
    ),
    # rankings and objections
    "reports.ranking.created": ActionText(
        gettext_lazy("%(actor)s started the draft list %(object)s"), gettext_lazy("Draft started")
    ),
    "reports.ranking.settings_changed": ActionText(
        gettext_lazy("%(actor)s changed the settings of %(object)s"),
        gettext_lazy("Settings changed"),
    ),
    "reports.ranking.adjusted": ActionText(
        gettext_lazy("%(actor)s adjusted a place in %(object)s"), gettext_lazy("Adjusted")
    ),
    "reports.ranking.adjustment_withdrawn": ActionText(
        gettext_lazy("%(actor)s withdrew an adjustment of %(object)s"),
        gettext_lazy("Adjustment withdrawn"),
    ),
    "reports.ranking.published": ActionText(
        gettext_lazy("%(actor)s published %(object)s"), gettext_lazy("Published")
    ),
    "reports.ranking.exports_queued": ActionText(
        gettext_lazy("%(actor)s queued the download files of %(object)s"),
        gettext_lazy("Download files queued"),
    ),
    "reports.ranking.export_rendered": ActionText(
        gettext_lazy("A download file of %(object)s was generated"),
        gettext_lazy("Download file generated"),
    ),
    "reports.ranking.export_failed": ActionText(
        gettext_lazy("A download file of %(object)s could not be generated"),
        gettext_lazy("Download file failed"),
    ),
    "reports.objection.lodged": ActionText(
        gettext_lazy("%(actor)s lodged the objection %(object)s"), gettext_lazy("Lodged")
    ),
    "reports.objection.answered": ActionText(
        gettext_lazy("%(actor)s answered the objection %(object)s"),
        gettext_lazy("Objection answered"),
    ),
    "reports.sweep.requeued": ActionText(
        gettext_lazy("%(actor)s queued stuck reports and scoring runs again"),
        gettext_lazy("Stuck work queued again"),
    ),
}

# The Django admin site records ``<app>.<model>.admin_<verb>`` for every model it edits.
ADMIN_VERBS: dict[str, ActionText] = {
    "added": ActionText(
        gettext_lazy("%(actor)s added %(kind)s %(object)s in the admin site"), gettext_lazy("Added")
    ),
    "changed": ActionText(
        gettext_lazy("%(actor)s changed %(kind)s %(object)s in the admin site"),
        gettext_lazy("Changed"),
    ),
    "deleted": ActionText(
        gettext_lazy("%(actor)s deleted %(kind)s %(object)s in the admin site"),
        gettext_lazy("Deleted"),
    ),
}
ADMIN_KIND = "admin"  # the filter's value for every admin-site action

# Keys of ``changes`` that are bookkeeping, not a change a person reads.
HIDDEN_KEYS = frozenset({"via", "message"})

# Labels of keys that are not a field of the object (or are better said otherwise).
FIELD_LABELS: dict[str, Promise] = {
    "from": gettext_lazy("State"),
    "state": gettext_lazy("State"),
    "status": gettext_lazy("Status"),
    "reason": gettext_lazy("Reason"),
    "comment": gettext_lazy("Comment"),
    "comments": gettext_lazy("Comments sent"),
    "indicator": gettext_lazy("Indicator"),
    "rating": gettext_lazy("Rating"),
    "met": gettext_lazy("Met"),
    "idle_minutes": gettext_lazy("Minutes without activity"),
    "self_rating": gettext_lazy("Self-rating"),
    "self_met": gettext_lazy("Met (self-assessed)"),
    "value": gettext_lazy("Value"),
    "explanation": gettext_lazy("Explanation"),
    "rationale": gettext_lazy("Rationale"),
    "assessor": gettext_lazy("Assessor"),
    "organisation": gettext_lazy("Organisation"),
    "name": gettext_lazy("Name"),
    "size": gettext_lazy("Size"),
    "sha256": gettext_lazy("SHA-256"),
    "content_sha256": gettext_lazy("SHA-256"),
    "snapshot_sha256": gettext_lazy("SHA-256"),
    "evidence_sha256": gettext_lazy("SHA-256"),
    "inputs_sha256": gettext_lazy("SHA-256"),
    "file": gettext_lazy("File"),
    "campaign": gettext_lazy("Campaign"),
    "cloud": gettext_lazy("Government cloud"),
    "assessment": gettext_lazy("Assessment"),
    "assignment": gettext_lazy("Assessor assignment"),
    "framework": gettext_lazy("Catalog"),
    "based_on": gettext_lazy("Based on"),
    "year": gettext_lazy("Year"),
    "role": gettext_lazy("Role"),
    "kind": gettext_lazy("Kind"),
    "division_code": gettext_lazy("Administrative-division code"),
    "owner": gettext_lazy("Owner"),
    "vendors": gettext_lazy("Vendors"),
    "level": gettext_lazy("Level"),
    "total": gettext_lazy("Total"),
    "passed": gettext_lazy("Passed"),
    "version": gettext_lazy("Version"),
    "from_version": gettext_lazy("Previous version"),
    "supersedes": gettext_lazy("Supersedes"),
    "by": gettext_lazy("Replaced by"),
    "number": gettext_lazy("Report number"),
    "language": gettext_lazy("Language"),
    "format": gettext_lazy("Format"),
    "error": gettext_lazy("Error"),
    "stuck": gettext_lazy("Stuck"),
    "veto": gettext_lazy("Veto"),
    "note": gettext_lazy("Note"),
    "move": gettext_lazy("Move"),
    "answer": gettext_lazy("Reply"),
    "replaces": gettext_lazy("Earlier version"),
    "ranking": gettext_lazy("Ranking"),
    "run": gettext_lazy("Scoring run"),
    "runs": gettext_lazy("Scoring runs"),
    "assessments": gettext_lazy("Assessments"),
    "reports": gettext_lazy("Reports"),
    "report_numbers": gettext_lazy("Report numbers"),
    "scoring_runs": gettext_lazy("Scoring runs"),
    "saved": gettext_lazy("Ratings saved"),
    "changed": gettext_lazy("Ratings changed"),
    "quotas": gettext_lazy("Quotas"),
    "min_level": gettext_lazy("Minimum level"),
    "tie_break": gettext_lazy("Tie break"),
    "public_form": gettext_lazy("Public form"),
    "notice_starts_on": gettext_lazy("Public notice starts"),
    "notice_ends_on": gettext_lazy("Public notice ends"),
    "name_zh": gettext_lazy("Chinese name"),
    "name_en": gettext_lazy("English name"),
    "replacement": gettext_lazy("New assessor"),
    "due_on": gettext_lazy("New deadline"),
    "previous_due_on": gettext_lazy("Previous deadline"),
    "excluded_reason": gettext_lazy("Reason for the exclusion"),
    "running_campaigns": gettext_lazy("Campaigns under way"),
    "created": gettext_lazy("Added"),
    # Malware scan of evidence
    "scanner": gettext_lazy("Scanner"),
    "attempt": gettext_lazy("Attempt"),
    "stored_name": gettext_lazy("Stored as"),
}

# Actions whose two-item lists are [before, after] pairs (the admin site's changes are too).
PAIR_ACTIONS = frozenset(
    {
        "reports.ranking.settings_changed",
        "reports.report.superseded",
        "assessments.cloud.updated",
        "assessments.cloud.edited",
        "assessments.campaign.updated",
    }
)

# Keys that mean something else in one action than in the rest.
ACTION_FIELD_LABELS: dict[str, dict[str, Promise]] = {
    "assessments.cloud.imported": {
        "created": gettext_lazy("Clouds added"),
        "changed": gettext_lazy("Clouds changed"),
    },
    "assessments.assignment.replaced": {"assessor": gettext_lazy("Assessor replaced")},
    "assessments.assignment.removed": {"assessor": gettext_lazy("Assessor removed")},
    # Two-factor sign-in (accounts.twofactor).
    "accounts.user.otp_enrolled": {
        "replaced": gettext_lazy("Replaced an earlier authenticator app"),
        "demo": gettext_lazy("Demo account (published secret)"),
        "recovery_codes": gettext_lazy("Recovery codes issued"),
    },
    "accounts.user.otp_failed": {
        "failures": gettext_lazy("Wrong codes in a row"),
        "signed_out": gettext_lazy("Signed out"),
    },
    "accounts.user.recovery_code_used": {"codes_left": gettext_lazy("Recovery codes left")},
    "accounts.user.recovery_codes_regenerated": {
        "recovery_codes": gettext_lazy("Recovery codes issued")
    },
    "accounts.user.otp_reset": {"devices": gettext_lazy("Devices deleted")},
}
PAIR_KEYS = frozenset({"state", "status"})

# Longer values are cut on the page; the full value stays one click away.
SHORT = 80
HASH = re.compile(r"^[0-9a-f]{40,128}$")


def _kind_of(code: str) -> str:
    return code.rsplit(".", 1)[0]


def is_admin_code(code: str) -> bool:
    return code.rsplit(".", 1)[-1].startswith("admin_") and code.count(".") >= 2


def _model(label: str) -> type[models.Model] | None:
    if label.count(".") != 1:
        return None
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def kind_label(kind: str) -> str:
    """``assessments.assessment`` → "Assessment"; a model's verbose name, or the code itself."""
    if kind in KINDS:
        return str(KINDS[kind])
    model = _model(kind)
    if model is not None:
        return str(model._meta.verbose_name)
    return kind.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def _readable(code: str) -> str:
    verb = code.rsplit(".", 1)[-1]
    return verb.replace("admin_", "").replace("_", " ")


def action_verb(code: str) -> str:
    """The action within its kind, short: "Returned"."""
    text = ACTIONS.get(code)
    if text is not None:
        return str(text.verb)
    if is_admin_code(code):
        admin = ADMIN_VERBS.get(code.rsplit(".admin_", 1)[-1])
        if admin is not None:
            return str(admin.verb)
    return _readable(code).capitalize()


def action_label(code: str) -> str:
    """The action alone, without who or what: "Assessment: Returned"."""
    if is_admin_code(code):
        return _("%(kind)s: %(verb)s in the admin site") % {
            "kind": kind_label(_kind_of(code)),
            "verb": action_verb(code),
        }
    return _("%(kind)s: %(verb)s") % {"kind": kind_label(_kind_of(code)), "verb": action_verb(code)}


def actor_text(event: AuditEvent) -> str:
    return event.actor_label or _("The system")


def object_text(event: AuditEvent) -> str:
    return event.target_label or "—"


def sentence(event: AuditEvent) -> str:
    """The event in words: "admin returned the self-assessment of 宿迁政务云"."""
    values = {"actor": actor_text(event), "object": object_text(event)}
    text = ACTIONS.get(event.action)
    if text is not None:
        return str(text.sentence) % values
    if is_admin_code(event.action):
        admin = ADMIN_VERBS.get(event.action.rsplit(".admin_", 1)[-1])
        if admin is not None:
            kind = kind_label(_kind_of(event.action))
            return str(admin.sentence) % {**values, "kind": kind[:1].lower() + kind[1:]}
    # An unknown code still reads: "admin — Evidence file: uploaded again — 宿迁政务云".
    return _("%(actor)s — %(kind)s: %(verb)s — %(object)s") % {
        **values,
        "kind": kind_label(_kind_of(event.action)),
        "verb": _readable(event.action),
    }


def known_codes() -> list[str]:
    return list(ACTIONS)


def action_groups() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The filter's choices: (kind value, kind label, [(code, verb)]) by kind, in the order of
    the registry, then one group for the admin site."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code in ACTIONS:
        groups.setdefault(_kind_of(code), []).append((code, action_verb(code)))
    result = [(kind + ".", kind_label(kind), codes) for kind, codes in groups.items()]
    result.append((ADMIN_KIND, _("Admin site"), []))
    return result


# ----------------------------------------------------------------------------------------------
# Changes, as before → after


@dataclass(frozen=True)
class Value:
    text: str  # as shown, cut if long
    full: str  # the whole value

    @property
    def truncated(self) -> bool:
        return self.text != self.full


@dataclass(frozen=True)
class ChangeRow:
    label: str
    before: Value | None  # None: the event records a value, not a change
    after: Value

    def as_text(self) -> str:
        if self.before is None:
            return f"{self.label}: {self.after.full}"
        return f"{self.label}: {self.before.full} → {self.after.full}"


def _state_field(model: type[models.Model] | None, key: str) -> models.Field[Any, Any] | None:
    if model is None:
        return None
    names = [key] if key in ("state", "status") else ["state", "status"]
    for name in names:
        try:
            field = model._meta.get_field(name)
        except Exception:  # noqa: BLE001 - FieldDoesNotExist: try the next name
            continue
        if isinstance(field, models.Field) and field.choices:
            return field
    return None


def _plain(value: Any, *, key: str = "", model: type[models.Model] | None = None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key in ("from", "to", "state", "status") and isinstance(value, str):
        field = _state_field(model, key)
        if field is not None:
            return str(dict(field.flatchoices).get(value, value))
        return value
    if key == "language" and isinstance(value, str):
        return str(dict(settings.LANGUAGES).get(value, value))
    if key == "size" and isinstance(value, int):
        return str(filesizeformat(value))
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items()) if value else "—"
    return str(value)


def _value(value: Any, *, key: str = "", model: type[models.Model] | None = None) -> Value:
    full = _plain(value, key=key, model=model)
    if HASH.match(full):
        return Value(full[:12] + "…", full)
    if len(full) > SHORT:
        return Value(full[: SHORT - 1] + "…", full)
    return Value(full, full)


def _label(key: str, model: type[models.Model] | None, action: str = "") -> str:
    special = ACTION_FIELD_LABELS.get(action, {})
    if key in special:
        return str(special[key])
    if key in FIELD_LABELS:
        return str(FIELD_LABELS[key])
    if model is not None:
        try:
            field = model._meta.get_field(key)
        except Exception:  # noqa: BLE001 - FieldDoesNotExist: not a field of the object
            field = None
        if field is not None and hasattr(field, "verbose_name"):
            return str(field.verbose_name).capitalize()
    return key.replace("_", " ").capitalize()


def change_rows(event: AuditEvent) -> list[ChangeRow]:
    """``event.changes`` for people: one row per change, labelled, with readable values.

    Understands the shapes the portal records: ``{"from": a, "to": b}`` (a state change),
    ``{"before": {...}, "after": {...}}``, ``{"field": [before, after]}`` (admin-site edits and
    the actions in ``PAIR_ACTIONS``), and plain ``{"field": value}``."""
    changes = event.changes if isinstance(event.changes, dict) else {"value": event.changes}
    model = _model(event.target_type)
    pairs = event.action in PAIR_ACTIONS or event.action.endswith(".admin_changed")
    rows: list[ChangeRow] = []
    if "from" in changes or "to" in changes:
        rows.append(
            ChangeRow(
                str(FIELD_LABELS["from"]),
                _value(changes.get("from"), key="from", model=model),
                _value(changes.get("to"), key="to", model=model),
            )
        )
    before, after = changes.get("before"), changes.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        for key in dict.fromkeys([*before, *after]):
            rows.append(
                ChangeRow(
                    _label(key, model),
                    _value(before.get(key), key=key, model=model),
                    _value(after.get(key), key=key, model=model),
                )
            )
    for key, value in changes.items():
        if key in HIDDEN_KEYS or key in ("from", "to"):
            continue
        if key in ("before", "after") and isinstance(before, dict) and isinstance(after, dict):
            continue
        label = _label(key, model, event.action)
        if isinstance(value, list) and len(value) == 2 and (pairs or key in PAIR_KEYS):
            rows.append(
                ChangeRow(
                    label,
                    _value(value[0], key=key, model=model),
                    _value(value[1], key=key, model=model),
                )
            )
        else:
            rows.append(ChangeRow(label, None, _value(value, key=key, model=model)))
    return rows


def changes_text(event: AuditEvent) -> str:
    """The change on one line per field, for exports."""
    return "\n".join(row.as_text() for row in change_rows(event))


def utc_text(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Described:
    """An event as pages show it."""

    event: AuditEvent
    sentence: str
    action_label: str
    changes: list[ChangeRow]


def described(events: list[AuditEvent]) -> list[Described]:
    return [
        Described(
            event=e,
            sentence=sentence(e),
            action_label=action_label(e.action),
            changes=change_rows(e),
        )
        for e in events
    ]
