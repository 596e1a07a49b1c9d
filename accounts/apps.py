from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Users and organisations")

    def ready(self) -> None:
        # Failed sign-ins and lockouts go to the audit trail.
        from . import signals  # noqa: F401
