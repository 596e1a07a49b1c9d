from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assessments"
    verbose_name = _("Assessments")

    def ready(self) -> None:
        from accounts.context_processors import register_navigation
        from accounts.models import User

        register_navigation(
            _("Assessments"),
            "assessments:list",
            {User.Role.ADMIN, User.Role.ASSESSOR, User.Role.VENDOR, User.Role.OWNER},
        )
        register_navigation(_("Campaigns"), "assessments:campaign_list", {User.Role.ADMIN})
