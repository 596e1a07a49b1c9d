"""Writes for objections (异议): a cloud owner lodges one, with its evidence, while a ranking is on
public notice (公示); an admin answers it. An upheld objection is put right by a corrected version
of the ranking (``reports.rankings.services.ranking_publish``).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import secrets

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from assessments.evidence.inspection import inspect_content
from assessments.evidence.sniffing import EXTENSION_KIND, KINDS, detect_kind
from assessments.evidence.uploads import clean_file_name
from assessments.models import Assessment
from audit.services import audit_record
from audit.transitions import transition

from . import selectors
from .models import Objection, Ranking

# Evidence of an objection: a PDF or an image, at most this many bytes.
OBJECTION_EVIDENCE_KINDS = ("pdf", "png", "jpeg")
OBJECTION_EVIDENCE_MAX_BYTES = 20 * 1024 * 1024


def _notice_running(ranking: Ranking, today: datetime.date) -> bool:
    return (
        ranking.state == Ranking.State.NOTICE
        and ranking.notice_starts_on is not None
        and ranking.notice_ends_on is not None
        and ranking.notice_starts_on <= today <= ranking.notice_ends_on
    )


def objection_refusal(*, ranking: Ranking, user: User) -> str | None:
    """Why ``user`` may not lodge an objection against ``ranking`` now; None when it may. The
    role is the policy's (``objection.lodge``); the public notice is the ranking's state."""
    refused = policy.refusal(user, Action.OBJECTION_LODGE)
    if refused is not None or user.organisation_id is None:
        return refused or str(policy.RULES[Action.OBJECTION_LODGE].refusal)
    latest = selectors.ranking_latest_published(campaign=ranking.campaign, kind=ranking.kind)
    if (
        latest is None
        or latest.pk != ranking.pk
        or not _notice_running(ranking, timezone.localdate())
    ):
        return _("Objections can be lodged only while the list is on public notice.")
    return None


def _check_evidence(upload: UploadedFile) -> tuple[str, str, int, str]:
    """(shown name, content type, size, SHA-256) of an objection's evidence; ValidationError
    unless it is a PDF or an image whose content matches its extension."""
    name = clean_file_name(upload.name or "")
    extension = os.path.splitext(name)[1].lower()
    expected = EXTENSION_KIND.get(extension)
    if expected not in OBJECTION_EVIDENCE_KINDS:
        raise ValidationError(
            {"evidence": _("Evidence of an objection is a PDF document or a PNG or JPEG image.")}
        )
    if upload.size is not None and upload.size > OBJECTION_EVIDENCE_MAX_BYTES:
        raise ValidationError({"evidence": _("The evidence file is larger than 20 MB.")})
    upload.seek(0)
    detected = detect_kind(upload)
    upload.seek(0)
    if detected != expected:
        raise ValidationError(
            {
                "evidence": _("“%(name)s” is not %(kind)s.")
                % {"name": name, "kind": KINDS[expected].label}
            }
        )
    try:
        inspect_content(name, upload, detected)  # a PDF's scripts and actions
    except ValidationError as exc:
        raise ValidationError({"evidence": exc.messages}) from None
    hasher = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        size += len(chunk)
        hasher.update(chunk)
    upload.seek(0)
    return name, KINDS[expected].content_type, size, hasher.hexdigest()


@transaction.atomic
def objection_lodge(
    *,
    ranking: Ranking,
    assessment: Assessment,
    reason: str,
    evidence: UploadedFile | None = None,
    acting_user: User,
) -> Objection:
    """Records a cloud owner's objection (异议) against the list on public notice, with its
    evidence stored through the default storage. Raises PermissionDenied for anyone but the
    owner of the assessment's cloud, ValidationError outside the notice period, for an empty
    reason, or for evidence that is not a PDF or an image."""
    policy.require(acting_user, Action.OBJECTION_LODGE)
    refusal = objection_refusal(ranking=ranking, user=acting_user)
    if refusal is not None:
        raise ValidationError(refusal)
    if assessment.campaign_id != ranking.campaign_id or not policy.can(
        acting_user, Action.OBJECTION_LODGE, assessment
    ):
        raise policy.Denied(_("You can object only about your own cloud."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the objection.")})
    objection = Objection(
        ranking=ranking, assessment=assessment, reason=reason, lodged_by=acting_user
    )
    stored = None
    if evidence is not None:
        name, content_type, size, digest = _check_evidence(evidence)
        objection.evidence_name = name
        objection.evidence_content_type = content_type
        objection.evidence_size = size
        objection.evidence_sha256 = digest
        extension = os.path.splitext(name)[1].lower()
        objection.evidence.save(f"{secrets.token_hex(16)}{extension}", evidence, save=False)
        stored = objection.evidence.name
    try:
        objection.full_clean()
        objection.save()
        audit_record(
            action="reports.objection.lodged",
            acting_user=acting_user,
            target=objection,
            changes={
                "ranking": ranking.pk,
                "assessment": assessment.pk,
                "evidence_sha256": objection.evidence_sha256,
            },
        )
    except Exception:
        if stored:
            objection.evidence.storage.delete(stored)
        raise
    return objection


SETTLED_STATES = (Objection.State.ANSWERED, Objection.State.UPHELD, Objection.State.REJECTED)


@transaction.atomic
def objection_answer(
    *, objection: Objection, state: str, answer: str, acting_user: User
) -> Objection:
    """Settles an open objection: answered (explained), upheld or rejected, with the answer the
    owner reads. An upheld objection is put right by a corrected version of the ranking. Raises
    ValidationError for an empty answer, an unknown outcome, or an objection already settled
    (two admins answering at once settle it once)."""
    policy.require(acting_user, Action.OBJECTION_ANSWER)
    answer = (answer or "").strip()
    if state not in SETTLED_STATES:
        raise ValidationError({"state": _("Choose answered, upheld or rejected.")})
    if not answer:
        raise ValidationError({"answer": _("Write the answer the owner will read.")})
    transition(
        objection,
        from_states=[Objection.State.OPEN],
        to_state=state,
        extra={"answer": answer, "answered_by": acting_user, "answered_at": timezone.now()},
        refusal=lambda current: _("This objection was already answered."),
    )
    objection.refresh_from_db()
    audit_record(
        action="reports.objection.answered",
        acting_user=acting_user,
        target=objection,
        changes={"from": "open", "to": state, "answer": answer},
    )
    return objection
