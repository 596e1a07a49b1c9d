from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .problems import problem_text


class AuditEvent(models.Model):
    """One thing that happened, written in the same transaction as the change it records.

    Rows are only ever added. Once committed, each is sealed into a SHA-256 hash chain
    (``audit.chain``): ``seq`` is its place in the chain, ``hash`` covers its content and the
    previous record's hash. On PostgreSQL a trigger refuses every DELETE, and every UPDATE but
    the one that seals a record (migration 0003).
    """

    action = models.CharField(_("action"), max_length=100, db_index=True)
    # No database constraint and nothing done on delete: removing an account must not rewrite
    # the sealed records it made (the id stays, and the label below names the person).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept as text too, so the trail still names the person if the account is ever removed.
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    target_type = models.CharField(_("object type"), max_length=100, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    target_label = models.CharField(_("object"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    # The address of the request the event happened in ("" for a worker or a command).
    client_address = models.CharField(_("client address"), max_length=64, blank=True)
    # The hash chain, filled in when the record is sealed, soon after its transaction commits.
    seq = models.BigIntegerField(_("chain position"), null=True, blank=True, unique=True)
    prev_hash = models.CharField(_("previous record's hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            # The trail's "who" filter.
            models.Index(fields=["actor_label", "-at"], name="audit_actor_at_idx"),
            # What the sealer looks for after every commit: small, whatever the trail's size.
            models.Index(
                fields=["id"], name="audit_unsealed_idx", condition=models.Q(seq__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.actor_label}"


class AuditSeal(models.Model):
    """A checkpoint of the chain: the position and hash of its last record when a sealing run
    ended. Only ever added (a trigger on PostgreSQL, as for the events). It shows when records
    were cut off the chain's end, which the chain alone cannot."""

    seq = models.BigIntegerField(_("chain position"))
    hash = models.CharField(_("hash"), max_length=64)
    sealed = models.PositiveIntegerField(_("records sealed"))
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["seq", "id"]
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class AuditVerification(models.Model):
    """The result of one check of the whole chain (``manage.py verify_audit_log``, the hourly
    task or the auditor's button). Only the latest is shown; they are kept as a history."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    intact = models.BooleanField(_("intact"))
    checked = models.PositiveIntegerField(_("records checked"))
    unsealed = models.PositiveIntegerField(_("records awaiting their seal"), default=0)
    broken_seq = models.BigIntegerField(_("first broken position"), null=True, blank=True)
    broken_event_id = models.BigIntegerField(_("first broken record"), null=True, blank=True)
    # What broke, as ``audit.chain.PROBLEMS`` key and its parameters (said in the reader's
    # language by ``problem``).
    problem_kind = models.CharField(_("problem"), max_length=32, blank=True)
    problem_params = models.JSONField(_("problem details"), default=dict, blank=True)
    requested_by = models.CharField(_("requested by"), max_length=150, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit chain check")
        verbose_name_plural = _("audit chain checks")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {'intact' if self.intact else 'broken'}"

    @property
    def problem(self) -> str:
        return problem_text(self.problem_kind, self.problem_params)
