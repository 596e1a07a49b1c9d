"""Portal admins were Django superusers; the Django admin site now asks the access policy, and
nobody is a superuser. Staff status follows the role."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def forwards(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    User = apps.get_model("accounts", "User")
    User.objects.filter(role="admin").update(is_superuser=False, is_staff=True)
    User.objects.exclude(role="admin").update(is_superuser=False, is_staff=False)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_add_organisation_division_code")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
