from __future__ import annotations

import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .divisions import AdminLevel, division_lookup


class Organisation(models.Model):
    """An evaluation office, a cloud vendor, or a government body that owns clouds."""

    class Kind(models.TextChoices):
        OFFICE = "office", _("Evaluation office")
        VENDOR = "vendor", _("Cloud vendor")
        GOVERNMENT = "government", _("Government organisation")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200, unique=True)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    # GB/T 2260 code of the area a government organisation serves (济南 370100).
    division_code = models.CharField(_("administrative-division code"), max_length=6, blank=True)
    admin_level = models.CharField(
        _("administrative level"), max_length=12, choices=AdminLevel.choices, blank=True
    )
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if not self.division_code:
            if self.kind == self.Kind.GOVERNMENT:
                raise ValidationError(
                    {
                        "division_code": _(
                            "A government organisation needs its six-digit "
                            "administrative-division code (GB/T 2260)."
                        )
                    }
                )
            return
        division = division_lookup(self.division_code)
        if division is None:
            raise ValidationError(
                {
                    "division_code": _(
                        "%(code)s is not a published GB/T 2260 administrative-division code."
                    )
                    % {"code": self.division_code}
                }
            )
        if self.admin_level and self.admin_level != division.level:
            raise ValidationError(
                {
                    "admin_level": _("Code %(code)s (%(name)s) is %(level)s, not %(given)s.")
                    % {
                        "code": division.code,
                        "name": division.name_zh,
                        "level": AdminLevel(division.level).label,
                        "given": AdminLevel(self.admin_level).label,
                    }
                }
            )
        self.admin_level = division.level


class User(AbstractUser):
    """A person using the portal. Every user has exactly one role."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        ASSESSOR = "assessor", _("Assessor")
        VENDOR = "vendor", _("Vendor")
        OWNER = "owner", _("Cloud owner")
        AUDITOR = "auditor", _("Auditor")
        # Manages accounts and unlocks them; neither runs the evaluation nor reads the trail.
        SECURITY = "security", _("Security administrator")

    # Which kind of organisation each role must (or may) belong to.
    ROLE_ORGANISATION_KIND: dict[str, str | None] = {
        Role.ADMIN: Organisation.Kind.OFFICE,
        Role.ASSESSOR: None,
        Role.VENDOR: Organisation.Kind.VENDOR,
        Role.OWNER: Organisation.Kind.GOVERNMENT,
        Role.AUDITOR: None,
        Role.SECURITY: Organisation.Kind.OFFICE,
    }

    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    is_demo = models.BooleanField(_("demo data"), default=False)
    # The language of the e-mails the portal sends this user: the last one they chose.
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="zh-hans"
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    def clean(self) -> None:
        super().clean()
        if self.role not in self.Role.values:
            raise ValidationError({"role": _("Choose one of the roles.")})
        required_kind = self.ROLE_ORGANISATION_KIND[self.role]
        if self.role in (self.Role.VENDOR, self.Role.OWNER) and self.organisation is None:
            raise ValidationError(
                {
                    "organisation": _("A %(role)s must belong to an organisation.")
                    % {"role": self.get_role_display()}
                }
            )
        if (
            required_kind is not None
            and self.organisation is not None
            and self.organisation.kind != required_kind
        ):
            raise ValidationError(
                {
                    "organisation": _("A %(role)s must belong to a %(kind)s.")
                    % {
                        "role": self.get_role_display(),
                        "kind": Organisation.Kind(required_kind).label,
                    }
                }
            )


class FailedSignIn(AccessAttempt):
    """django-axes' record of failed sign-ins for one account and address, as the security
    administrator's admin pages show it (axes has no Chinese of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("failed sign-in record")
        verbose_name_plural = _("failed sign-in records")


class ApiToken(models.Model):
    """A personal API token: its owner named it, saw it once when it was created, and may revoke
    it. Only the SHA-256 of the secret is stored (the secret is 32 random bytes, so a fast hash
    is enough: nobody can try secrets against it); ``prefix`` (its first characters) lets the
    owner tell tokens apart in the list."""

    PREFIX = "gce_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
