from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
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
