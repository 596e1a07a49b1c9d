"""Writes of evidence files: upload (and so versions) and deletion, with who may make them.

``evidence_upload`` checks the name, size and type by content (``sniffing``) of a file already
received (``uploads``), then hands it to the FileField's storage, which moves it (local disk) or
streams it in parts (S3 via django-storages).

Once an assessment has been submitted its evidence is never deleted or replaced: uploading a file
of the same name adds a version that points to the one it supersedes.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from audit.services import audit_record
from indicators.models import Indicator

from ..models import Assessment, Evidence
from .inspection import inspect_content
from .sniffing import check_type, file_extension
from .uploads import clean_file_name, max_bytes, too_large_error

# ----------------------------------------------------------------------------------------------
# Who may upload


def evidence_upload_refusal(*, assessment: Assessment, user: User) -> str | None:
    """Why ``user`` may not upload evidence to ``assessment`` now (``evidence.upload``); None
    when it may. Views ask before reading a request body, so that a refused upload costs
    nothing."""
    return policy.refusal(user, Action.EVIDENCE_UPLOAD, assessment)


# ----------------------------------------------------------------------------------------------
# Upload


def _size_and_digest(upload: UploadedFile, name: str, limit: int) -> tuple[int, str]:
    """Size and SHA-256 of the upload, from the upload handler when it computed them while
    receiving, otherwise by reading the file once in chunks."""
    precomputed = getattr(upload, "evidence_sha256", None)
    if precomputed and upload.size is not None:
        return upload.size, precomputed
    hasher = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise too_large_error(name, limit)
        hasher.update(chunk)
    upload.seek(0)
    return size, hasher.hexdigest()


def _stored_name(extension: str) -> str:
    # Nothing of the user's name reaches the storage but the checked extension.
    return f"{secrets.token_hex(16)}{extension}"


def _client_name(upload: UploadedFile) -> str:
    return getattr(upload, "client_name", None) or upload.name or ""


def evidence_upload(
    *,
    assessment: Assessment,
    indicator: Indicator,
    upload: UploadedFile,
    issued_on: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    acting_user: User,
    name: str | None = None,
) -> Evidence:
    """Stores one evidence file for one indicator and returns its Evidence row.

    ``name`` is the file's name as the user gave it (by default the upload's; the upload handler
    keeps the untruncated one). Only the cloud's vendors may upload, while the self-assessment
    is editable and the campaign open. A file with the same name as an earlier one for the same
    indicator becomes its next version (``replaces`` points to the previous one), which keeps
    every submitted file.

    Raises PermissionDenied for anyone but the cloud's vendors and ValidationError, naming the
    file and the problem, for everything else. On any error nothing is stored: no row, no file
    in storage, and the upload's temporary file is removed.
    """
    stored: str | None = None
    storage = Evidence._meta.get_field("file").storage
    try:
        assessment = Assessment.objects.select_related("campaign", "cloud").get(pk=assessment.pk)
        policy.require(acting_user, Action.EVIDENCE_UPLOAD, assessment)
        if indicator.framework_id != assessment.campaign.framework_id:
            raise ValidationError(_("This indicator is not in the campaign's framework."))
        shown = clean_file_name(name if name is not None else _client_name(upload))
        limit = max_bytes()
        if upload.size == 0:
            raise ValidationError(_("“%(name)s” is empty.") % {"name": shown})
        if upload.size is not None and upload.size > limit:
            raise too_large_error(shown, limit)
        evidence = Evidence(
            assessment=assessment,
            indicator=indicator,
            original_name=shown,
            issued_on=issued_on,
            valid_until=valid_until,
            uploaded_by=acting_user,
            size=0,
            sha256="",
            content_type="",
        )
        evidence.full_clean(exclude=["file", "size", "sha256", "content_type", "replaces"])
        kind, content_type = check_type(shown, upload)
        inspect_content(shown, upload, kind)
        size, digest = _size_and_digest(upload, shown, limit)
        if size == 0:
            raise ValidationError(_("“%(name)s” is empty.") % {"name": shown})
        evidence.size = size
        evidence.sha256 = digest
        evidence.content_type = content_type
        # The slow part (moving or streaming the file into storage) happens outside the
        # transaction; the row is written under a lock on the assessment afterwards.
        upload.seek(0)
        evidence.file.save(_stored_name(file_extension(shown)), upload, save=False)
        stored = evidence.file.name
        return _evidence_record(evidence=evidence, acting_user=acting_user)
    except BaseException:
        if stored:
            storage.delete(stored)
        upload.close()
        raise


@transaction.atomic
def _evidence_record(*, evidence: Evidence, acting_user: User) -> Evidence:
    assessment = (
        Assessment.objects.select_for_update()
        .select_related("campaign", "cloud")
        .get(pk=evidence.assessment_id)
    )
    # The state may have changed while the file was being stored.
    policy.require(acting_user, Action.EVIDENCE_UPLOAD, assessment)
    previous = (
        Evidence.objects.filter(
            assessment=assessment,
            indicator_id=evidence.indicator_id,
            original_name=evidence.original_name,
        )
        .order_by("-version")
        .first()
    )
    evidence.assessment = assessment
    evidence.version = previous.version + 1 if previous else 1
    evidence.replaces = previous
    evidence.full_clean()
    evidence.save()
    audit_record(
        action="assessments.evidence.uploaded",
        acting_user=acting_user,
        target=evidence,
        changes={
            "indicator": evidence.indicator.code,
            "name": evidence.original_name,
            "size": evidence.size,
            "sha256": evidence.sha256,
            "content_type": evidence.content_type,
            "version": evidence.version,
            "replaces": previous.pk if previous else None,
            "issued_on": evidence.issued_on.isoformat() if evidence.issued_on else None,
            "valid_until": evidence.valid_until.isoformat() if evidence.valid_until else None,
        },
    )
    return evidence


# ----------------------------------------------------------------------------------------------
# Delete


@transaction.atomic
def evidence_delete(*, evidence: Evidence, acting_user: User) -> None:
    """Deletes an evidence file the cloud's vendor uploaded, before the assessment's first
    submission only; afterwards every file is kept (upload a new version instead).

    The stored file is removed once the transaction commits. Deleting a file already gone does
    nothing. Raises PermissionDenied for anyone but the cloud's vendors and ValidationError
    after the first submission or when the campaign is not open.
    """
    assessment = (
        Assessment.objects.select_for_update()
        .select_related("campaign", "cloud")
        .get(pk=evidence.assessment_id)
    )
    evidence.assessment = assessment
    policy.require(acting_user, Action.EVIDENCE_DELETE, evidence)
    current = Evidence.objects.select_for_update().filter(pk=evidence.pk).first()
    if current is None:
        return
    # A later version now follows the one before this (versions before submission only).
    Evidence.objects.filter(replaces=current).update(replaces=current.replaces_id)
    stored = current.file.name
    storage = current.file.storage
    audit_record(
        action="assessments.evidence.deleted",
        acting_user=acting_user,
        target=current,
        changes={
            "indicator": current.indicator.code,
            "name": current.original_name,
            "size": current.size,
            "sha256": current.sha256,
            "version": current.version,
        },
    )
    current.delete()
    # The field is required: a stored row always has a name (the stubs allow None).
    if stored:
        transaction.on_commit(lambda: storage.delete(stored))
