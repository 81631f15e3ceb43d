"""The installation's first-start choices; an installation already in use counts as set up."""

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def mark_existing_installation_set_up(apps, schema_editor):
    """A database that already has users was set up before the wizard existed: it must never
    see the wizard. Its language stays blank (each browser's, as before)."""
    User = apps.get_model(settings.AUTH_USER_MODEL)
    Installation = apps.get_model("core", "Installation")
    if User.objects.exists() and not Installation.objects.filter(pk=1).exists():
        Installation.objects.create(
            pk=1, currency=settings.CARDFILE_CURRENCY, set_up_at=timezone.now()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_deliveries_and_notifications"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Installation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "company_name",
                    models.CharField(
                        blank=True, default="", max_length=200, verbose_name="company name"
                    ),
                ),
                (
                    "currency",
                    models.CharField(blank=True, default="", max_length=3, verbose_name="currency"),
                ),
                (
                    "language",
                    models.CharField(
                        blank=True, default="", max_length=16, verbose_name="language"
                    ),
                ),
                (
                    "preset",
                    models.CharField(blank=True, default="", max_length=63, verbose_name="preset"),
                ),
                ("set_up_at", models.DateTimeField(blank=True, null=True, verbose_name="set up")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="changed")),
            ],
            options={
                "verbose_name": "installation",
                "verbose_name_plural": "installation",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="core_installation_singleton"
                    )
                ],
            },
        ),
        migrations.RunPython(mark_existing_installation_set_up, migrations.RunPython.noop),
    ]
