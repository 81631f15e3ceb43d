"""Every installation starts with an ``owner`` role: every right, the schema and the roles."""

from django.db import migrations


def create_owner_role(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Role = apps.get_model("metamodel", "Role")
    group, _created = Group.objects.get_or_create(name="owner")
    if not Role.objects.filter(group=group).exists():
        Role.objects.create(group=group, label="Owner", is_owner=True)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("metamodel", "0006_access_token"),
    ]

    # Going back keeps the role: people may hold it, and it is harmless without this migration.
    operations = [migrations.RunPython(create_owner_role, migrations.RunPython.noop)]
