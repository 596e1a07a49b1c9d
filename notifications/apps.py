from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Tells people what happened: a notification in the portal and an e-mail, for each event
    of the workflow that concerns them. It listens to the audit trail (``audit.signals``): the
    apps below never import it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from audit.signals import event_recorded

        from .services import on_event_recorded

        event_recorded.connect(on_event_recorded, dispatch_uid="notifications.event_recorded")
