"""Create the first admin account, once, and show its password that one time."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _(
        "Create a superuser with a random password if there is none yet, and print the "
        "password once. Does nothing when a superuser already exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help=_("Default: admin."))
        parser.add_argument(
            "--password", help=_("Use this password instead of a generated one (automation).")
        )

    def handle(self, *args: Any, username: str, password: str | None, **options: Any) -> None:
        user_model = get_user_model()
        manager = user_model._default_manager
        with transaction.atomic():
            if manager.filter(is_superuser=True).exists():
                self.stdout.write(_("An admin account already exists; no new one was created."))
                return
            if manager.filter(**{user_model.USERNAME_FIELD: username}).exists():
                raise CommandError(
                    _(
                        "A user named “%(username)s” exists but is not an admin; "
                        "choose another name with --username."
                    )
                    % {"username": username}
                )
            password = password or secrets.token_urlsafe(12)
            manager.create_superuser(**{user_model.USERNAME_FIELD: username}, password=password)
        self.stdout.write(
            _("Admin account: %(username)s / %(password)s")
            % {"username": username, "password": password}
        )
