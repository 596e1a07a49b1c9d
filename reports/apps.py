from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Scores, certified reports and rankings: the top layer, which the apps below it never
    import. They announce what it must know through signals, connected here."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from assessments.signals import scoring_inputs_changed

        from .scoring.services import on_scoring_inputs_changed

        scoring_inputs_changed.connect(
            on_scoring_inputs_changed, dispatch_uid="reports.scoring.inputs_changed"
        )
