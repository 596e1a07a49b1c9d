"""One notification per recipient and event, rendered in the recipient's language when created."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """Something that happened which ``recipient`` should know: shown in the portal and, when
    the recipient has an e-mail address, sent by e-mail once."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("Assessment assigned")
        RETURNED = "returned", _("Self-assessment returned")
        SUBMITTED = "submitted", _("Self-assessment submitted")
        SELF_ASSESSMENT_DUE = "self_due", _("Self-assessment due soon")
        SELF_ASSESSMENT_OVERDUE = "self_overdue", _("Self-assessment overdue")
        SCORING_DUE = "scoring_due", _("Scoring due soon")
        SCORING_OVERDUE = "scoring_overdue", _("Scoring overdue")
        SCORED = "scored", _("Scoring finished")
        APPROVED = "approved", _("Result approved")
        REPORT_ISSUED = "report_issued", _("Report issued")
        OBJECTION_ANSWERED = "objection_answered", _("Objection answered")

    REMINDER_KINDS = (
        Kind.SELF_ASSESSMENT_DUE,
        Kind.SELF_ASSESSMENT_OVERDUE,
        Kind.SCORING_DUE,
        Kind.SCORING_OVERDUE,
    )

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    # What it is about: nullable references, so the list needs no generic lookups.
    assessment = models.ForeignKey(
        "assessments.Assessment",
        verbose_name=_("assessment"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    report = models.ForeignKey(
        "reports.Report",
        verbose_name=_("report"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    objection = models.ForeignKey(
        "reports.Objection",
        verbose_name=_("objection"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    # The deadline a reminder is about: one reminder of each kind per deadline.
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    # Rendered once, in the recipient's language, when the notification is created.
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    # The page it links to: a path inside the portal (e-mails prefix PUBLIC_BASE_URL).
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)
    email_error = models.TextField(_("e-mail error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
        ]
        constraints = [
            # Each reminder once per recipient, assessment and deadline: the daily task may run
            # twice (or concurrently) without sending anything twice.
            models.UniqueConstraint(
                fields=["kind", "recipient", "assessment", "deadline"],
                condition=Q(deadline__isnull=False),
                name="notification_reminder_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient_id}: {self.subject}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
