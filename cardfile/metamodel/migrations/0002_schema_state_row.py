import uuid

from django.db import migrations


def create_state(apps, schema_editor):
    SchemaState = apps.get_model("metamodel", "SchemaState")
    SchemaState.objects.get_or_create(pk=1, defaults={"version": 1, "token": uuid.uuid4().hex})


class Migration(migrations.Migration):
    dependencies = [("metamodel", "0001_initial")]

    operations = [migrations.RunPython(create_state, migrations.RunPython.noop)]
